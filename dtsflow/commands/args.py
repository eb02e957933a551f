"""What each command is asked to do: one frozen dataclass per command, built by `dtsflow.cli` from the parsed
command line. Commands and the modules they call take these, never an argparse namespace.

Standard library only (dataclasses): `dtsflow --help` imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ManifestOptions:
    """Which manifests, and what they may read: `PATH...`, `--var`, `--var-file`, `--env`, `--secret-dir`,
    `--allow-env`."""

    paths: tuple[str, ...]
    var: tuple[str, ...] = ()
    var_file: tuple[str, ...] = ()
    env: str | None = None
    """`--env NAME`: `vars/NAME.yaml` of the manifests' directory, read as a `--var-file` given first."""
    secret_dir: tuple[str, ...] = ()
    allow_env: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ApiOptions:
    """Where the API is and how to reach it: `--endpoint`, `--emulator`, `--profile`, `--allow-insecure-http`,
    `--rate-limit`."""

    endpoint: str | None = None
    emulator: bool = False
    realism: str = "plain"
    profile: str | None = None
    allow_insecure_http: bool = False
    rate_limit: float | None = None


@dataclass(frozen=True, slots=True)
class PlanShape:
    """The flags `plan` and `apply` share that shape a plan: `--prune`, `--allow-replace`, `--reconfigure`,
    `--adopt`, `--force`, `--target`, `--destroy`."""

    prune: bool = False
    allow_replace: bool = False
    reconfigure: tuple[str, ...] = ()
    adopt: tuple[str, ...] = ()
    force: bool = False
    """Plan cutovers (a shutdown of a running increment, a pair's switch) whatever the replication delay."""
    target: tuple[str, ...] = ()
    """`--target NAME`: plan only these tasks and what they depend on; nothing is pruned."""
    destroy: bool = False
    """`plan --destroy` / `dtsflow destroy`: every task of the manifests to `absent`."""


@dataclass(frozen=True, slots=True)
class ValidateArgs:
    manifests: ManifestOptions
    format: str = "text"
    """`text`, `json` or `github` (workflow commands: annotations on a pull request's files)."""


@dataclass(frozen=True, slots=True)
class RenderArgs:
    manifests: ManifestOptions


@dataclass(frozen=True, slots=True)
class SchemaArgs:
    pass


@dataclass(frozen=True, slots=True)
class CompletionArgs:
    shell: str


@dataclass(frozen=True, slots=True)
class PlanArgs:
    manifests: ManifestOptions
    api: ApiOptions = field(default_factory=ApiOptions)
    shape: PlanShape = field(default_factory=PlanShape)
    out: str | None = None
    format: str = "text"
    detailed_exitcode: bool = False
    apply_key_id: str | None = None
    """`--apply-key-id`: the access key id a saved plan is bound to, when not the planning key's (CI plans with a
    read-only key, the write key applies)."""


@dataclass(frozen=True, slots=True)
class ApplyArgs:
    manifests: ManifestOptions
    """`paths` is either manifests or one saved plan (`PLAN.json`)."""
    api: ApiOptions = field(default_factory=ApiOptions)
    shape: PlanShape = field(default_factory=PlanShape)
    auto_approve: bool = False
    parallelism: int = 10
    timeout: str | None = None
    """As given (`30m`); the command parses it, so that a bad value is a clear error before any request."""
    format: str = "text"
    report: str | None = None
    watch: str | None = None
    """`--watch INTERVAL` as given (`15m`): re-plan and re-apply every INTERVAL until SIGTERM or Ctrl-C."""
    lock_timeout: str | None = None
    """`--lock-timeout DURATION` as given (`5m`): wait that long for another apply's lock (default: fail at once)."""


@dataclass(frozen=True, slots=True)
class DestroyArgs:
    """`dtsflow destroy PATH...`: `apply` of the destroy plan, confirmed with the number of tasks it deletes."""

    manifests: ManifestOptions
    api: ApiOptions = field(default_factory=ApiOptions)
    auto_approve: bool = False
    target: tuple[str, ...] = ()
    """`--target NAME`: destroy only these tasks and the tasks that depend on them."""
    adopt: tuple[str, ...] = ()
    force: bool = False
    parallelism: int = 10
    timeout: str | None = None
    format: str = "text"
    report: str | None = None
    lock_timeout: str | None = None


@dataclass(frozen=True, slots=True)
class ShowArgs:
    plan: str
    """The saved plan file (`plan -o PLAN.json`)."""
    format: str = "text"


@dataclass(frozen=True, slots=True)
class StatusArgs:
    manifests: ManifestOptions
    api: ApiOptions = field(default_factory=ApiOptions)
    format: str = "text"
    wait_lag: str | None = None
    """`--wait-lag DURATION`: wait until the watched tasks' delay is at most this (as given; parsed by the command)."""
    task: tuple[str, ...] = ()
    """`--task NAME`: the tasks `--wait-lag` watches (default: every task with increment)."""
    timeout: str = "30m"
    """`--timeout` of `--wait-lag`."""
    detailed_exitcode: bool = False
    """`--detailed-exitcode`: exit 2 when a task is not in sync (its plan would not be empty), 0 when all are."""
    watch: str | None = None
    """`--watch [INTERVAL]` as given (`10s` when bare): read and show the status again until SIGTERM or Ctrl-C."""
