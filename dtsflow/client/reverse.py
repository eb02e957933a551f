"""Cutover facts the DTS documentation leaves open, chosen once: the one-click reverse pair and the delay.

Standard library only: the client, the planner, the executor and the emulator all read these, so a change here
(when the real service says otherwise) changes every reading at once. `docs/cutover.md` states each choice.

What the documentation says (the one-click reverse family): create with `"rollback": "1"` answers a main task
whose id starts `dtsr`; `POST /v1/task/{id}/newRollback/config` configures both directions (`dtsTaskPos`, the
forward flow, and `dtsTaskNeg`, the way back); the pair's precheck results are read from
`GET /v1/task/{id}/rollback/precheck` (`posCheckResults`, `negCheckResults`); `POST /v1/task/{id}/newRollbackCheck`
answers the delay (`{"data": [{"dtsId", "delay": "2"}]}`, a string); `POST /v1/task/{id}/rollback` with
`{"updateParams": {"position": {...}}}` (or `{}`: the latest position) starts the reverse.

What it leaves open, and what we chose:
- The unit of the delay: seconds, in `dynamicInfo.increment.delay` (an integer) and in `newRollbackCheck` (text).
- The pair's statuses: the main task goes through the ordinary status machine (unConfig, ready, checking,
  checkPass/checkFailed, running, stopping/stopped, finished), driven by the ordinary precheck, start, pause and
  shutdown calls on its `dtsr` id. Its two directions (`dtsTaskPos`, `dtsTaskNeg` in a detail or list answer)
  show the main status until the pair first starts; from then on the live direction shows the main status and
  the idle one `stopped`.
- What the switch does: it pauses the live direction (it shows `stopped`, resumable) and starts the other one
  from the given position, or from the latest one. The main task stays running. The same call switches back.
  The switch is accepted only while the main task runs, and is synchronous (the directions have changed when it
  answers); dtsflow still confirms it by reading the pair. It takes no target direction, so it is not idempotent:
  the client never retries it blindly, and apply reads the direction before switching and after a failed call.
- Which direction is live is read from the directions' statuses: reversed when `dtsTaskNeg` runs.
- Where the pair is listed: under its create `type` (`migration`), like any task, by its `taskName`; the two
  direction tasks are not listed on their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

ROLLBACK_CREATE_FIELD = "rollback"
ROLLBACK_CREATE_VALUE = "1"
"""`"rollback": "1"` in the create body asks for a one-click reverse pair (the docs type it String)."""

PAIR_ID_PREFIX = "dtsr"
"""The main task of a pair has an id starting with this (the docs' `dtsr...` examples)."""

DELAY_UNIT_SECONDS = 1.0
"""Seconds per unit of `dynamicInfo.increment.delay` and of `newRollbackCheck`'s `delay`."""

DEFAULT_CUTOVER_GATE_SECONDS = 10.0
"""The largest delay at which a task with incremental sync may be shut down when it declares no lag gate."""

IDLE_DIRECTION_STATUS = "stopped"
"""What the direction that does not replicate shows once the pair has started."""

SWITCH_POSITION_TYPES = ("binlog", "gtidset", "timestamp")
"""`updateParams.position.type` values of the switch."""

_RUNNING = frozenset({"running", "initRunning", "bidirectRunning", "singleRunning", "retrying"})


class Direction(StrEnum):
    """Which way a pair replicates: forward (source to destination, as declared) or reversed (the way back)."""

    FORWARD = "forward"
    REVERSED = "reversed"


def is_pair_id(dts_id: str) -> bool:
    """Whether a task id names a one-click reverse pair's main task (a bidirectional task also has two
    direction ids, `dtsIdPos`/`dtsIdNeg`, but not this prefix)."""
    return dts_id.startswith(PAIR_ID_PREFIX)


def pair_direction(neg_status: str | None) -> Direction:
    """The live direction of a pair, from the status of its reverse direction (`dtsTaskNeg`)."""
    return Direction.REVERSED if neg_status in _RUNNING else Direction.FORWARD


def delay_seconds(value: object) -> float | None:
    """A delay as the service sends it (an int, or text such as "2") in seconds; None when it says nothing."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) * DELAY_UNIT_SECONDS
    if isinstance(value, str):
        try:
            return float(value.strip()) * DELAY_UNIT_SECONDS
        except ValueError:
            return None
    return None


def pair_delay(delays: Iterable[float | None]) -> float:
    """The delay of a pair from `newRollbackCheck`'s entries: the largest; none listed means none (the docs
    say a group lists only tasks whose delay is not zero)."""
    known = [d for d in delays if d is not None]
    return max(known) if known else 0.0
