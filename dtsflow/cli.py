"""The command line: parse arguments, build the command's frozen arguments (`dtsflow.commands.args`), dispatch to
`dtsflow.commands.<name>.run(args) -> int`, and be the one error boundary (a `DtsflowError` is one clear message
on stderr and exit 1; never a traceback unless --debug). This is the only module that reads an argparse namespace.

Only argparse is imported here; each command imports what it needs, so `dtsflow --help` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from dtsflow import __version__
from dtsflow.errors import DtsflowError, ExitCode
from dtsflow.plan.render import FORMATS as PLAN_FORMATS

EVENT_FORMATS = ("text", "json")
"""`--format` of `apply` and `status`: for people, or one JSON object per event (apply) or per run (status)."""

VALIDATE_FORMATS = ("text", "json", "github")
"""`--format` of `validate`: for people, a JSON document, or GitHub workflow commands (annotations)."""

FAILURE_FORMAT_COMMANDS = ("validate", "plan", "apply", "destroy", "show", "status")
"""Every command with a machine `--format`: its error is printed in that format too (`_failure_in_format`)."""

TYPE_CHECKING = False  # keep `typing` out of `dtsflow --help`
if TYPE_CHECKING:
    from typing import Any


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors, which `plan --detailed-exitcode` uses for "changes": exit 1 instead."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(ExitCode.ERROR, f"{self.prog}: error: {message}\n")


def _manifest_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help="template variable")
    p.add_argument("--var-file", action="append", default=[], metavar="FILE", help="YAML file of variables")
    p.add_argument(
        "--env",
        metavar="NAME",
        help="read vars/NAME.yaml of the first PATH's directory as a --var-file (given before the others)",
    )
    p.add_argument(
        "--allow-env",
        action="append",
        default=[],
        metavar="NAME",
        help="let env('NAME') read this variable (repeatable; DTSFLOW_VAR_* are always readable)",
    )
    p.add_argument(
        "--secret-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="directory that secret('file:...') may read from (repeatable; env DTSFLOW_SECRET_DIRS; "
        "default ~/.dtsflow/secrets)",
    )


def _adopt_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--adopt",
        action="append",
        default=[],
        metavar="NAME",
        help="take over the live task NAME that dtsflow did not create (as `adopt: true` on the task)",
    )


def _execution_options(p: argparse.ArgumentParser) -> None:
    """How `apply` and `destroy` run: confirmation, parallelism, the overall deadline and the wait for the lock."""
    p.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    p.add_argument("--parallelism", type=int, default=10, metavar="N", help="tasks worked on at once (default 10)")
    p.add_argument("--timeout", default=None, metavar="DURATION", help="overall deadline, e.g. 30m")
    p.add_argument(
        "--lock-timeout",
        default=None,
        metavar="DURATION",
        help="wait up to DURATION (e.g. 5m) for another apply in this directory to release its lock",
    )


def _report_options(p: argparse.ArgumentParser) -> None:
    """What `apply` and `destroy` print and write: the event format and the HTML report."""
    p.add_argument("--format", choices=EVENT_FORMATS, default="text")
    p.add_argument("--report", metavar="FILE.html", help="write a self-contained HTML report: timeline and prechecks")


def _target_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME",
        help="plan only task NAME and the tasks it depends on (repeatable; nothing is pruned)",
    )


def _api_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--endpoint", metavar="URL", help="DTS endpoint (env DTSFLOW_ENDPOINT; default https://dts.baidubce.com)"
    )
    p.add_argument(
        "--emulator",
        action="store_true",
        help="use the embedded DTS emulator, state under .dtsflow/ in the current directory",
    )
    p.add_argument(
        "--realism",
        choices=("plain", "variants"),
        default="plain",
        help="with --emulator: plain answers, or every variant the API documentation leaves open (default plain)",
    )
    p.add_argument("--profile", default=None, help="profile of ~/.bce/config.json (default: current)")
    p.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow a plain http:// endpoint that is not a loopback address",
    )
    p.add_argument("--rate-limit", type=float, default=None, metavar="RPS", help="client-side requests per second")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dtsflow",
        description="Migration-as-code for Baidu AI Cloud DTS: plan and apply DTS tasks from YAML manifests.",
    )
    parser.add_argument("--version", action="version", version=f"dtsflow {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks (secrets stay hidden)")
    parser.add_argument("--no-color", action="store_true", help="no colours (as NO_COLOR=1; FORCE_COLOR=1 forces them)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("validate", help="render, parse and check manifests offline (no network)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--format",
        choices=VALIDATE_FORMATS,
        default="text",
        help="text; json (a document); github (::error annotations for GitHub Actions)",
    )
    _manifest_options(p)

    p = sub.add_parser("render", help="print a rendered manifest with line numbers")
    p.add_argument("paths", nargs="+", metavar="PATH")
    _manifest_options(p)

    sub.add_parser("schema", help="print the manifest JSON Schema")

    p = sub.add_parser("plan", help="diff manifests against live tasks and print the operations")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("-o", "--out", metavar="PLAN.json", help="save the plan for `dtsflow apply PLAN.json`")
    p.add_argument("--format", choices=PLAN_FORMATS, default="text")
    p.add_argument("--detailed-exitcode", action="store_true", help="exit 0 no changes, 2 changes, 1 error")
    p.add_argument(
        "--apply-key-id",
        metavar="ACCESS_KEY_ID",
        help="with -o: the access key id that will apply the plan, when another (read-only) key makes it",
    )
    p.add_argument(
        "--prune",
        action="store_true",
        help="also plan shutdown+delete of live tasks under a prune.prefix that no manifest names",
    )
    p.add_argument("--allow-replace", action="store_true", help="plan replacements of tasks")
    p.add_argument("--destroy", action="store_true", help="plan the shutdown and delete of every task of the manifests")
    p.add_argument("--force", action="store_true", help="plan cutovers (shutdown, switch) whatever the delay")
    p.add_argument("--reconfigure", action="append", default=[], metavar="NAME", help="re-send a task's config")
    _target_option(p)
    _adopt_option(p)
    _manifest_options(p)
    _api_options(p)

    p = sub.add_parser("apply", help="perform the plan and wait until every task is in its desired state")
    p.add_argument("paths", nargs="+", metavar="PATH|PLAN.json")
    _execution_options(p)
    p.add_argument(
        "--prune",
        action="store_true",
        help="also shutdown+delete live tasks under a prune.prefix that no manifest names",
    )
    p.add_argument("--allow-replace", action="store_true", help="allow replacing tasks")
    p.add_argument("--force", action="store_true", help="cut over (shutdown, switch) whatever the delay")
    p.add_argument("--reconfigure", action="append", default=[], metavar="NAME", help="re-send a task's config")
    _target_option(p)
    _report_options(p)
    p.add_argument(
        "--watch",
        metavar="INTERVAL",
        help="re-plan and re-apply every INTERVAL (e.g. 15m), correcting drift, until SIGTERM or Ctrl-C",
    )
    _adopt_option(p)
    _manifest_options(p)
    _api_options(p)

    p = sub.add_parser("destroy", help="shut down and delete every task of the manifests, after confirmation")
    p.add_argument("paths", nargs="+", metavar="PATH")
    _execution_options(p)
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME",
        help="destroy only task NAME and the tasks that depend on it (repeatable)",
    )
    p.add_argument("--force", action="store_true", help="cut over (shutdown) whatever the replication delay")
    _report_options(p)
    _adopt_option(p)
    _manifest_options(p)
    _api_options(p)

    p = sub.add_parser("show", help="render a saved plan (plan -o PLAN.json) for review; no network")
    p.add_argument("plan", metavar="PLAN.json")
    p.add_argument("--format", choices=PLAN_FORMATS, default="text")

    p = sub.add_parser("status", help="live status, progress and last precheck of each task")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=EVENT_FORMATS, default="text")
    p.add_argument(
        "--wait-lag",
        default=None,
        metavar="DURATION",
        help="wait until the replication delay of the tasks is at most DURATION (exit 0), or --timeout (exit 1)",
    )
    p.add_argument(
        "--task",
        action="append",
        default=[],
        metavar="NAME",
        help="with --wait-lag: watch this task (repeat; default: every task with increment)",
    )
    p.add_argument("--timeout", default="30m", metavar="DURATION", help="with --wait-lag: how long to wait (30m)")
    p.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 every task in its desired state and config, 2 one is not, 1 error",
    )
    p.add_argument(
        "--watch",
        nargs="?",
        const="10s",
        default=None,
        metavar="INTERVAL",
        help="read and show the status again every INTERVAL (default 10s) until Ctrl-C or SIGTERM",
    )
    _manifest_options(p)
    _api_options(p)

    p = sub.add_parser("completion", help="print a bash or zsh completion script")
    p.add_argument("shell", choices=["bash", "zsh"])

    p = sub.add_parser("emulator", help="serve the local DTS emulator")
    from_emulator = importlib.import_module("dtsflow.emulator.options")
    from_emulator.add_arguments(p)
    for command in sub.choices.values():  # `dtsflow plan --debug ...` works as well as `dtsflow --debug plan ...`
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
        command.add_argument("--no-color", action="store_true", default=argparse.SUPPRESS, help="no colours")
    return parser


class _Terminated(BaseException):
    """SIGTERM outside the steps of an apply (which handles it as Ctrl-C): leave like Ctrl-C, with exit 143."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _log_api_calls() -> None:
    """`--debug` / `DTSFLOW_LOG=debug`: every API call on stderr (the client logs ids, statuses and timings, never
    a header, query string or body, so no secret can appear)."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("debug: %(message)s"))
    logger = logging.getLogger("dtsflow")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def main(argv: Sequence[str] | None = None) -> int:
    import os
    import signal

    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return ExitCode.ERROR
    if args.debug or os.environ.get("DTSFLOW_LOG", "").lower() == "debug":
        _log_api_calls()
    if args.no_color:
        os.environ["NO_COLOR"] = "1"  # one switch for every renderer, as the no-color.org convention
        os.environ.pop("FORCE_COLOR", None)
    command = importlib.import_module(f"dtsflow.commands.{args.command}")
    previous = signal.signal(signal.SIGTERM, _on_sigterm)  # a cancelled CI job: no traceback, an exit code
    try:
        code = int(command.run(command_args(args)))
        sys.stdout.flush()  # a closed pipe shows here, inside the boundary, not at interpreter exit
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except _Terminated:
        print("terminated (SIGTERM)", file=sys.stderr)
        return ExitCode.TERMINATED
    except BrokenPipeError:
        # The reader went away (`dtsflow plan ... | head`): nothing more can be shown, and that is no crash.
        _discard_stdout()
        return ExitCode.ERROR
    except Exception as exc:  # the one error boundary
        if args.debug:
            import traceback

            traceback.print_exc()
        if isinstance(exc, DtsflowError):
            from dtsflow.escape import for_terminal_lines

            print(f"error: {for_terminal_lines(str(exc))}", file=sys.stderr)
            _failure_in_format(args, exc)
            return ExitCode.ERROR
        print(f"internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)", file=sys.stderr)
        return ExitCode.ERROR
    finally:
        signal.signal(signal.SIGTERM, previous)


def _failure_in_format(args: argparse.Namespace, exc: DtsflowError) -> None:
    """A command asked for a machine format (`--format json|markdown|github`) gets its error in that format on
    stdout too, so that its reader (a script, a pull-request comment, GitHub's annotations) sees why it stopped."""
    fmt = getattr(args, "format", "text")
    if fmt == "text" or args.command not in FAILURE_FORMAT_COMMANDS:
        return
    from dtsflow.commands.problems import failure_output

    watching = args.command == "status" and getattr(args, "watch", None) is not None  # JSON Lines
    output = failure_output(args.command, fmt, exc, json_lines=watching)
    if output is None:
        return
    try:
        sys.stdout.write(output)
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        _discard_stdout()


def _picked(cls: Any, namespace: argparse.Namespace) -> Any:
    """`cls` built from the namespace's attributes of the same names (repeated flags as tuples); a field that is
    itself a dataclass (the option groups) is built the same way from the same namespace."""
    from dataclasses import fields, is_dataclass
    from typing import get_type_hints

    given = vars(namespace)
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in fields(cls):
        if is_dataclass(hints[f.name]):
            values[f.name] = _picked(hints[f.name], namespace)
        elif f.name in given:
            value = given[f.name]
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def command_args(namespace: argparse.Namespace) -> object:
    """The frozen arguments of the parsed command (imported here, after parsing: `--help` does not need them)."""
    from dtsflow.commands import args
    from dtsflow.emulator.settings import EmulatorOptions

    frozen: dict[str, type] = {
        "validate": args.ValidateArgs,
        "render": args.RenderArgs,
        "schema": args.SchemaArgs,
        "completion": args.CompletionArgs,
        "plan": args.PlanArgs,
        "apply": args.ApplyArgs,
        "destroy": args.DestroyArgs,
        "show": args.ShowArgs,
        "status": args.StatusArgs,
        "emulator": EmulatorOptions,
    }
    return _picked(frozen[namespace.command], namespace)


def _discard_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush does not fail on the closed pipe again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
