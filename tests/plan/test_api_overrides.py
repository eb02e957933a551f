"""What is sent is what was shown: `api.create`/`api.config` overrides appear in text, markdown and JSON plans as
they will be sent, marked as overrides; overriding a field dtsflow models is refused with the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli

MANIFEST = """version: 1
tasks:
  - name: orders
    standard: small
    src: {{instanceType: public, dbType: mysql, region: bj, host: db.internal, port: 3306}}
    dst: {{instanceType: public, dbType: mysql, region: bj, host: dst.internal, port: 3306}}
    dataType: [schema]
    granularity: instance
    api:
{api}
"""


def _write(tmp_path: Path, api: str) -> str:
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST.format(api=api))
    return str(path)


@pytest.mark.parametrize(
    ("api", "field"),
    [
        ("      create: {standard: xlarge}", "api.create cannot override standard"),
        ("      create: {crossRegionTag: 1}", "api.create cannot override crossRegionTag"),
        ("      create: {orderInfo: {src: {region: gz}}}", "api.create cannot override orderInfo.src.region"),
        ("      config: {taskName: other}", "api.config cannot override taskName"),
        ("      config: {srcConnection: {dbHost: evil.example}}", "api.config cannot override srcConnection.dbHost"),
        ("      config: {dstConnection: {dbPort: 1}}", "api.config cannot override dstConnection.dbPort"),
        ("      config: {srcConnection: {dbUser: root}}", "api.config cannot override srcConnection.dbUser"),
        ("      config: {dstConnection: {dbPass: x}}", "api.config cannot override dstConnection.dbPass"),
        ("      config: {srcConnection: {instanceType: bcerds}}", "srcConnection.instanceType"),
        ("      config: {srcConnection: evil}", "api.config cannot override srcConnection:"),
        (  # modelled now: the message names the manifest key
            "      config: {srcConnection: {field_whitelist: 'a.b[c];'}}",
            "cannot override srcConnection.field_whitelist: dtsflow builds it from the manifest, so the plan shows it; "
            "set it in the manifest as columns.include",
        ),
        ("      config: {incrIgnoreType: drop}", "set it in the manifest as ignoreDdl"),
    ],
)
def test_overriding_a_modelled_field_is_refused(tmp_path: Path, api: str, field: str) -> None:
    result = run_cli("validate", _write(tmp_path, api))
    assert result.returncode == 1
    assert "m.yaml:10: $.tasks[0].api." in result.stderr
    assert field in result.stderr


def test_overrides_are_shown_as_sent_in_every_format(tmp_path: Path) -> None:
    api = '      config: {dstConnection: {dbServer: "s[1]"}, admin: kafka}\n      create: {note: x}'
    manifest = _write(tmp_path, api)
    assert run_cli("validate", manifest).returncode == 0
    shown = '{"admin": "kafka", "dstConnection": {"dbServer": "s[1]"}}'
    for fmt in ("text", "markdown"):
        result = run_cli("plan", manifest, "--emulator", "--format", fmt, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"api.config override (sent as is): {shown}" in result.stdout
        assert 'api.create override (sent as is): {"note": "x"}' in result.stdout
    result = run_cli("plan", manifest, "--emulator", "--format", "json", cwd=tmp_path)
    spec = json.loads(result.stdout)["changes"][0]["spec"]
    assert spec["api"] == {"config": json.loads(shown), "create": {"note": "x"}}


def test_the_embedded_emulator_state_is_private_and_reused(tmp_path: Path) -> None:
    """`--emulator` twice in one directory: its state file is created 0600, so the second run trusts it."""
    manifest = _write(tmp_path, "      create: {note: x}")
    for _ in range(2):
        result = run_cli("plan", manifest, "--emulator", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    state = tmp_path / ".dtsflow"
    modes = {p.name: p.stat().st_mode & 0o777 for p in state.iterdir()}
    assert modes["emulator.sqlite3"] == 0o600
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes
    assert state.stat().st_mode & 0o777 == 0o700
