"""Fixed values of the emulator: development keys and the emulated durations of asynchronous steps.

Standard library only: importing `dtsflow.emulator` must stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

# Development credentials. They protect nothing (they are printed at start-up and written here); they exist so
# that clients exercise the real signing path against the emulator exactly as against the cloud.
DEV_ACCESS_KEY = "dtsflow-emulator-ak"
DEV_SECRET_KEY = "dtsflow-emulator-sk-0123456789abcdef"

DEFAULT_PORT = 8470
MAX_BODY_BYTES = 1 << 20  # a DTS request body is a few kB; refuse anything absurd
FUTURE_SKEW_SECONDS = 15 * 60  # a signature dated further ahead than this is RequestExpired


@dataclass(frozen=True, slots=True)
class Durations:
    """Emulated seconds of each asynchronous phase; the server multiplies them by its `time_scale`."""

    precheck: float = 3.0  # checking -> checkPass / checkFailed
    pause: float = 2.0  # stopping -> stopped
    shutdown: float = 2.0  # <current status> -> finished
    schema_load: float = 2.0  # structure migration of a task with `schema` in dataType
    base_load: float = 8.0  # full data load of a task with `base` in dataType
    run_failure: float = 3.0  # running -> runFailed for a `run-fail` host
