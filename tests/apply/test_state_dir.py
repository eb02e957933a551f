"""`.dtsflow/` is dtsflow's, not the repository's: a state directory or file that is a link, someone else's, not
private or tracked by git is refused before any request; a journal record never makes apply take over a live
task that does not match the create the plan showed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from tests.apply.conftest import Env, task
from tests.rawapi import create_body


def _refused(env: Env, manifest: str, why: str) -> None:
    result = env.apply(manifest, "--auto-approve")
    assert result.returncode == 1, result.stdout + result.stderr
    assert why in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert env.stats().get("total", 0) == 0  # refused before any request


def test_a_linked_state_dir_is_refused(env: Env, tmp_path_factory: pytest.TempPathFactory) -> None:
    manifest = env.write([task("orders")])
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    elsewhere.chmod(0o700)
    (env.cwd / ".dtsflow").symlink_to(elsewhere)
    _refused(env, manifest, ".dtsflow: is a symbolic link")
    assert list(elsewhere.iterdir()) == []  # nothing was written through the link


def test_a_state_dir_that_is_a_file_is_refused(env: Env) -> None:
    manifest = env.write([task("orders")])
    (env.cwd / ".dtsflow").write_text("not a directory\n")
    _refused(env, manifest, ".dtsflow: exists and is not a directory")


def test_a_state_dir_open_to_others_is_refused(env: Env) -> None:
    manifest = env.write([task("orders")])
    (env.cwd / ".dtsflow").mkdir(mode=0o755)
    (env.cwd / ".dtsflow").chmod(0o755)
    _refused(env, manifest, ".dtsflow: is accessible to group or others (mode 0755)")


def test_linked_state_files_are_refused(env: Env, tmp_path_factory: pytest.TempPathFactory) -> None:
    manifest = env.write([task("orders")])
    state = env.cwd / ".dtsflow"
    state.mkdir(mode=0o700)
    target = tmp_path_factory.mktemp("t") / "victim"
    target.write_text("keep\n")
    for name in ("apply.lock", "journal"):
        (state / name).symlink_to(target)
        _refused(env, manifest, f".dtsflow/{name}: is a symbolic link")
        (state / name).unlink()
    assert target.read_text() == "keep\n"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_state_dir_tracked_by_git_is_refused(env: Env) -> None:
    manifest = env.write([task("orders")])
    state = env.cwd / ".dtsflow"
    state.mkdir(mode=0o700)
    journal = state / "journal"
    journal.write_text("")
    journal.chmod(0o600)
    git = {"GIT_CONFIG_GLOBAL": os.devnull, "HOME": str(env.cwd), "PATH": os.environ.get("PATH", "")}
    subprocess.run(["git", "init", "-q"], cwd=env.cwd, check=True, env=git)
    subprocess.run(["git", "add", "-f", ".dtsflow/journal"], cwd=env.cwd, check=True, env=git)
    _refused(env, manifest, ".dtsflow: is tracked by git")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_a_state_dir_owned_by_another_user_is_refused(env: Env) -> None:
    manifest = env.write([task("orders")])
    (env.cwd / ".dtsflow").mkdir(mode=0o700)
    os.chown(env.cwd / ".dtsflow", 65534, 65534)
    _refused(env, manifest, ".dtsflow: is owned by another user (uid 65534)")


def test_a_journal_record_never_takes_over_a_task_that_does_not_match(env: Env) -> None:
    """A committed (or stale) journal names somebody's unconfigured task: apply creates its own task instead."""
    with HttpDtsClient(env.url, Credentials(env.access_key, env.secret_key), trust_env=False) as client:
        foreign = create_body(standard="small", sourceInstanceType="bcerds")
        dts_id = client.create_task(foreign, client_token="someone-else")
    state = env.cwd / ".dtsflow"
    state.mkdir(mode=0o700)
    record = {"v": 1, "op": "created", "task": "orders", "token": "t", "generation": 0, "dts_id": dts_id, "time": 1}
    (state / "journal").write_text(json.dumps(record) + "\n")
    (state / "journal").chmod(0o600)
    result = env.apply(env.write([task("orders")]), "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    tasks = {t["dtsId"]: t for t in env.tasks()}
    assert tasks[dts_id].get("taskName", "") == ""  # the foreign task was left alone
    assert [t for t in tasks.values() if t.get("taskName") == "orders"]
