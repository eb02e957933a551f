"""Command-line options of `dtsflow emulator` (argparse only, so that `dtsflow --help` stays fast); the CLI turns
them into `dtsflow.emulator.settings.EmulatorOptions`."""

from __future__ import annotations

import argparse

from dtsflow.emulator.config import DEFAULT_PORT

_OPS = "create, get, list, listWithPage, config, precheck, getPrecheck, skipPrecheck, start, pause, shutdown, delete, rename, resize, assignTags, or * for all"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Serve the local DTS emulator: the DTS OpenAPI over HTTP with BCE signature checks, the task status "
        "machine, precheck items and fault injection. Development keys are printed at start-up. "
        "See docs/emulator.md for the failure triggers (host names containing binlog-off, unreachable, ...)."
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on; 0 picks a free one (default {DEFAULT_PORT})"
    )
    p.add_argument(
        "--state",
        default=".dtsflow/emulator.sqlite3",
        metavar="FILE",
        help="SQLite state file; tasks survive restarts (default .dtsflow/emulator.sqlite3)",
    )
    p.add_argument("--access-key", default=None, metavar="ID", help="access key id (default: the development key)")
    p.add_argument(
        "--secret-key",
        default=None,
        metavar="KEY",
        help="secret access key (default: the development key; env DTSFLOW_EMULATOR_SECRET_KEY)",
    )
    p.add_argument(
        "--security-token",
        default=None,
        metavar="TOKEN",
        help="make the key pair an STS pair: requests must carry this x-bce-security-token",
    )
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="F",
        help="multiply every asynchronous duration (precheck 3 s, pause 2 s, shutdown 2 s, load 10 s) by F; "
        "0 makes them immediate (default 1.0)",
    )
    p.add_argument(
        "--duration",
        action="append",
        default=[],
        metavar="PHASE=SECONDS",
        help="emulated seconds of a phase before --time-scale: precheck (3), pause (2), shutdown (2), "
        "schema_load (2), base_load (8), run_failure (3), lag_start (60: the replication delay when the "
        "incremental phase begins), catch_up (20: the time that delay takes to fall to 0-3 s)",
    )
    p.add_argument("--verbose", action="store_true", help="log every request on stderr")
    p.add_argument(
        "--realism",
        choices=("plain", "variants"),
        default="plain",
        help="plain: one tidy answer shape; variants: every shape the API documentation leaves open (null fields, "
        "truncated, createTime with a space, initRunning, extra keys, ...; docs/client.md) (default plain)",
    )
    f = p.add_argument_group("faults (also settable at run time with POST /_emulator/faults)")
    f.add_argument("--latency-ms", type=float, default=0, metavar="MS", help="delay added to every /v1 request")
    f.add_argument("--jitter-ms", type=float, default=0, metavar="MS", help="random extra delay, 0..MS")
    f.add_argument(
        "--error-rate",
        action="append",
        default=[],
        metavar="OP=RATE",
        help=f"answer this share (0..1) of calls of OP with --error-status/--error-code; OP is {_OPS}",
    )
    f.add_argument("--error-status", type=int, default=503, metavar="N", help="HTTP status of --error-rate (503)")
    f.add_argument(
        "--error-code",
        default="ServiceUnavailable",
        metavar="CODE",
        help="BCE code of --error-rate (ServiceUnavailable)",
    )
    f.add_argument(
        "--fail-next",
        action="append",
        default=[],
        metavar="OP=N[:STATUS[:CODE]]",
        help="fail the next N calls of OP (default 500 InternalError)",
    )
    f.add_argument(
        "--drop-response",
        action="append",
        default=[],
        metavar="OP=N",
        help="run the next N calls of OP, commit, then close the connection without answering",
    )
    f.add_argument(
        "--drop-probability",
        action="append",
        default=[],
        metavar="OP=P",
        help="like --drop-response, for a share P (0..1) of the calls of OP",
    )
    f.add_argument(
        "--no-dedupe-tokens",
        action="store_true",
        help="ignore clientToken: every create makes a new task (the real service's behaviour is undocumented)",
    )
    f.add_argument(
        "--token-ttl", type=float, default=None, metavar="SECONDS", help="how long a clientToken is remembered (86400)"
    )
    f.add_argument(
        "--rate-limit-rps", type=float, default=0, metavar="RPS", help="cap requests per second; excess gets 429"
    )
    f.add_argument("--rate-limit-burst", type=float, default=None, metavar="N", help="bucket size of the cap")
    f.add_argument(
        "--clock-skew", type=float, default=0, metavar="SECONDS", help="shift the clock used to check signatures"
    )
    f.add_argument("--seed", type=int, default=0, help="seed of the fault random generator (default 0)")
    f.add_argument(
        "--lag-s",
        action="append",
        default=[],
        metavar="NAME=SECONDS",
        help="add SECONDS of replication delay to the running task NAME (* for every task)",
    )
