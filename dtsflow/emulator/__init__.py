"""The DTS emulator: a real HTTP server speaking the DTS API, for `dtsflow emulator`, `--emulator` and tests.

`from dtsflow.emulator import start_in_thread, RunningEmulator, DEV_ACCESS_KEY, DEV_SECRET_KEY`. The server
module (http.server, sqlite3) is imported only when an emulator is started, so this import stays cheap.
"""

from __future__ import annotations

from dtsflow.emulator.config import DEV_ACCESS_KEY, DEV_SECRET_KEY

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing would cost every `dtsflow --help`
if TYPE_CHECKING:
    from typing import Any

    from dtsflow.emulator.server import RunningEmulator

__all__ = ["DEV_ACCESS_KEY", "DEV_SECRET_KEY", "RunningEmulator", "start_in_thread"]


def start_in_thread(
    *,
    state_path: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    access_key: str = DEV_ACCESS_KEY,
    secret_key: str = DEV_SECRET_KEY,
    time_scale: float = 1.0,
    faults: dict[str, Any] | None = None,
    security_token: str | None = None,
    extra_keys: list[tuple[str, str, str | None]] | None = None,
    durations: dict[str, float] | None = None,
) -> RunningEmulator:
    """Serve an emulator from a daemon thread on `host:port` (port 0 = ephemeral); use it as a context manager.

    `state_path=None` uses a fresh temporary state removed at `stop()`. `time_scale` multiplies every
    asynchronous duration (1.0 = seconds for a person watching; tests use ~0.01). `faults` takes the keys of
    `POST /_emulator/faults` (docs/emulator.md). `security_token` turns the key pair into an STS pair that
    must send that `x-bce-security-token`; `extra_keys` adds (access key, secret key, token or None) triples.
    `durations` overrides emulated seconds of phases (`precheck`, `pause`, `shutdown`, `schema_load`,
    `base_load`, `run_failure`) before `time_scale` applies.
    """
    from dtsflow.emulator.server import start_in_thread as start

    return start(
        state_path=state_path,
        host=host,
        port=port,
        access_key=access_key,
        secret_key=secret_key,
        time_scale=time_scale,
        faults=faults,
        security_token=security_token,
        extra_keys=extra_keys,
        durations=durations,
    )


def __getattr__(name: str) -> Any:
    if name == "RunningEmulator":
        from dtsflow.emulator.server import RunningEmulator

        return RunningEmulator
    raise AttributeError(name)
