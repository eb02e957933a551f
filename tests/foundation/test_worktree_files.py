"""No file outside the work tree through a symlink (manifests, directory entries, --var-file), no blocking on a
FIFO, and error excerpts of a file that failed to parse show only the located line, redacted."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.foundation.conftest import CANARY, guarded_cli

TASK = """version: 1
tasks:
  - name: t-{{ region }}
    standard: small
    src: {instanceType: public, dbType: mysql, region: bj, host: h, port: 3306}
    dst: {instanceType: public, dbType: mysql, region: bj, host: h, port: 3306}
    dataType: [schema]
    granularity: instance
"""


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """A work tree (`repo/`) and, outside it, a credentials-like file holding the canary."""
    repo = tmp_path / "repo"
    (repo / "manifests").mkdir(parents=True)
    (repo / "manifests" / "m.yaml").write_text(TASK)
    (repo / "vars").mkdir()
    (repo / "vars" / "ok.yaml").write_text("region: bj\n")
    secret = tmp_path / "home" / ".bce" / "config.json"
    secret.parent.mkdir(parents=True)
    secret.write_text('{"region": "' + CANARY + '", "secret_access_key": "' + CANARY + '"}\n')
    return repo, secret


def _cli(repo: Path, endpoint: str, *args: str) -> tuple[int, str]:
    result = guarded_cli(*args, endpoint=endpoint, cwd=repo)
    output = result.stdout + result.stderr
    assert CANARY not in output
    assert "Traceback" not in output
    return result.returncode, output


def test_a_var_file_linked_outside_the_tree_is_refused(
    tree: tuple[Path, Path], watched_endpoint: tuple[str, socket.socket]
) -> None:
    repo, secret = tree
    assert _cli(repo, watched_endpoint[0], "render", "manifests", "--var-file", "vars/ok.yaml")[0] == 0
    (repo / "vars" / "prod.yaml").symlink_to(secret)
    for command in ("render", "validate"):
        code, output = _cli(repo, watched_endpoint[0], command, "manifests", "--var-file", "vars/prod.yaml")
        assert code == 1
        assert (
            "vars/prod.yaml: --var-file is a symbolic link that leads outside the directory dtsflow runs in" in output
        )


def test_a_linked_directory_is_refused(tree: tuple[Path, Path], watched_endpoint: tuple[str, socket.socket]) -> None:
    repo, secret = tree
    (repo / "linked").symlink_to(secret.parent)
    code, output = _cli(repo, watched_endpoint[0], "validate", "manifests", "--var-file", "linked/config.json")
    assert code == 1 and "leads outside the directory dtsflow runs in" in output
    code, output = _cli(repo, watched_endpoint[0], "validate", "linked")
    assert code == 1 and "linked: is a symbolic link that leads outside" in output


def test_manifest_links_outside_the_tree_are_refused(
    tree: tuple[Path, Path], watched_endpoint: tuple[str, socket.socket]
) -> None:
    repo, secret = tree
    (repo / "manifests" / "creds.yaml").symlink_to(secret)
    code, output = _cli(repo, watched_endpoint[0], "validate", "manifests", "--var", "region=bj")
    assert code == 1 and "manifests/creds.yaml: is a symbolic link that leads outside" in output
    code, output = _cli(repo, watched_endpoint[0], "render", "manifests/creds.yaml")
    assert code == 1 and "is a symbolic link that leads outside" in output
    # a link that stays inside the tree is fine
    (repo / "manifests" / "creds.yaml").unlink()
    (repo / "manifests" / "alias.yaml").symlink_to(repo / "manifests" / "m.yaml")
    code, output = _cli(repo, watched_endpoint[0], "validate", "manifests/alias.yaml", "--var", "region=bj")
    assert code == 0, output


def test_a_fifo_manifest_does_not_block(tree: tuple[Path, Path], watched_endpoint: tuple[str, socket.socket]) -> None:
    repo, _ = tree
    os.mkfifo(repo / "manifests" / "pipe.yaml")
    code, output = _cli(repo, watched_endpoint[0], "validate", "manifests/pipe.yaml")
    assert code == 1 and "pipe.yaml: not a regular file" in output


def test_a_file_that_fails_to_parse_shows_only_the_located_line(
    tmp_path: Path, watched_endpoint: tuple[str, socket.socket]
) -> None:
    lines = [
        "version: 1",
        f"aws_secret_access_key = {CANARY}",  # key = value lines
        f"export DB_PWD={CANARY}",
        f"url: https://admin:{CANARY}@db.example",
        "tasks: [",  # the YAML error is located here or after
        f"  token = {CANARY}",
        f"  plain_neighbour: {CANARY}",
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text("\n".join(lines) + "\n")
    result = guarded_cli("validate", str(bad), endpoint=watched_endpoint[0])
    assert result.returncode == 1
    assert CANARY not in result.stderr
    shown = [line for line in result.stderr.splitlines() if " | " in line]
    assert len(shown) == 1, result.stderr  # the located line only, no neighbours
