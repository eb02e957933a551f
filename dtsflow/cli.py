"""The command line: parse arguments, dispatch to `dtsflow.commands.<name>.run(args) -> int`, and be the one
error boundary (a `DtsflowError` is one clear message on stderr and exit 1; never a traceback unless --debug).

Only argparse is imported here; each command imports what it needs, so `dtsflow --help` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from dtsflow import __version__

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors, which `plan --detailed-exitcode` uses for "changes": exit 1 instead."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _manifest_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help="template variable")
    p.add_argument("--var-file", action="append", default=[], metavar="FILE", help="YAML file of variables")


def _api_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--endpoint", metavar="URL", help="DTS endpoint (env DTSFLOW_ENDPOINT; default https://dts.baidubce.com)"
    )
    p.add_argument(
        "--emulator",
        action="store_true",
        help="use the embedded DTS emulator, state under .dtsflow/ in the current directory",
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("validate", help="render, parse and check manifests offline (no network)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    _manifest_options(p)

    p = sub.add_parser("render", help="print a rendered manifest with line numbers")
    p.add_argument("paths", nargs="+", metavar="PATH")
    _manifest_options(p)

    sub.add_parser("schema", help="print the manifest JSON Schema")

    p = sub.add_parser("plan", help="diff manifests against live tasks and print the operations")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("-o", "--out", metavar="PLAN.json", help="save the plan for `dtsflow apply PLAN.json`")
    p.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    p.add_argument("--detailed-exitcode", action="store_true", help="exit 0 no changes, 2 changes, 1 error")
    p.add_argument("--prune", action="store_true", help="plan shutdown+delete of unnamed tasks under prune.prefix")
    p.add_argument("--allow-replace", action="store_true", help="plan replacements of tasks")
    p.add_argument("--reconfigure", action="append", default=[], metavar="NAME", help="re-send a task's config")
    _manifest_options(p)
    _api_options(p)

    p = sub.add_parser("apply", help="perform the plan and wait until every task is in its desired state")
    p.add_argument("paths", nargs="+", metavar="PATH|PLAN.json")
    p.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    p.add_argument("--parallelism", type=int, default=10, metavar="N", help="tasks worked on at once (default 10)")
    p.add_argument("--timeout", default=None, metavar="DURATION", help="overall deadline, e.g. 30m")
    p.add_argument("--prune", action="store_true", help="shutdown+delete unnamed tasks under prune.prefix")
    p.add_argument("--allow-replace", action="store_true", help="allow replacing tasks")
    p.add_argument("--reconfigure", action="append", default=[], metavar="NAME", help="re-send a task's config")
    p.add_argument("--format", choices=["text", "json"], default="text")
    _manifest_options(p)
    _api_options(p)

    p = sub.add_parser("status", help="live status, progress and last precheck of each task")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=["text", "json"], default="text")
    _manifest_options(p)
    _api_options(p)

    p = sub.add_parser("emulator", help="serve the local DTS emulator")
    from_emulator = importlib.import_module("dtsflow.emulator.options")
    from_emulator.add_arguments(p)
    for command in sub.choices.values():  # `dtsflow plan --debug ...` works as well as `dtsflow --debug plan ...`
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_ERROR
    command = importlib.import_module(f"dtsflow.commands.{args.command}")
    try:
        code = int(command.run(args))
        sys.stdout.flush()  # a closed pipe shows here, inside the boundary, not at interpreter exit
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`dtsflow plan ... | head`): nothing more can be shown, and that is no crash.
        _discard_stdout()
        return EXIT_ERROR
    except Exception as exc:  # the one error boundary
        from dtsflow.errors import DtsflowError

        if args.debug:
            import traceback

            traceback.print_exc()
        if isinstance(exc, DtsflowError):
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        print(f"internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)", file=sys.stderr)
        return EXIT_ERROR


def _discard_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush does not fail on the closed pipe again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
