"""The emulator's admin endpoints take the token printed at start-up, or a request a web page cannot make (a
loopback Host and, to change anything, a JSON content type); its state file is private."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from dtsflow.emulator import start_in_thread
from tests.helpers import REPO


def _raw(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        return conn.recv(65536)


def test_a_web_page_cannot_drive_the_admin_endpoints() -> None:
    with start_in_thread() as emu:
        # a cross-site form post (text/plain, no preflight) to the loopback address
        form = b"POST /_emulator/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}"
        assert _raw(emu.url, form).startswith(b"HTTP/1.1 403")
        # DNS rebinding: the page's own host name in Host
        rebound = b"GET /_emulator/tasks HTTP/1.1\r\nHost: evil.example:80\r\n\r\n"
        assert _raw(emu.url, rebound).startswith(b"HTTP/1.1 403")
        # what tools do: loopback Host and JSON, or the token from any Host
        assert httpx.post(emu.url + "/_emulator/stats/reset", json={}, timeout=10).status_code == 200
        with_token = httpx.post(
            emu.url + "/_emulator/reset",
            content=b"{}",
            headers={"Host": "evil.example", "X-Dtsflow-Emulator-Token": emu.admin_token},
            timeout=10,
        )
        assert with_token.status_code == 200
        wrong = httpx.post(
            emu.url + "/_emulator/reset",
            content=b"{}",
            headers={"Host": "evil.example", "X-Dtsflow-Emulator-Token": "guess"},
            timeout=10,
        )
        assert wrong.status_code == 403


def test_the_token_is_printed_at_start_up_and_the_state_file_is_private(tmp_path: Path) -> None:
    state = tmp_path / "state" / "emu.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dtsflow", "emulator", "--port", "0", "--state", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(6)]
        token_lines = [line for line in lines if line.strip().startswith("admin token")]
        assert token_lines and len(token_lines[0].split()[2]) >= 24
        assert state.stat().st_mode & 0o777 == 0o600
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # reads and closes both pipes (filterwarnings=error: no unclosed file)
