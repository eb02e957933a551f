"""A canary secret key never appears in a log record (DEBUG, httpx and httpcore included), an exception text, a
traceback, a repr, or on the wire."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from dtsflow.commands.args import ApiOptions
from dtsflow.commands.connect import open_client
from dtsflow.errors import ApiError
from tests.client.scripted_server import Answer, ScriptedServer
from tests.helpers import REPO

CANARY = "CANARY-7d41c2e9-secret-key"
TOKEN_CANARY = "CANARY-TOKEN-55aa"


def ns(endpoint: str) -> ApiOptions:
    return ApiOptions(endpoint=endpoint, emulator=False, profile=None, allow_insecure_http=False, rate_limit=None)


def test_canary_never_leaks_in_process(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("BCE_ACCESS_KEY_ID", "AK-canary-test")
    monkeypatch.setenv("BCE_SECRET_ACCESS_KEY", CANARY)
    monkeypatch.setenv("BCE_SECURITY_TOKEN", TOKEN_CANARY)
    caplog.set_level(logging.DEBUG)  # root: dtsflow.client, httpx, httpcore all propagate here
    for name in ("httpx", "httpcore", "dtsflow"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    server = ScriptedServer(
        [
            Answer(503, b""),
            Answer(429, b'{"code":"Throttled","message":"m","requestId":"r"}', {"Retry-After": "0"}),
            Answer(403, b'{"code":"SignatureDoesNotMatch","message":"bad signature","requestId":"r2"}'),
            Answer(200, b"{}", delay=0.4),
            Answer(200, b"{}", delay=0.4),
            Answer(400, b"{not json"),
        ]
    )
    texts: list[str] = []
    with server.running(), open_client(ns(server.url), sleep=lambda s: None, timeout=0.1, max_attempts=4) as client:
        texts += [repr(client), str(client), repr(client._http.auth), repr(vars(client))]
        for call in (lambda: client.get_task("dtsm1"), lambda: client.start("dtsm1")):
            with pytest.raises(ApiError) as info:
                call()
            exc = info.value
            texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc)), repr(vars(exc))]
    assert caplog.records, "DEBUG logging captured nothing; the test would prove nothing"
    assert any(r.name.startswith("httpx") or r.name.startswith("httpcore") for r in caplog.records)
    texts += [r.getMessage() for r in caplog.records] + [caplog.text]
    for seen in server.seen:  # the secret key itself never goes on the wire (only its HMAC does)
        texts += [repr(seen.headers), seen.body.decode(), seen.target]
    assert len(server.seen) == 6  # get: 503, 429, 403; start: timeout x2, 400
    for text in texts:
        assert CANARY not in text
    # The STS token is sent (it must be), but never logged or put in an error.
    assert all(TOKEN_CANARY not in t for t in [r.getMessage() for r in caplog.records] + [caplog.text])


def test_canary_never_leaks_with_a_debug_traceback(tmp_path: Path) -> None:
    """What `--debug` does at the CLI boundary: full DEBUG logging and a printed traceback of the failure."""
    server = ScriptedServer([], default=Answer(403, b'{"code":"AccessDenied","message":"no","requestId":"r"}'))
    script = tmp_path / "run.py"
    script.write_text(
        "import logging, sys, traceback\n"
        "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)\n"
        "from dtsflow.commands.connect import open_client\n"
        "from dtsflow.commands.args import ApiOptions\n"
        f"args = ApiOptions(endpoint={server.url!r}, emulator=False, profile=None,\n"
        "                  allow_insecure_http=False, rate_limit=None)\n"
        "try:\n"
        "    with open_client(args) as client:\n"
        "        print(client, client.stats.snapshot())\n"
        "        client.list_tasks()\n"
        "except Exception:\n"
        "    traceback.print_exc()\n"
        "    sys.exit(1)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BCE_", "DTSFLOW_"))}
    env.update({"PYTHONPATH": str(REPO), "BCE_ACCESS_KEY_ID": "AK-x", "BCE_SECRET_ACCESS_KEY": CANARY})
    with server.running():
        out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "AccessDenied" in out.stderr and "Traceback" in out.stderr and "DEBUG" in out.stderr
    assert CANARY not in out.stdout + out.stderr


MANIFEST = """\
version: 1
tasks:
  - name: canary-task
    state: running
    standard: large
    src: {instanceType: public, dbType: mysql, region: bj, host: 10.0.0.1, port: 3306, user: u,
          password: "{{ secret('CANARY_DB_PW') }}"}
    dst: {instanceType: public, dbType: kafka, region: bj, host: k, port: 9092}
    dataType: [schema, base]
    objects: [{type: table, src: shop.orders}]
"""


@pytest.mark.parametrize("command", ["plan", "status", "apply"])
def test_canary_never_leaks_through_the_cli_with_debug(tmp_path: Path, command: str) -> None:
    from tests.helpers import run_cli

    manifest = tmp_path / "tasks.yaml"
    manifest.write_text(MANIFEST)
    server = ScriptedServer([], default=Answer(403, b'{"code":"AccessDenied","message":"denied","requestId":"r-1"}'))
    env = {
        "BCE_ACCESS_KEY_ID": "AK-cli",
        "BCE_SECRET_ACCESS_KEY": CANARY,
        "BCE_SECURITY_TOKEN": TOKEN_CANARY,
        "CANARY_DB_PW": "CANARY-db-pw-cli",
    }
    with server.running():
        extra = ["--auto-approve"] if command == "apply" else []
        out = run_cli(
            "--debug", command, str(manifest), *extra, "--endpoint", server.url, cwd=tmp_path, env=env, timeout=60
        )
    assert out.returncode == 1, out.stderr
    assert "AccessDenied" in out.stderr and "r-1" in out.stderr
    assert server.seen, "the command never reached the server"
    for secret in (CANARY, TOKEN_CANARY, "CANARY-db-pw-cli"):
        assert secret not in out.stdout + out.stderr
