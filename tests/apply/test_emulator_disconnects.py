"""A client killed mid-request (as the crash tests kill `apply`) must not make `dtsflow emulator` print tracebacks.

Lives with the apply tests because the crash tests are where the noise showed up.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dtsflow.emulator import start_in_thread
from dtsflow.emulator.server import EmulatorServer
from tests.helpers import REPO

# The client aborts its connection when it dies (SO_LINGER 0: the kernel answers with RST, as it does for a
# killed process with unread data): after an answered request (the server is reading the next one on the
# keep-alive connection), while its request is being answered, or after half a request.
CLIENT = r"""
import socket, struct, sys, time
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
head = b"POST /v1/task/list HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
if sys.argv[2] == "half":
    sock.sendall(head + b"Content-Length: 1000\r\n\r\n{\"half\":")
else:
    sock.sendall(head + b"Content-Length: 2\r\n\r\n{}")
if sys.argv[2] == "answered":
    assert sock.recv(65536).startswith(b"HTTP/1.1 ")
print("sent", flush=True)
time.sleep(60)
"""


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
    env["PYTHONPATH"] = str(REPO)
    return env


def _kill_client_mid_request(port: int, what: str) -> None:
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(port), what], stdout=subprocess.PIPE, text=True, env=_environment()
    )
    try:
        assert client.stdout is not None and client.stdout.readline().strip() == "sent"
    finally:
        client.send_signal(signal.SIGKILL)
        client.communicate(timeout=10)


def test_a_client_killed_mid_request_leaves_no_traceback(tmp_path: Path) -> None:
    # 150 ms of latency: a "waiting" client dies while its request is still being answered.
    server = subprocess.Popen(
        [sys.executable, "-m", "dtsflow", "emulator", "--port", "0", "--latency-ms", "150", "--state", "e.sqlite3"],
        cwd=tmp_path,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    banner = threading.Event()

    def read_stdout() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            lines.append(line)
            if "listening on" in line:
                banner.set()

    threading.Thread(target=read_stdout, daemon=True).start()
    try:
        assert banner.wait(20), lines
        match = re.search(r"http://127\.0\.0\.1:(\d+)", "".join(lines))
        assert match, lines
        port = int(match.group(1))
        for what in ("answered", "waiting", "half", "answered"):
            _kill_client_mid_request(port, what)
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=20)
    assert "Traceback" not in err, err
    assert "ConnectionResetError" not in err and "BrokenPipeError" not in err, err


def test_a_real_server_error_is_still_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with start_in_thread() as emu:
        server: EmulatorServer = emu._server
        try:
            raise ValueError("a genuine bug")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 1))
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError:
            server.handle_error(None, ("127.0.0.1", 2))
    err = capsys.readouterr().err
    assert "Traceback" in err and "a genuine bug" in err
    assert "Connection reset" not in err
