"""The emulated durations of asynchronous steps (seconds at `time_scale` 1.0)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Durations:
    """Emulated seconds of each asynchronous phase; the server multiplies them by its `time_scale`."""

    precheck: float = 3.0  # checking -> checkPass / checkFailed
    pause: float = 2.0  # stopping -> stopped
    shutdown: float = 2.0  # <current status> -> finished
    schema_load: float = 2.0  # structure migration of a task with `schema` in dataType
    base_load: float = 8.0  # full data load of a task with `base` in dataType
    run_failure: float = 3.0  # running -> runFailed for a `run-fail` host
