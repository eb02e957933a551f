"""Fixtures for apply/status tests: a real emulator on loopback, manifests on disk, and the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from dtsflow.emulator import RunningEmulator, start_in_thread
from tests.helpers import REPO, run_cli

CANARY = "canary-Pa55w0rd-7f3e1d"
TIME_SCALE = 0.01
MUTATING = ("create", "config", "precheck", "skipPrecheck", "start", "pause", "shutdown", "delete", "rename", "resize")


def task(name: str, state: str = "running", **extra: Any) -> dict[str, Any]:
    """A manifest task; `src_host` sets the source host (e.g. one containing `binlog-off`)."""
    src_host = extra.pop("src_host", "10.0.0.12")
    body: dict[str, Any] = {
        "name": name,
        "state": state,
        "standard": "large",
        "src": {
            "instanceType": "public",
            "dbType": "mysql",
            "region": "bj",
            "host": src_host,
            "port": 3306,
            "user": "dts_reader",
            "password": '{{ secret("DB_PASS") }}',
        },
        "dst": {"instanceType": "public", "dbType": "kafka", "region": "bj", "host": "kafka.internal", "port": 9092},
        "dataType": ["schema", "base", "increment"],
        "objects": [{"type": "table", "src": "shop.orders"}],
    }
    body.update(extra)
    return body


@dataclass
class Env:
    """One emulator plus a working directory holding manifests and `.dtsflow/`."""

    url: str
    access_key: str
    secret_key: str
    cwd: Path
    realism: str = "plain"

    def write(self, tasks: list[dict[str, Any]], *, name: str = "tasks.yaml", prune: str | None = None) -> str:
        doc: dict[str, Any] = {"version": 1, "tasks": tasks}
        if prune:
            doc["prune"] = {"prefix": prune}
        path = self.cwd / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return name

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "BCE_ACCESS_KEY_ID": self.access_key,
            "BCE_SECRET_ACCESS_KEY": self.secret_key,
            "DB_PASS": CANARY,
            "DTSFLOW_POLL_FLOOR": "0.02",
            "DTSFLOW_POLL_CAP": "0.2",
            **extra,
        }

    def cli(self, *args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, "--endpoint", self.url, cwd=self.cwd, env=self.env(**env), input=input, timeout=60)

    def apply(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        result = self.cli("apply", *args, **env)
        assert CANARY not in result.stdout + result.stderr
        return result

    def wait_lag(self, manifest: str) -> None:
        """`dtsflow status --wait-lag 10s`: a task just started has the emulator's starting replication delay
        (60 s, falling in 20 emulated seconds), which the cutover gate refuses to shut down above 10 s. A test
        that shuts a running task down waits as an operator would, rather than on how long a process takes to
        start."""
        waited = self.cli("status", manifest, "--wait-lag", "10s")
        assert waited.returncode == 0, waited.stdout + waited.stderr

    def popen_apply(self, *args: str, warm: bool = False, **env: str) -> subprocess.Popen[str]:
        """`dtsflow apply ARGS` in a subprocess; `warm=True` waits for a line on stdin before it starts
        (see warm_apply.py: the caller reads `ready` from stdout, then writes a line to start it)."""
        full = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
        full["PYTHONPATH"] = str(REPO)
        full["NO_COLOR"] = "1"
        full.update(self.env(**env))
        head = (
            [sys.executable, str(Path(__file__).with_name("warm_apply.py"))]
            if warm
            else [sys.executable, "-m", "dtsflow"]
        )
        return subprocess.Popen(
            [*head, "apply", *args, "--endpoint", self.url],
            stdin=subprocess.PIPE if warm else subprocess.DEVNULL,
            cwd=self.cwd,
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def popen_status(self, *args: str, **env: str) -> subprocess.Popen[str]:
        """`dtsflow status ARGS` in a subprocess (for `--watch`, which runs until it is stopped)."""
        full = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
        full["PYTHONPATH"] = str(REPO)
        full["NO_COLOR"] = "1"
        full.update(self.env(**env))
        return subprocess.Popen(
            [sys.executable, "-m", "dtsflow", "status", *args, "--endpoint", self.url],
            stdin=subprocess.DEVNULL,
            cwd=self.cwd,
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    # -- admin endpoints of the emulator -------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(self.url + "/_emulator/stats", timeout=10).json())

    def mutating(self) -> int:
        requests = self.stats().get("requests", {})
        return sum(int(requests.get(op, 0)) for op in MUTATING)

    def reset_stats(self) -> None:
        httpx.post(self.url + "/_emulator/stats/reset", json={}, timeout=10).raise_for_status()

    def faults(self, **faults: Any) -> None:
        httpx.post(self.url + "/_emulator/faults", json=faults, timeout=10).raise_for_status()

    def tasks(self) -> list[dict[str, Any]]:
        body = httpx.get(self.url + "/_emulator/tasks", timeout=10).json()
        items = body.get("tasks", body) if isinstance(body, dict) else body
        return [t for t in items if t.get("status") != "deleted"]

    def by_name(self) -> dict[str, dict[str, Any]]:
        return {t.get("taskName", ""): t for t in self.tasks()}

    def status(self, name: str) -> str:
        """The live status of task `name`. Under the service's variants a started task shows `initRunning` until
        its full load is done, however long that takes on a loaded machine, and `state: running` is reached on
        either: it reads `running` here. Plain answers are returned as they are."""
        return self.fold(str(self.by_name()[name]["status"]))

    def wait_status(self, name: str, status: str, *, passing: tuple[str, ...] = (), timeout: float = 10.0) -> None:
        """Wait until task `name` shows `status` on the emulator's own timeline (a full load that an apply which
        ends early does not wait out), seeing only `passing` on the way; bounded by `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while (now := str(self.by_name()[name]["status"])) != status:
            assert now in passing and time.monotonic() < deadline, (name, now, status)
            time.sleep(0.02)

    def fold(self, status: str) -> str:
        """A status as `status` reads it: `initRunning` is `running` under the variants."""
        return "running" if self.realism == "variants" and status == "initRunning" else status


REALISM_MODES = ["plain", "variants"]


@pytest.fixture
def realism() -> str:
    """The emulator's realism mode for `env`; the end-to-end suites override it with both modes."""
    return "plain"


@pytest.fixture
def env(tmp_path: Path, realism: str) -> Iterator[Env]:
    with start_in_thread(time_scale=TIME_SCALE, realism=realism) as emu:
        yield Env(emu.url, emu.access_key, emu.secret_key, tmp_path, realism)


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    """An emulator for in-process tests of the executor (fast: a precheck takes 30 ms)."""
    with start_in_thread(time_scale=TIME_SCALE) as running:
        yield running


@pytest.fixture
def slow() -> Iterator[RunningEmulator]:
    """An emulator at human speed (a precheck takes 3 s), for waits that must still be in progress."""
    with start_in_thread(time_scale=1.0) as running:
        yield running


def client_of(emu: RunningEmulator) -> HttpDtsClient:
    return HttpDtsClient(emu.url, Credentials(emu.access_key, emu.secret_key), trust_env=False)


@pytest.fixture
def client(emu: RunningEmulator) -> Iterator[HttpDtsClient]:
    with client_of(emu) as c:
        yield c


@pytest.fixture
def slow_client(slow: RunningEmulator) -> Iterator[HttpDtsClient]:
    with client_of(slow) as c:
        yield c


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def apply_in_process(
    env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """`dtsflow apply ARGS` through `dtsflow.cli.main` in this process (no interpreter start-up): exit code, output."""
    from dtsflow import cli

    with monkeypatch.context() as m:
        m.chdir(env.cwd)
        for key, value in env.env().items():
            m.setenv(key, value)
        code = cli.main(["apply", *args, "--endpoint", env.url])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert CANARY not in output
    return code, output
