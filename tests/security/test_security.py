"""Security suite: a canary secret across every command, output format and error path; what a hostile service
can send (passwords echoed at any depth, in answers and in errors); `..` in file secrets.

Each command runs whole through `dtsflow.cli.main` in this process (the same entry point as the console script;
the subprocess-level checks of the same boundary are in tests/client/test_canary.py), against a real emulator or
a scripted server on loopback. The canary is the database password (an environment secret and a file secret);
it must appear in no output, no saved plan, no report, no journal, no error message.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dtsflow import cli
from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from dtsflow.emulator import RunningEmulator, start_in_thread
from dtsflow.plan.refresh import OTHER_TASK_TYPES
from tests.client.scripted_server import Answer, ScriptedServer
from tests.helpers import REPO

CANARY = "CANARY-db-pw-3f9a1c"
FILE_CANARY = "CANARY-file-pw-77b2e0"
KEY_CANARY = "CANARY-secret-key-c4d1"

MANIFEST = """\
version: 1
tasks:
  - name: sec-env
    state: {state}
    standard: large
    src: {{instanceType: public, dbType: mysql, region: bj, host: 10.0.0.1, port: 3306, user: u,
          password: "{{{{ secret('DB_PASS') }}}}"}}
    dst: {{instanceType: public, dbType: mysql, region: bj, host: 10.0.0.2, port: 3306, user: w,
          password: "{{{{ secret('file:{secret_file}') }}}}"}}
    dataType: [schema, base, increment]
    objects: [{{type: table, src: shop.orders}}]
"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with start_in_thread(time_scale=0.01) as emu:
        yield emu


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "dst-pw").write_text(FILE_CANARY + "\n")
    (secrets / "dst-pw").chmod(0o600)
    (tmp_path / "tasks.yaml").write_text(MANIFEST.format(state="running", secret_file=secrets / "dst-pw"))
    monkeypatch.chdir(tmp_path)
    for key in ("BCE_ACCESS_KEY_ID", "BCE_SECRET_ACCESS_KEY", "DTSFLOW_ENDPOINT", "DTSFLOW_SECRET_DIRS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DB_PASS", CANARY)
    monkeypatch.setenv("DTSFLOW_SECRET_DIRS", str(secrets))
    monkeypatch.setenv("DTSFLOW_POLL_FLOOR", "0.01")
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def assert_no_canary(*texts: str) -> None:
    for text in texts:
        for canary in (CANARY, FILE_CANARY, KEY_CANARY):
            assert canary not in text, f"{canary} leaked:\n{text[:3000]}"


def written_files(work: Path) -> list[str]:
    return [p.read_text(errors="replace") for p in work.rglob("*") if p.is_file() and p.parent.name != "secrets"]


def use(emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch, *, secret_key: str | None = None) -> None:
    monkeypatch.setenv("BCE_ACCESS_KEY_ID", emu.access_key)
    monkeypatch.setenv("BCE_SECRET_ACCESS_KEY", secret_key or emu.secret_key)
    monkeypatch.setenv("DTSFLOW_ENDPOINT", emu.url)


# ---- every command and format on the success path ------------------------------------------------------------


def test_every_command_and_format_on_the_success_path(
    emulator: RunningEmulator, work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.engine.store.reset()
    emulator.set_faults(None)
    use(emulator, monkeypatch)
    outputs = []
    for argv in (
        ["validate", "tasks.yaml"],
        ["render", "tasks.yaml"],
        ["plan", "tasks.yaml", "--format", "text"],
        ["plan", "tasks.yaml", "--format", "markdown"],
        ["plan", "tasks.yaml", "--format", "json", "--out", "saved.json"],
        ["apply", "saved.json", "--auto-approve", "--report", "report.html"],
        ["status", "tasks.yaml", "--format", "text"],
        ["status", "tasks.yaml", "--format", "json"],
        ["plan", "tasks.yaml", "--format", "json"],
        ["apply", "tasks.yaml", "--auto-approve", "--format", "json"],
    ):
        code, output = run(capsys, *argv)
        assert code == 0, (argv, output)
        outputs.append(output)
    assert (work / "saved.json").exists() and (work / "report.html").exists() and (work / ".dtsflow").exists()
    assert emulator.engine.dump()[0]["status"] == "running"  # the apply did send both passwords
    assert_no_canary(*outputs, *written_files(work))


# ---- error paths ---------------------------------------------------------------------------------------------


def test_error_paths_of_apply_plan_and_validate(
    emulator: RunningEmulator, work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.engine.store.reset()
    use(emulator, monkeypatch)
    outputs = []
    # A config call that keeps failing with 500 (beyond the retries): the step fails, the report says why.
    emulator.set_faults({"fail_next": {"config": 20}})
    for fmt in ("text", "json"):
        code, output = run(capsys, "apply", "tasks.yaml", "--auto-approve", "--format", fmt)
        assert code == 1 and "InternalError" in output, output
        outputs.append(output)
    emulator.set_faults(None)
    # A wrong secret key: the service refuses the signature.
    use(emulator, monkeypatch, secret_key=KEY_CANARY)
    for argv in (
        ["plan", "tasks.yaml"],
        ["status", "tasks.yaml"],
        ["--debug", "apply", "tasks.yaml", "--auto-approve"],
    ):
        code, output = run(capsys, *argv)
        assert code == 1 and "error" in output, output
        outputs.append(output)
    # An invalid manifest whose error sits on the line of a secret, and a secret that cannot be read.
    text = (work / "tasks.yaml").read_text()
    (work / "bad.yaml").write_text(text.replace("port: 3306, user: u", "port: nope, user: u"))
    (work / "missing.yaml").write_text(text.replace("dst-pw", "absent-pw"))
    for argv in (["validate", "bad.yaml"], ["plan", "bad.yaml"], ["plan", "missing.yaml"], ["render", "bad.yaml"]):
        code, output = run(capsys, *argv)
        outputs.append(output)
        if argv[0] != "render":
            assert code == 1 and "error" in output, (argv, output)
    assert_no_canary(*outputs, *written_files(work))


# ---- a hostile or broken service -----------------------------------------------------------------------------

LEAKY_TASK = {
    "dtsId": "dtsmleak",
    "taskName": "sec-env",
    "status": "stopped",  # so that the reconfigure begins with the config call, which sends the passwords
    "srcConnection": {"dbHost": "10.0.0.1", "dbPort": 3306, "dbUser": "u", "dbPass": CANARY},
    "dstConnection": {"dbHost": "10.0.0.2", "dbPass": FILE_CANARY, "nested": [{"dbPass": CANARY}]},
    "extra": {"deep": {"deeper": [{"dbPass": FILE_CANARY}]}},
    "dataType": ["schema", "base", "increment"],
}


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_passwords_echoed_by_the_service_at_any_depth_go_nowhere(
    work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    page = json.dumps({"task": [LEAKY_TASK], "isTruncated": False}).encode()
    error = json.dumps({"code": "InvalidParameter", "message": "bad", "dbPass": CANARY, "requestId": "r-9"}).encode()
    # One page per list call: the client's, and status', plan's and apply's refreshes, each of which also lists
    # every other task type (bidirect, group, rollback) by name.
    lists = 5 + 3 * len(OTHER_TASK_TYPES)
    server = ScriptedServer([Answer(200, page)] * lists, default=Answer(400, error))
    monkeypatch.setenv("BCE_ACCESS_KEY_ID", "AK-sec")
    monkeypatch.setenv("BCE_SECRET_ACCESS_KEY", "sk-sec")
    monkeypatch.setenv("DTSFLOW_ENDPOINT", server.url)
    outputs = []
    with server.running():
        with HttpDtsClient(server.url, Credentials("AK-sec", "sk-sec"), trust_env=False) as client:
            tasks = client.list_tasks()  # what every command builds on: no password is held, at any depth
        assert_no_canary(repr(tasks), json.dumps([t.model_dump(mode="json", by_alias=True) for t in tasks]))
        status_format = "json" if fmt == "json" else "text"
        code, output = run(capsys, "status", "tasks.yaml", "--format", status_format)
        outputs.append(output)
        assert code == 0, output
        code, output = run(capsys, "plan", "tasks.yaml", "--format", fmt, "--reconfigure", "sec-env", "--out", "p.json")
        outputs.append(output)
        assert code == 0, output
        code, output = run(capsys, "apply", "p.json", "--auto-approve")  # its config is answered by the leaky error
        outputs.append(output)
        assert code == 1 and "InvalidParameter" in output, output
    assert any(CANARY in s.body.decode(errors="replace") for s in server.seen), "the config never sent the password"
    assert_no_canary(*outputs, *written_files(work))


# ---- path traversal --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    ["file:{secrets}/../outside", "file:secrets/../outside", "file:{secrets}/./../secrets/../outside"],
    ids=["absolute-dotdot", "relative-dotdot", "winding"],
)
def test_dotdot_out_of_the_secret_directory_is_refused_and_nothing_is_read(
    work: Path, capsys: pytest.CaptureFixture[str], reference: str
) -> None:
    (work / "outside").write_text(CANARY + "\n")
    ref = reference.format(secrets=work / "secrets")
    (work / "t.yaml").write_text((work / "tasks.yaml").read_text().replace(f"file:{work / 'secrets' / 'dst-pw'}", ref))
    code, output = run(capsys, "validate", "t.yaml")
    assert code == 1 and "refused" in output and "t.yaml" in output, output
    assert_no_canary(output)


# ---- an endless answer, through the whole command, under a memory limit --------------------------------------


class EndlessServer:
    """Answers every request with `200`, chunked, and a JSON body that never ends (until the client hangs up)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.sent = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        chunk = b'{"dtsId": "dtsmendless", "taskName": "x", "status": "running"}, ' * 1000
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    while b"\r\n\r\n" not in conn.recv(65536):
                        pass
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    )
                    head = b'{"isTruncated": false, "task": ['
                    conn.sendall(f"{len(head):x}\r\n".encode() + head + b"\r\n")
                    while True:
                        conn.sendall(framed)
                        self.sent += len(chunk)
                except OSError:
                    continue  # the client hung up: what it should do

    def __enter__(self) -> EndlessServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def test_an_endless_answer_ends_in_a_clear_error_with_bounded_memory(work: Path) -> None:
    """`dtsflow plan` against a service whose list answer never ends: refused once the answer passes its cap, under
    an address-space limit (the whole answer is never held), exit 1, no traceback."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("BCE_", "DTSFLOW_"))}
    env |= {"PYTHONPATH": str(REPO), "BCE_ACCESS_KEY_ID": "AK-e", "BCE_SECRET_ACCESS_KEY": "sk-e", "DB_PASS": CANARY}
    env |= {"DTSFLOW_SECRET_DIRS": str(work / "secrets"), "HOME": str(work)}
    with EndlessServer() as server:
        result = subprocess.run(
            [sys.executable, "-m", "dtsflow", "plan", "tasks.yaml", "--endpoint", server.url],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=limit,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "larger than" in output and "Traceback" not in output and "MemoryError" not in output, output
    assert server.sent >= 16 * 1024 * 1024  # it did read up to the cap, no further than the socket buffers
    assert_no_canary(output)
