"""`env()` reads only what the operator allows (DTSFLOW_VAR_* or --allow-env NAME), and validation messages never
echo a value the template rendered (unknown key, duplicate name, unknown dependency)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.foundation.conftest import CANARY, guarded_cli

TASK = """  - name: {name}
    standard: small
    src: {{instanceType: public, dbType: mysql, region: bj, host: h, port: 3306}}
    dst: {{instanceType: public, dbType: mysql, region: bj, host: h, port: 3306}}
    dataType: [schema]
    granularity: instance
"""


def _write(tmp_path: Path, body: str) -> str:
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\ntasks:\n" + body)
    return str(path)


@pytest.mark.parametrize("name", ["CI_REPOSITORY_URL", "DATABASE_URL", "ORDERS_PWD", "CI_JOB_JWT_V2", "HOME"])
def test_env_reads_only_allowed_names(tmp_path: Path, watched_endpoint: tuple[str, socket.socket], name: str) -> None:
    manifest = _write(tmp_path, TASK.format(name="t-{{ env('" + name + "') }}"))
    refused = guarded_cli("render", manifest, endpoint=watched_endpoint[0], **{name: "abc"})
    assert refused.returncode == 1
    assert f"env('{name}') is refused" in refused.stderr and f"--allow-env {name}" in refused.stderr
    assert "--var KEY=VALUE" in refused.stderr
    allowed = guarded_cli("render", manifest, "--allow-env", name, endpoint=watched_endpoint[0], **{name: "abc"})
    assert allowed.returncode == 0, allowed.stderr
    assert "name: t-abc" in allowed.stdout


def test_env_prefix_is_readable_and_dtsflow_settings_are_not(
    tmp_path: Path, watched_endpoint: tuple[str, socket.socket]
) -> None:
    endpoint = watched_endpoint[0]
    ok = _write(tmp_path, TASK.format(name="t-{{ env('DTSFLOW_VAR_SUFFIX') }}"))
    result = guarded_cli("validate", ok, endpoint=endpoint, DTSFLOW_VAR_SUFFIX="x1")
    assert result.returncode == 0, result.stderr
    for name in ("DTSFLOW_ENDPOINT", "BCE_SECRET_ACCESS_KEY"):
        bad = _write(tmp_path, TASK.format(name="t-{{ env('" + name + "') }}"))
        result = guarded_cli("validate", bad, "--allow-env", name, endpoint=endpoint, BCE_SECRET_ACCESS_KEY=CANARY)
        assert result.returncode == 1 and f"env('{name}') is refused" in result.stderr
        assert CANARY not in result.stdout + result.stderr


def test_rendered_values_are_not_echoed_in_messages(
    tmp_path: Path, watched_endpoint: tuple[str, socket.socket]
) -> None:
    secretish = "s3cret-looking-value"
    body = (
        TASK.format(name="{{ v }}")
        + "    '{{ v }}': 1\n"  # an unknown key the template rendered
        + TASK.format(name="{{ v }}")  # the same rendered name twice
        + TASK.format(name="holder")
        + "    dependsOn: ['{{ v }}x', missing-one]\n"
        + TASK.format(name="plain")
        + "    bogus: 2\n"  # an unknown key the user wrote: named
    )
    result = guarded_cli("validate", _write(tmp_path, body), "--var", f"v={secretish}", endpoint=watched_endpoint[0])
    assert result.returncode == 1
    assert secretish not in result.stderr
    assert "unknown key rendered by the template (its text is not shown)" in result.stderr
    assert "duplicate task name (rendered by the template; not shown)" in result.stderr
    assert "depends on a task name rendered by the template (not shown)" in result.stderr
    assert "unknown key 'bogus'" in result.stderr
    assert "depends on 'missing-one'" in result.stderr
