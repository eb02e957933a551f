"""A canary secret never reaches any output; `validate` never imports a network library; `--help` stays light."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.foundation.conftest import CANARY, assert_nobody_connected, guarded_cli
from tests.helpers import REPO

MANIFEST = """version: 1
tasks:
  - name: canary-task
    standard: small
    src: {{instanceType: public, dbType: mysql, region: bj, host: h, port: 3306, user: u,
          password: "{{{{ secret('CANARY_PASSWORD') }}}}"}}
    dst: {{instanceType: public, dbType: mysql, region: bj, host: h, port: 3306{dst_extra}}}
    dataType: [schema]
    granularity: instance
"""


def _all_output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def test_canary_never_printed(tmp_path: Path, watched_endpoint: tuple[str, socket.socket]) -> None:
    endpoint, server = watched_endpoint
    good = tmp_path / "good.yaml"
    good.write_text(MANIFEST.format(dst_extra=""))
    literal = tmp_path / "literal.yaml"  # a password value written where a reference belongs
    literal.write_text(MANIFEST.format(dst_extra=f", password: {CANARY}"))
    syntax = tmp_path / "syntax.yaml"  # a YAML error right next to the literal password: only the error's line shows
    syntax.write_text(MANIFEST.format(dst_extra=f", password: {CANARY}").replace("granularity: instance", "- ]"))
    short = tmp_path / "short.yaml"  # a quoted literal shorter than the reference pattern
    short.write_text(MANIFEST.format(dst_extra=f', password: "{CANARY}"'))
    runs = {
        "render good": guarded_cli("render", str(good), endpoint=endpoint),
        "validate good": guarded_cli("validate", str(good), endpoint=endpoint),
        "validate literal": guarded_cli("validate", str(literal), endpoint=endpoint),
        "validate syntax": guarded_cli("validate", str(syntax), endpoint=endpoint),
        "validate short": guarded_cli("validate", str(short), endpoint=endpoint),
        "render literal": guarded_cli("render", str(literal), endpoint=endpoint),
        "debug literal": guarded_cli("--debug", "validate", str(literal), endpoint=endpoint),
    }
    assert runs["render good"].returncode == 0 and "${secret:CANARY_PASSWORD}" in runs["render good"].stdout
    assert runs["validate good"].returncode == 0
    assert runs["validate literal"].returncode == 1 and "must be a secret reference" in runs["validate literal"].stderr
    assert runs["validate syntax"].returncode == 1 and "> 9 |     - ]" in runs["validate syntax"].stderr
    assert "password" not in runs["validate syntax"].stderr
    assert runs["render literal"].returncode == 0 and "password: <redacted>" in runs["render literal"].stdout
    for name, result in runs.items():
        assert CANARY not in _all_output(result), name
        assert "Traceback" not in _all_output(result) or name.startswith("debug"), name
    assert_nobody_connected(server)


def test_validate_imports_no_network_library() -> None:
    code = (
        "import sys\n"
        "from dtsflow.cli import main\n"
        f"rc = main(['validate', {str(REPO / 'examples')!r}])\n"
        "print(rc, sorted(m for m in ('httpx', 'httpcore', 'dtsflow.client', 'ssl') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(REPO)}, timeout=60
    )
    assert result.stdout.splitlines()[-1] == "0 []", result.stdout + result.stderr


def test_help_imports_no_heavy_library() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dtsflow", "--help"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "dtsflow.cli" in imported
    heavy = {"httpx", "jinja2", "pydantic", "jsonschema", "yaml"}
    assert not {name for name in imported if name.split(".")[0] in heavy}


def test_version_and_help() -> None:
    from dtsflow import __version__

    version = guarded_cli("--version", endpoint="http://127.0.0.1:9")
    assert version.returncode == 0 and version.stdout.strip() == f"dtsflow {__version__}"
    helped = guarded_cli("validate", "--help", endpoint="http://127.0.0.1:9")
    assert helped.returncode == 0 and "--var-file" in helped.stdout
