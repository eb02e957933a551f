"""The DTS emulator: a real HTTP server speaking the DTS API, for `dtsflow emulator`, `--emulator` and tests.

`from dtsflow.emulator import start_in_thread, RunningEmulator, DEV_ACCESS_KEY, DEV_SECRET_KEY`. The server
module (http.server, sqlite3) is imported only when an emulator is started, so this import stays cheap.

It may import, of the product, only the standard-library modules both ends of a request must read alike: the
signer (`dtsflow.client.signing`), the status vocabulary (`dtsflow.client.statuses`), the cutover choices
(`dtsflow.client.reverse`), the loopback rule (`dtsflow.client.loopback`), `dtsflow.clock` and `dtsflow.errors`.
"""

from __future__ import annotations

from dtsflow.emulator.config import DEV_ACCESS_KEY, DEV_SECRET_KEY

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing would cost every `dtsflow --help`
if TYPE_CHECKING:
    from typing import Any

    from dtsflow.emulator.server import RunningEmulator, start_in_thread

__all__ = ["DEV_ACCESS_KEY", "DEV_SECRET_KEY", "RunningEmulator", "start_in_thread"]


def __getattr__(name: str) -> Any:
    """`start_in_thread` and `RunningEmulator` come from the server module, imported on first use."""
    if name in ("RunningEmulator", "start_in_thread"):
        from dtsflow.emulator import server

        return getattr(server, name)
    raise AttributeError(name)
