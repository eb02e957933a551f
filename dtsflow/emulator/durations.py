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
    lag_start: float = 60.0  # replication delay (emulated seconds) when the incremental phase begins
    catch_up: float = 20.0  # time for that delay to fall to the steady 0-3 s


def durations_from(value: Durations | dict[str, float] | None) -> Durations:
    """`Durations` from a partial mapping of field name -> emulated seconds (ValueError on a bad one)."""
    if value is None:
        return Durations()
    if isinstance(value, Durations):
        return value
    fields = set(Durations.__dataclass_fields__)
    unknown = set(value) - fields
    if unknown:
        raise ValueError(f"unknown durations {sorted(unknown)}; known: {', '.join(sorted(fields))}")
    for name, seconds in value.items():
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError(f"duration {name} must be a non-negative number of seconds")
    return Durations(**{k: float(v) for k, v in value.items()})
