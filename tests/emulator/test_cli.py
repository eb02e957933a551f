"""`dtsflow emulator` run as a user runs it: a subprocess, its start-up banner, its signals and exit codes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dtsflow.emulator import DEV_ACCESS_KEY, DEV_SECRET_KEY
from tests.emulator.apiclient import Api
from tests.helpers import REPO, run_cli

_STARTED: list[tuple[subprocess.Popen[str], threading.Thread]] = []


@pytest.fixture(autouse=True)
def _reap() -> Iterator[None]:
    """Every emulator a test started is gone at its end, and its pipes closed (no ResourceWarning)."""
    yield
    while _STARTED:
        proc, reader = _STARTED.pop()
        if proc.poll() is None:
            proc.kill()
        proc.wait(20)
        reader.join(20)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def _start(*args: str, cwd: Path) -> tuple[subprocess.Popen[str], str, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dtsflow", "emulator", "--port", "0", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    _STARTED.append((proc, reader))
    if not found.wait(20):
        proc.kill()
        raise AssertionError(f"no start-up banner: {lines} {proc.stderr.read() if proc.stderr else ''}")
    match = re.search(r"listening on (http://\S+)", "".join(lines))
    assert match, lines
    return proc, match.group(1), lines


def test_serves_prints_keys_persists_and_stops_cleanly(tmp_path: Path) -> None:
    proc, url, lines = _start("--time-scale", "0", "--fail-next", "list=1:503:ServiceUnavailable", cwd=tmp_path)
    banner = "".join(lines)
    assert DEV_ACCESS_KEY in banner and DEV_SECRET_KEY in banner
    api = Api(url, DEV_ACCESS_KEY, DEV_SECRET_KEY)
    assert api.call("POST", "/v1/task/list", body={}).status == 503
    dts_id = api.create().body["dtsTasks"][0]["dtsId"]
    api.close()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    assert (tmp_path / ".dtsflow" / "emulator.sqlite3").exists()

    proc, url, _ = _start("--time-scale", "0", cwd=tmp_path)
    api = Api(url, DEV_ACCESS_KEY, DEV_SECRET_KEY)
    assert api.status(dts_id) == "unConfig"  # the same state file, default location
    api.close()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(20) == 130
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


def test_state_survives_sigkill_of_the_server(tmp_path: Path) -> None:
    proc, url, _ = _start("--time-scale", "0", cwd=tmp_path)
    api = Api(url, DEV_ACCESS_KEY, DEV_SECRET_KEY)
    ids = [api.new_task(f"k{i}") for i in range(5)]
    api.action(ids[0], "precheck")
    api.close()
    proc.kill()  # SIGKILL: no clean shutdown, no checkpoint
    proc.wait(20)
    proc, url, _ = _start("--time-scale", "0", cwd=tmp_path)
    try:
        api = Api(url, DEV_ACCESS_KEY, DEV_SECRET_KEY)
        assert [api.get(i).body["taskName"] for i in ids] == [f"k{i}" for i in range(5)]
        assert api.status(ids[0]) == "checkPass"
        api.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


def test_custom_keys_are_used_and_the_secret_is_not_printed(tmp_path: Path) -> None:
    secret = "canary-secret-4b1d"
    proc, url, lines = _start("--access-key", "my-ak", "--secret-key", secret, "--state", "s.db", cwd=tmp_path)
    try:
        assert secret not in "".join(lines) and "my-ak" in "".join(lines)
        api = Api(url, "my-ak", secret)
        assert api.call("POST", "/v1/task/list", body={}).status == 200
        dev = Api(url, DEV_ACCESS_KEY, DEV_SECRET_KEY)
        assert dev.call("POST", "/v1/task/list", body={}).code == "InvalidAccessKeyId"
        api.close()
        dev.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


def test_help_documents_every_knob() -> None:
    done = run_cli("emulator", "--help")
    assert done.returncode == 0
    for flag in (
        "--host",
        "--port",
        "--state",
        "--access-key",
        "--secret-key",
        "--security-token",
        "--time-scale",
        "--duration",
        "--latency-ms",
        "--jitter-ms",
        "--error-rate",
        "--error-status",
        "--error-code",
        "--fail-next",
        "--drop-response",
        "--drop-probability",
        "--no-dedupe-tokens",
        "--token-ttl",
        "--rate-limit-rps",
        "--rate-limit-burst",
        "--clock-skew",
        "--seed",
    ):
        assert flag in done.stdout, flag


def test_every_fault_setting_and_phase_has_a_documented_flag() -> None:
    """Derived from the code, not from a list: a new fault key or phase without a flag and help text fails here."""
    import argparse
    import dataclasses

    from dtsflow.emulator.durations import Durations
    from dtsflow.emulator.faults import KNOWN_KEYS
    from dtsflow.emulator.options import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    helped = {
        option: action.help
        for action in parser._actions  # argparse has no public iterator over its actions
        for option in action.option_strings
        if option != "-h" and option != "--help"
    }
    assert all(text and text != argparse.SUPPRESS for text in helped.values()), helped
    # Fault keys map to flags by name; the two spelled differently on the command line are named here.
    spelled = {"dedupe_tokens": "--no-dedupe-tokens", "clock_skew_s": "--clock-skew", "token_ttl_s": "--token-ttl"}
    for key in KNOWN_KEYS:
        assert spelled.get(key, "--" + key.replace("_", "-")) in helped, key
    duration_help = str(helped["--duration"])
    for phase in (f.name for f in dataclasses.fields(Durations)):
        assert phase in duration_help, phase


def test_bad_flags_fail_with_one_clear_line(tmp_path: Path) -> None:
    cases = [
        (["--error-rate", "create=lots"], "bad fault flag value"),
        (["--error-rate", "create"], "--error-rate expects OP=VALUE"),
        (["--access-key", "only-the-id"], "give both --access-key and --secret-key"),
        (["--error-rate", "create=2"], "between 0 and 1"),
        (["--fail-next", "strat=1"], "unknown operation 'strat'"),
        (["--time-scale", "-1"], "--time-scale must not be negative"),
        (["--duration", "precheck=soon"], "--duration precheck: 'soon' is not a number of seconds"),
        (["--duration", "coffee=1"], "unknown durations ['coffee']"),
    ]
    (tmp_path / "junk.db").write_text("not sqlite " * 200)
    cases.append((["--state", str(tmp_path / "junk.db")], "not a usable emulator state file"))
    cases.append((["--state", str(tmp_path / "junk.db" / "sub" / "s.db")], "cannot create its directory"))
    for args, message in cases:
        done = run_cli("emulator", "--port", "0", "--state", str(tmp_path / "s.db"), *args, cwd=tmp_path, timeout=30)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_a_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("emulator", "--port", str(port), "--state", str(tmp_path / "s.db"), cwd=tmp_path, timeout=30)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_importing_the_package_and_its_options_loads_no_server_code() -> None:
    """`dtsflow --help` imports `dtsflow.emulator.options`; that must not pull in the server or heavy modules."""
    code = (
        "import sys, dtsflow.emulator, dtsflow.emulator.options\n"
        "heavy = ['http.server', 'sqlite3', 'dataclasses', 'typing', 'pydantic', 'httpx', 'json']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
