"""Secrets are scoped by the operator, not by the manifest: dtsflow's own credentials and files outside the
operator's secret directories are refused at validate time, with the line; `secret()` only in password fields."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from dtsflow.errors import ConfigError
from dtsflow.manifest.secrets import SecretPolicy
from tests.foundation.conftest import CANARY, assert_nobody_connected, guarded_cli

MANIFEST = """version: 1
tasks:
  - name: scoped
    standard: small
    src: {{instanceType: public, dbType: mysql, region: bj, host: {host}, port: 3306, user: u,
          password: "{{{{ secret('{secret}') }}}}"}}
    dst: {{instanceType: public, dbType: mysql, region: bj, host: h, port: 3306}}
    dataType: [schema]
    granularity: instance
"""


def _manifest(tmp_path: Path, secret: str, host: str = "h") -> str:
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST.format(secret=secret, host=host))
    return str(path)


@pytest.mark.parametrize("name", ["BCE_SECRET_ACCESS_KEY", "BCE_ACCESS_KEY_ID", "DTSFLOW_ENDPOINT", "bce_session"])
def test_dtsflow_credentials_are_refused_with_the_line(
    tmp_path: Path, watched_endpoint: tuple[str, socket.socket], name: str
) -> None:
    endpoint, server = watched_endpoint
    result = guarded_cli("validate", _manifest(tmp_path, name), endpoint=endpoint, BCE_SECRET_ACCESS_KEY=CANARY)
    assert result.returncode == 1
    assert f"m.yaml:6: $.tasks[0].src.password: secret('{name}') is refused" in result.stderr
    assert CANARY not in result.stdout + result.stderr
    assert_nobody_connected(server)


def test_the_credentials_file_is_refused_even_inside_a_secret_dir(
    tmp_path: Path, watched_endpoint: tuple[str, socket.socket]
) -> None:
    home = tmp_path / "home"
    (home / ".bce").mkdir(parents=True)
    (home / ".bce" / "config.json").write_text('{"ak": "x"}')
    result = guarded_cli(
        "validate",
        _manifest(tmp_path, "file:~/.bce/config.json"),
        "--secret-dir",
        str(home),
        endpoint=watched_endpoint[0],
        HOME=str(home),
    )
    assert result.returncode == 1
    assert "src.password: secret('file:~/.bce/config.json') is refused: it is the cloud credentials file" in (
        result.stderr
    )


def test_file_secrets_only_under_the_operators_dirs(
    tmp_path: Path, watched_endpoint: tuple[str, socket.socket]
) -> None:
    endpoint = watched_endpoint[0]
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "db").write_text("pw\n")
    outside = tmp_path / "elsewhere"
    outside.write_text("not a secret\n")
    (secrets / "link").symlink_to(outside)  # a link inside the directory to a file outside it
    home = str(tmp_path / "nohome")
    inside = _manifest(tmp_path, f"file:{secrets / 'db'}")

    default = guarded_cli("validate", inside, endpoint=endpoint, HOME=home)
    assert default.returncode == 1, default.stderr
    assert "file secrets are read only under the secret directories" in default.stderr
    assert "--secret-dir" in default.stderr
    assert guarded_cli("validate", inside, "--secret-dir", str(secrets), endpoint=endpoint, HOME=home).returncode == 0
    by_env = guarded_cli("validate", inside, endpoint=endpoint, HOME=home, DTSFLOW_SECRET_DIRS=str(secrets))
    assert by_env.returncode == 0, by_env.stderr
    # `..` and symbolic links are resolved before the check
    for ref in (f"file:{secrets}/../elsewhere", f"file:{secrets / 'link'}"):
        result = guarded_cli("validate", _manifest(tmp_path, ref), "--secret-dir", str(secrets), endpoint=endpoint)
        assert result.returncode == 1 and "is refused: file secrets are read only under" in result.stderr, ref


def test_default_secret_dir_is_under_home(tmp_path: Path, watched_endpoint: tuple[str, socket.socket]) -> None:
    home = tmp_path / "home"
    result = guarded_cli(
        "validate", _manifest(tmp_path, "file:~/.dtsflow/secrets/db"), endpoint=watched_endpoint[0], HOME=str(home)
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("field", ["host", "user"])
def test_secret_outside_a_password_field_is_refused(
    tmp_path: Path, watched_endpoint: tuple[str, socket.socket], field: str
) -> None:
    text = MANIFEST.format(secret="DB_PASS", host="h").replace(
        "user: u", "user: u" if field == "host" else "user: \"{{ secret('DB_USER') }}\""
    )
    if field == "host":
        text = text.replace("host: h, port: 3306, user", "host: \"db-{{ secret('DB_HOST') }}\", port: 3306, user")
    path = tmp_path / "m.yaml"
    path.write_text(text)
    result = guarded_cli("validate", str(path), endpoint=watched_endpoint[0])
    assert result.returncode == 1
    assert f"m.yaml:5: $.tasks[0].src.{field}: secret() belongs only in src.password or dst.password" in (result.stderr)


def test_secret_in_an_api_override_is_refused(tmp_path: Path, watched_endpoint: tuple[str, socket.socket]) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        MANIFEST.format(secret="DB_PASS", host="h") + "    api: {config: {note: \"{{ secret('DB_PASS') }}\"}}\n"
    )
    result = guarded_cli("validate", str(path), endpoint=watched_endpoint[0])
    assert result.returncode == 1
    assert "m.yaml:10: $.tasks[0].api.config.note: secret() belongs only in" in result.stderr


def test_resolve_refuses_what_validate_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A saved plan is checked again at apply: the policy holds at resolution too, and names no value."""
    monkeypatch.setenv("BCE_SECRET_ACCESS_KEY", CANARY)
    policy = SecretPolicy.from_operator([str(tmp_path)], env={})
    with pytest.raises(ConfigError, match="is refused") as info:
        policy.resolve("${secret:BCE_SECRET_ACCESS_KEY}")
    assert CANARY not in str(info.value)
    with pytest.raises(ConfigError, match="read only under the secret directories"):
        policy.resolve("${secret:file:/etc/hostname}")


def test_a_fifo_secret_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    policy = SecretPolicy.from_operator([str(tmp_path)], env={})
    with pytest.raises(ConfigError, match="not a regular file"):
        policy.resolve(f"${{secret:file:{fifo}}}")
