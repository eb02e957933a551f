from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO, run_cli

HERE = Path(__file__).resolve().parent
CANARY = "CANARY-c4n4ry-VALUE"


@pytest.fixture(scope="session")
def watched_endpoint() -> Iterator[tuple[str, socket.socket]]:
    """A listening loopback socket used as DTSFLOW_ENDPOINT: tests assert that nobody ever connected to it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.setblocking(False)
    yield f"http://127.0.0.1:{server.getsockname()[1]}", server
    server.close()


def assert_nobody_connected(server: socket.socket) -> None:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return
    conn.close()
    raise AssertionError("a dtsflow command connected to the DTS endpoint")


def guarded_cli(
    *args: str, endpoint: str, cwd: str | os.PathLike[str] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """run_cli with the network guard (any connection attempt exits 99) and a canary secret in the environment."""
    full = {
        "PYTHONPATH": os.pathsep.join([str(HERE / "netguard"), str(REPO)]),
        "DTSFLOW_ENDPOINT": endpoint,
        "QUICKSTART_DB_PASSWORD": CANARY,
        "CANARY_PASSWORD": CANARY,
        **env,
    }
    return run_cli(*args, cwd=cwd, env=full)
