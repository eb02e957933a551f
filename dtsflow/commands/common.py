"""What `plan`, `apply`, `status` and `validate` share: loading the manifests an invocation names, the policies it
gives them, the plan shaped by `--prune`/`--allow-replace`/`--reconfigure`, when to colour output, signal
handlers installed for a block, and what the two watches (`apply --watch`, `status --watch`) share: their
interval and their stop."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING

from dtsflow.commands.args import ManifestOptions, PlanShape
from dtsflow.errors import ConfigError, ExitCode
from dtsflow.escape import for_terminal_lines

if TYPE_CHECKING:
    from dtsflow.client.live import Live
    from dtsflow.client.protocol import DtsClient
    from dtsflow.manifest.envvars import EnvPolicy
    from dtsflow.manifest.load import LoadedManifests
    from dtsflow.manifest.secrets import SecretPolicy
    from dtsflow.plan.model import Plan
    from dtsflow.plan.planner import Manifests


def use_colour(stream: object) -> bool:
    """Colours on a terminal; never with `NO_COLOR` set to a non-empty value (https://no-color.org: an empty one
    does not count) or `--no-color`; always with a non-empty `FORCE_COLOR` (CI logs that render colours)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@contextlib.contextmanager
def signals_handled(
    handler: Callable[[int, FrameType | None], None], signals: tuple[signal.Signals, ...]
) -> Iterator[None]:
    """`handler` for `signals` for the duration of the block; every handler installed is restored, even when
    installing a later one failed half-way (installing happens inside the `try` that restores)."""
    previous: dict[signal.Signals, Callable[[int, FrameType | None], object] | int | None] = {}
    try:
        for sig in signals:
            previous[sig] = signal.signal(sig, handler)
        yield
    finally:
        for installed, old in previous.items():
            signal.signal(installed, old)


# The exit code of a run stopped by a signal, as for an interrupted apply.
EXIT_SIGNAL = {signal.SIGTERM: ExitCode.TERMINATED, signal.SIGINT: ExitCode.INTERRUPTED}


def watch_interval(text: str, *, flag: str, examples: str, hint: str = "") -> float:
    """A watch's INTERVAL in seconds, longer than zero; `flag`, `examples` and `hint` word the error."""
    from dtsflow.manifest.grammar import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError:
        raise ConfigError(f"{flag} expects an interval such as {examples}, got {text!r}{hint}") from None
    if seconds <= 0:
        raise ConfigError(f"{flag} interval must be longer than zero")
    return seconds


class WatchStop:
    """A watch's stop: set by SIGTERM or Ctrl-C, remembering the first signal; a second one exits at once (not an
    exception: no `finally` may keep the process waiting for a thread). `stopping`, when given, is said on stderr
    at the first signal (and the second is announced too)."""

    def __init__(self, stopping: str | None = None) -> None:
        self.event = threading.Event()
        self.signum: int | None = None
        self._stopping = stopping

    def handler(self, signum: int, frame: FrameType | None) -> None:
        if self.event.is_set():
            first = self.signum if self.signum is not None else signum
            with contextlib.suppress(OSError, ValueError):
                if self._stopping is not None:
                    print(f"{signal.Signals(signum).name} again: exiting at once", file=sys.stderr)
                sys.stdout.flush()
            os._exit(int(EXIT_SIGNAL.get(signal.Signals(first), ExitCode.INTERRUPTED)))
        self.signum = signum
        self.event.set()
        if self._stopping is not None:
            print(f"{signal.Signals(signum).name}: {self._stopping}", file=sys.stderr)

    @property
    def exit_code(self) -> int:
        """0 when no signal came, else the signal's exit code."""
        if self.signum is None:
            return ExitCode.OK
        return EXIT_SIGNAL.get(signal.Signals(self.signum), ExitCode.INTERRUPTED)


@contextlib.contextmanager
def bulk_work() -> Iterator[None]:
    """The cyclic garbage collector paused for the block, and what the block built set aside from its later
    passes: loading, listing and planning thousands of tasks build objects that stay alive until the command
    ends, and the collector's repeated walks over them cost about as much as the work itself (10,000 tasks:
    manifest loading 0.63 -> 0.36 s CPU); re-enabling it plainly would walk them all once more at the next
    allocation. Reference counting still frees everything acyclic; a cycle left unreachable inside the block
    stays in memory until the process ends (bounded by the block's own size)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()  # the block's survivors into the permanent generation: no later pass walks them
        if enabled:
            gc.enable()


def env_policy(options: ManifestOptions) -> EnvPolicy:
    """The operator's `env()` allowlist: `DTSFLOW_VAR_*` plus `--allow-env` names."""
    from dtsflow.manifest.envvars import EnvPolicy

    return EnvPolicy.from_operator(list(options.allow_env))


def secret_policy(options: ManifestOptions) -> SecretPolicy:
    """The operator's secret policy: `--secret-dir` flags plus the environment."""
    from dtsflow.manifest.secrets import SecretPolicy

    return SecretPolicy.from_operator(list(options.secret_dir))


def var_files(options: ManifestOptions) -> list[str]:
    """The variables files of an invocation: `--env NAME`'s first (so that a `--var-file` overrides it), then
    every `--var-file`."""
    if options.env is None:
        return list(options.var_file)
    from dtsflow.manifest.load import env_var_file

    return [env_var_file(options.paths, options.env), *options.var_file]


def load(options: ManifestOptions, paths: list[str] | None = None, *, show_warnings: bool = True) -> LoadedManifests:
    """Every manifest of `paths` (default: the invocation's), rendered with its variables and policies; its
    warnings on stderr unless the caller reports them itself (`show_warnings=False`)."""
    from dtsflow.manifest.load import load_manifests, parse_var_args

    with bulk_work():
        loaded = load_manifests(
            list(options.paths) if paths is None else paths,
            variables=parse_var_args(options.var),
            var_files=var_files(options),
            secrets=secret_policy(options),
            env=env_policy(options),
        )
    for warning in loaded.warnings if show_warnings else ():
        sys.stderr.write(f"warning: {for_terminal_lines(str(warning))}\n")
    return loaded


def shaped_plan(manifests: Manifests, live: Live, shape: PlanShape) -> Plan:
    """The plan, shaped by the flags `plan` and `apply` share: --prune, --allow-replace, --reconfigure, --adopt,
    --force, --target, and by `--destroy`."""
    from dtsflow.plan.planner import make_plan

    with bulk_work():
        return make_plan(
            manifests,
            live,
            prune=shape.prune,
            allow_replace=shape.allow_replace,
            reconfigure=list(shape.reconfigure),
            adopt=list(shape.adopt),
            force=shape.force,
            targets=list(shape.target),
            destroy=shape.destroy,
        )


def refresh(client: DtsClient, manifests: Manifests) -> Live:
    """Every live task (`fetch_live`), reading the check items of the failed prechecks this run manages."""
    from dtsflow.plan.refresh import fetch_live, manages

    with bulk_work():
        return fetch_live(client, manages(manifests.tasks, manifests.prune_prefixes))


def check_targets(manifests: Manifests, shape: PlanShape) -> None:
    """An unknown `--target` name is an error before any request."""
    from dtsflow.plan.planner import targeted

    targeted(manifests.tasks, shape.target, dependents=shape.destroy)
