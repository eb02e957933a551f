"""`render`, `validate` argument handling and the packaged schema location, through the CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.foundation.conftest import guarded_cli
from tests.helpers import REPO

NO_NET = "http://127.0.0.1:9"


def test_render_numbers_lines_and_shows_references(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text("version: 1\n{% for i in range(2) %}\n# shard {{ i }} on {{ host }}\n{% endfor %}\n")
    other = tmp_path / "n.yaml"
    other.write_text("password: \"{{ secret('DB_PW') }}\"\n")
    result = guarded_cli("render", str(manifest), str(other), "--var", "host=db1", endpoint=NO_NET)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"==> {manifest} <==",
        "  1 | version: 1",
        "  2 | ",
        "  3 | # shard 0 on db1",
        "  4 | ",
        "  5 | # shard 1 on db1",
        "  6 | ",
        "",
        f"==> {other} <==",
        '  1 | password: "${secret:DB_PW}"',
    ]


def test_render_reports_template_errors(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text("version: 1\nregion: {{ regoin }}\n")
    result = guarded_cli("render", str(manifest), endpoint=NO_NET)
    assert result.returncode == 1
    assert f"{manifest}:2: undefined template variable: 'regoin' is undefined" in result.stderr
    assert "  > 2 | region: {{ regoin }}" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    missing = guarded_cli("validate", str(tmp_path / "nope.yaml"), endpoint=NO_NET)
    assert missing.returncode == 1 and "nope.yaml: no such file or directory" in missing.stderr
    empty_dir = guarded_cli("validate", str(tmp_path), endpoint=NO_NET)
    assert empty_dir.returncode == 1 and "directory holds no *.yaml or *.yml manifest" in empty_dir.stderr
    bad_var = guarded_cli("validate", str(REPO / "examples"), "--var", "novalue", endpoint=NO_NET)
    assert bad_var.returncode == 1 and "--var needs KEY=VALUE" in bad_var.stderr
    for result in (missing, empty_dir, bad_var):
        assert "Traceback" not in result.stderr


def test_line_numbers_after_a_loop_come_with_a_rendered_excerpt(tmp_path: Path) -> None:
    manifest = tmp_path / "loop.yaml"
    manifest.write_text(
        "version: 1\n"
        "tasks:\n"
        "{% for i in range(2) %}\n"
        "  - name: t{{ i }}\n"
        "    standard: {{ 'huge' if i == 1 else 'small' }}\n"
        "    src: {instanceType: public, dbType: mysql, region: bj, host: h, port: 1}\n"
        "    dst: {instanceType: public, dbType: mysql, region: bj, host: h, port: 1}\n"
        "    dataType: [schema]\n"
        "    granularity: instance\n"
        "{% endfor %}\n"
    )
    result = guarded_cli("validate", str(manifest), endpoint=NO_NET)
    assert result.returncode == 1
    assert f"{manifest}:12: $.tasks[1].standard: standard must be one of" in result.stderr
    assert "  > 12 |     standard: huge" in result.stderr


def test_schema_is_found_inside_an_installed_package(tmp_path: Path) -> None:
    """The wheel force-includes `schemas/` as `dtsflow/schemas/`: that layout must be found without a checkout."""
    shutil.copytree(REPO / "dtsflow", tmp_path / "dtsflow", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "schemas", tmp_path / "dtsflow" / "schemas")
    code = "from dtsflow.manifest.schema import schema_file; print(schema_file())"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path)},
        cwd=tmp_path,
        timeout=60,
    )
    assert result.stdout.strip() == str(tmp_path / "dtsflow" / "schemas" / "manifest.schema.json"), result.stderr


LOOP = """version: 1
tasks:
{% for i in range(300) %}
  - name: shard-{{ i }}
    standard: large
    dataType: [base]
    granularity: instance
    src: {instanceType: public, dbType: mysql, region: bj, host: h, port: 3306}
    dst: {instanceType: public, dbType: mysql, region: bj, host: g, port: 99999}
    api: {create: {zzzz: 1}}
{% endfor %}
"""


def test_one_mistake_in_a_300_task_loop_is_one_problem_with_its_count(tmp_path: Path) -> None:
    manifest = tmp_path / "loop.yaml"
    manifest.write_text(LOOP)
    result = guarded_cli("validate", str(manifest), endpoint=NO_NET)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if ": $.tasks[" in line and "warning" not in line]
    assert len(errors) == 1, result.stderr
    assert result.stderr.startswith("error: invalid manifest:\n")
    assert errors[0].endswith(
        ":9: $.tasks[0].dst.port: must be at most 65535 (and the same in 299 more task(s): $.tasks[1] at line 17, "
        "$.tasks[2] at line 25, $.tasks[3] at line 33, ...)"
    )
    manifest.write_text(LOOP.replace("99999", "3306"))
    warned = guarded_cli("validate", str(manifest), endpoint=NO_NET)
    assert warned.returncode == 0, warned.stdout + warned.stderr
    warnings = [line for line in warned.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "api.create.zzzz" in warnings[0] and "299 more task(s)" in warnings[0], warnings
