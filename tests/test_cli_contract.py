"""The CLI contract through the real CLI: exit codes (usage errors are 1, never 2; Ctrl-C is 130), where the endpoint and
the credentials may come from, and `~/.bce/config.json` permissions. Offline cases run under the network guard of
the foundation tests, so "refused before any request" is proven, not assumed. Every run here starts a new
interpreter (`fork=False`): this is where `python -m dtsflow` itself is tested, not a fork of it."""

from __future__ import annotations

import ast
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dtsflow.emulator import start_in_thread
from tests.client.scripted_server import Answer, ScriptedServer
from tests.helpers import REPO, run_cli

NETGUARD = REPO / "tests" / "foundation" / "netguard"
MANIFEST = """version: 1
tasks:
  - name: contract-a
    standard: small
    src: {instanceType: public, dbType: mysql, region: bj, host: h, port: 3306}
    dst: {instanceType: public, dbType: mysql, region: bj, host: h2, port: 3306}
    dataType: [schema]
    granularity: instance
"""


@pytest.fixture()
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST)
    return path


def offline(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI with every network attempt turned into exit 99 and an empty home directory."""
    base = {"PYTHONPATH": os.pathsep.join([str(NETGUARD), str(REPO)]), "HOME": str(cwd)}
    result = run_cli(*args, cwd=cwd, env={**base, **env}, fork=False)
    assert "NETWORK ATTEMPT" not in result.stderr and result.returncode != 99, result.stderr
    assert "Traceback" not in result.stderr
    return result


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["--nope"],
        ["plan"],
        ["plan", "m.yaml", "--detailed-exitcode", "--format", "xml"],
        ["plan", "m.yaml", "--detailed-exitcode", "--no-such-flag"],
        ["apply", "m.yaml", "--parallelism", "many"],
        ["status"],
        ["emulator", "--port", "http"],
    ],
)
def test_usage_errors_exit_1_never_2(tmp_path: Path, manifest: Path, argv: list[str]) -> None:
    result = offline(*argv, cwd=tmp_path)
    assert result.returncode == 1, (argv, result.stdout, result.stderr)
    # Exit 1 is also what a crash gives ("internal error: ..."): a usage error shows the usage and says what
    # was wrong with the command line, and nothing else happened.
    output = result.stderr + result.stdout
    assert output.startswith("usage: dtsflow"), (argv, output)
    assert "internal error" not in output
    if argv:
        assert re.search(r"^dtsflow( \w+)?: error: ", result.stderr, re.MULTILINE), (argv, result.stderr)


def test_version_and_module_entry_point(tmp_path: Path) -> None:
    from dtsflow import __version__

    result = offline("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"dtsflow {__version__}\n")


@pytest.mark.parametrize("command", ["plan", "status", "apply"])
def test_missing_credentials_against_a_real_endpoint_mention_the_emulator(
    tmp_path: Path, manifest: Path, command: str
) -> None:
    extra = ["--auto-approve"] if command == "apply" else []
    result = offline(command, str(manifest), *extra, cwd=tmp_path)
    assert result.returncode == 1
    assert "no BCE credentials" in result.stderr and "--emulator" in result.stderr


@pytest.mark.parametrize(
    ("flag", "env"),
    [
        (["--endpoint", "http://10.1.2.3:8470"], {}),
        ([], {"DTSFLOW_ENDPOINT": "http://dts.example.com"}),
    ],
)
def test_plain_http_to_a_non_loopback_host_is_refused_before_any_request(
    tmp_path: Path, manifest: Path, flag: list[str], env: dict[str, str]
) -> None:
    creds = {"BCE_ACCESS_KEY_ID": "ak", "BCE_SECRET_ACCESS_KEY": "CANARY-sk-contract"}
    result = offline("plan", str(manifest), *flag, cwd=tmp_path, **creds, **env)
    assert result.returncode == 1
    assert "plain http" in result.stderr and "--allow-insecure-http" in result.stderr
    assert "CANARY-sk-contract" not in result.stdout + result.stderr


def test_a_manifest_cannot_choose_the_endpoint(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("endpoint: http://attacker.example\n" + MANIFEST)
    result = offline("plan", str(path), cwd=tmp_path, BCE_ACCESS_KEY_ID="ak", BCE_SECRET_ACCESS_KEY="sk")
    assert result.returncode == 1
    assert f"{path}:1: $.endpoint: unknown key 'endpoint'" in result.stderr


def _write_profile(home: Path, access_key: str, secret_key: str, mode: int) -> Path:
    config = home / ".bce" / "config.json"
    config.parent.mkdir(exist_ok=True)
    config.write_text(
        '{"current": "work", "profiles": [{"name": "work", "mode": "AK", '
        f'"access_key_id": "{access_key}", "secret_access_key": "{secret_key}"}}]}}'
    )
    config.chmod(mode)
    return config


def test_bce_config_profile_is_used_and_refused_when_others_can_read_it(tmp_path: Path, manifest: Path) -> None:
    secret = "CANARY-profile-sk-5d1"
    with start_in_thread(access_key="AK-profile", secret_key=secret, time_scale=0.0) as emu:
        config = _write_profile(tmp_path, "AK-profile", secret, 0o600)
        env = {"HOME": str(tmp_path), "DTSFLOW_ENDPOINT": emu.url}
        used = run_cli("plan", str(manifest), "--detailed-exitcode", cwd=tmp_path, env=env, fork=False)
        assert used.returncode == 2, used.stderr  # signed with the profile's keys: the emulator accepted them
        for mode in (0o640, 0o604, 0o620):
            config.chmod(mode)
            refused = run_cli("plan", str(manifest), cwd=tmp_path, env=env, fork=False)
            assert refused.returncode == 1
            assert "too open" in refused.stderr and "chmod 600" in refused.stderr, oct(mode)
            assert secret not in refused.stdout + refused.stderr
        config.chmod(0o600)
        env_wins = run_cli(
            "plan",
            str(manifest),
            cwd=tmp_path,
            env={**env, "BCE_ACCESS_KEY_ID": "x", "BCE_SECRET_ACCESS_KEY": "y"},
            fork=False,
        )
        assert env_wins.returncode == 1 and "InvalidAccessKeyId" in env_wins.stderr


def test_plan_output_file_is_owner_only_even_when_it_existed(tmp_path: Path, manifest: Path) -> None:
    out = tmp_path / "plan.json"
    out.write_text("old")
    out.chmod(0o644)
    result = run_cli("plan", str(manifest), "--emulator", "-o", str(out), cwd=tmp_path, fork=False)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert '"format_version"' in out.read_text()


def test_ctrl_c_during_plan_exits_130_without_a_traceback(tmp_path: Path, manifest: Path) -> None:
    hanging = Answer(200, b'{"task": [], "isTruncated": false}', delay=30)
    with ScriptedServer([], default=hanging).running() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
        env |= {"PYTHONPATH": str(REPO), "BCE_ACCESS_KEY_ID": "ak", "BCE_SECRET_ACCESS_KEY": "sk"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "dtsflow", "plan", str(manifest), "--endpoint", server.url],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not server.seen and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert server.seen, "plan never reached the server"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", [["render", "examples"], ["schema"], ["validate", "examples"]])
def test_a_reader_that_goes_away_is_no_crash(command: list[str]) -> None:
    """`dtsflow ... | head`: the pipe closes before dtsflow writes; a quiet exit, no traceback, no internal error."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dtsflow", *command],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the child has written anything
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) in (0, 1)
    assert "Traceback" not in err and "internal error" not in err and "Exception ignored" not in err, err


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_is_accepted_before_or_after_the_command(tmp_path: Path, where: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 2\n")
    argv = ["--debug", "validate", str(path)] if where == "before" else ["validate", str(path), "--debug"]
    result = run_cli(*argv, cwd=tmp_path, fork=False)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and f"{path}:1: $.version: must be 1" in result.stderr


# --- every error dtsflow can print is in docs/troubleshooting.md ------------------------------------------------

ERROR_FAMILY = {"DtsflowError", "ConfigError", "PlanError", "StalePlanError", "ApiError", "ManifestError"}
TROUBLESHOOTING = REPO / "docs" / "troubleshooting.md"


def _message_skeleton(node: ast.expr) -> list[str | None]:
    """The constant pieces of a message expression, with None where a value is filled in."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else None for v in node.values]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [*_message_skeleton(node.left), None, *_message_skeleton(node.right)]
    return [None]


def _raised_messages() -> list[tuple[str, list[str]]]:
    """(where, constant fragments) of every `raise SomeDtsflowError("...")` outside the emulator's internals."""
    found = []
    for path in sorted((REPO / "dtsflow").rglob("*.py")):
        if "emulator" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            call = node.exc if isinstance(node, ast.Raise) else None
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.args):
                continue
            if call.func.id not in ERROR_FAMILY:
                continue
            pieces = [" ".join(p.split()) for p in _message_skeleton(call.args[0]) if p]
            fragments = [p.strip(" :;,") for p in pieces if len(p.strip(" :;,")) >= 4]
            if fragments:
                found.append((f"{path.relative_to(REPO)}:{node.lineno}", fragments))
    return found


def test_every_error_message_is_explained_in_the_troubleshooting_page() -> None:
    page = " ".join(TROUBLESHOOTING.read_text(encoding="utf-8").split())
    messages = _raised_messages()
    assert len(messages) > 40  # the walk found the raises
    missing = []
    for where, fragments in messages:
        pattern = ".{0,160}?".join(re.escape(f) for f in fragments)
        if not re.search(pattern, page):
            missing.append(f"{where}: {' … '.join(fragments)}")
    assert not missing, (
        "docs/troubleshooting.md does not explain these errors (add each message, with … for its variable parts, "
        "and what to do):\n" + "\n".join(missing)
    )
