"""Errors in the format a command was asked for, through the real CLI: `validate --format json|github`, and
`plan --format json|markdown`, `apply --format json`, `status --format json` that stop on an invalid manifest (a
document on stdout, exit 1, no request). Hostile manifests cannot inject GitHub workflow commands or markdown."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.apply.conftest import Env, task
from tests.helpers import run_cli

BAD = "version: 1\ntasks:\n  - name: a\n    state: flying\n"


def _write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return name


def _valid_with_a_warning(tmp_path: Path) -> str:
    body = task("orders", api={"config": {"queueTyp": "kafka"}})  # not a documented field: a warning
    body["src"]["password"] = '{{ secret("DB_PASS") }}'
    return _write(tmp_path, "ok.yaml", yaml.safe_dump({"version": 1, "tasks": [body]}, sort_keys=False))


def test_validate_json_valid_and_invalid(tmp_path: Path) -> None:
    ok = _valid_with_a_warning(tmp_path)
    result = run_cli("validate", ok, "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["valid"] is True and body["files"] == 1 and body["tasks"] == 1 and body["errors"] == []
    [warning] = body["warnings"]
    assert warning["file"] == "ok.yaml" and warning["path"] == "$.tasks[0].api.config.queueTyp"
    assert "did you mean queueType" in warning["message"] and isinstance(warning["line"], int)
    assert "warning:" not in result.stderr  # reported in the document, not twice

    broken = _write(tmp_path, "broken.yaml", "version: 1\ntasks: [\n")
    bad = _write(tmp_path, "bad.yaml", BAD)
    result = run_cli("validate", bad, broken, "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    body = json.loads(result.stdout)  # the whole of stdout is one document
    assert body["valid"] is False and body["error"].startswith("invalid manifests")
    by_path = {(e["file"], e["path"]): e for e in body["errors"]}
    state = by_path[("bad.yaml", "$.tasks[0].state")]
    assert state["line"] == 4 and state["message"].startswith("must be one of")
    syntax = by_path[("broken.yaml", None)]
    assert syntax["line"] == 3 and syntax["column"] == 1 and syntax["message"].startswith("YAML syntax error")
    assert "error: invalid manifests" in result.stderr  # the usual lines for people, on stderr


def test_validate_github_annotations(tmp_path: Path) -> None:
    ok = _valid_with_a_warning(tmp_path)
    result = run_cli("validate", ok, "--format", "github", cwd=tmp_path)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("::warning file=ok.yaml,line=") and ",title=dtsflow::$.tasks[0].api.config" in lines[0]
    assert lines[1] == "1 task in 1 file are valid"

    _write(tmp_path, "broken.yaml", "version: 1\ntasks: [\n")
    result = run_cli("validate", _write(tmp_path, "bad.yaml", BAD), "broken.yaml", "--format", "github", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert all(line.startswith("::error ") for line in lines), lines
    assert "::error file=bad.yaml,line=4,title=dtsflow::$.tasks[0].state: must be one of 'ready'" in result.stdout
    assert "::error file=broken.yaml,line=3,col=1,title=dtsflow::YAML syntax error: " in result.stdout


def test_a_hostile_manifest_cannot_inject_workflow_commands(tmp_path: Path) -> None:
    # A file name with a newline, `%`, `,` and `:`; a key that carries `%0A` (which the runner would decode).
    name = "evil\n::error file=x::pwned%0A,line=9:.yaml"
    (tmp_path / name).write_text("version: 1\ntasks:\n  - name: a\n    'k%0A::warning::pwned\\r': 1\n")
    result = run_cli("validate", name, "--format", "github", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("::error file=evil%0A%3A%3Aerror file=x%3A%3Apwned%250A%2Cline=9%3A.yaml")
                         for line in lines), lines  # fmt: skip
    unknown = next(line for line in lines if "unknown key" in line)
    # In the message `:` and `,` may stay (only the properties end at them); `%` never survives unescaped.
    assert "k%250A::warning::pwned" in unknown
    for line in lines:
        message = line.split("::", 2)[2]
        assert "%" not in message.replace("%25", "").replace("%0A", "").replace("%0D", "")


def test_plan_json_and_markdown_report_an_invalid_manifest(env: Env) -> None:
    bad = _write(env.cwd, "bad.yaml", BAD + "    '<img src=x>|@team': 1\n")
    env.reset_stats()
    result = env.cli("plan", bad, "--format", "json")
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body["format_version"] == "1" and body["error"].startswith("invalid manifest")
    assert any(e["path"] == "$.tasks[0].state" and e["line"] == 4 for e in body["errors"])

    result = env.cli("plan", bad, "--format", "markdown", "--detailed-exitcode")
    assert result.returncode == 1
    text = result.stdout
    assert text.startswith("### dtsflow plan: invalid manifests")
    assert "| <code>bad.yaml</code> | 4 | <code>&#36;.tasks&#91;0&#93;.state</code> | must be one of" in text
    assert "<img" not in text and "@team" not in text and "&#60;img src=x&#62;&#124;&#64;team" in text
    assert "error: invalid manifests" in result.stderr
    assert sum(env.stats()["requests"].values()) == 0  # an invalid manifest costs no request


def test_apply_and_status_json_report_an_invalid_manifest(env: Env) -> None:
    bad = _write(env.cwd, "bad.yaml", BAD)
    env.reset_stats()
    result = env.apply(bad, "--auto-approve", "--format", "json")
    assert result.returncode == 1
    events = [json.loads(line) for line in result.stdout.splitlines()]  # JSON Lines, as apply's events
    assert events[-1]["event"] == "error" and events[-1]["error"].startswith("invalid manifest")
    assert any(e["path"] == "$.tasks[0].state" for e in events[-1]["errors"])

    result = env.cli("status", bad, "--format", "json", "--detailed-exitcode")
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert any(e["path"] == "$.tasks[0].state" for e in body["errors"])
    assert sum(env.stats()["requests"].values()) == 0


def test_a_plan_that_cannot_be_saved_is_one_json_document(env: Env) -> None:
    manifest = env.write([task("orders")])
    result = env.cli("plan", manifest, "--format", "json", "-o", "no-such-dir/plan.json")
    assert result.returncode == 1
    body = json.loads(result.stdout)  # the error alone: the plan was not printed before the failed save
    assert body["error"].startswith("cannot write plan file no-such-dir/plan.json")
    assert body["errors"] == [{"file": None, "line": None, "column": None, "path": None, "message": body["error"]}]


def test_show_reports_a_broken_plan_file_in_its_format(tmp_path: Path) -> None:
    _write(tmp_path, "plan.json", '{"format_version": "1", "changes": [\n')
    result = run_cli("show", "plan.json", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    body = json.loads(result.stdout)  # stdout is one error document, as plan's
    assert body["format_version"] == "1" and "plan.json:2:1: not a dtsflow plan file: broken JSON" in body["error"]
    assert [e["message"] for e in body["errors"]] == [body["error"]]

    result = run_cli("show", "no-such-plan.json", "--format", "markdown", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("### dtsflow show: cannot read plan file no-such-plan.json")
    assert "error: cannot read plan file" in result.stderr


def test_destroy_json_reports_an_invalid_manifest_as_an_event(env: Env) -> None:
    bad = _write(env.cwd, "bad.yaml", BAD)
    env.reset_stats()
    result = env.cli("destroy", bad, "--auto-approve", "--format", "json")
    assert result.returncode == 1
    events = [json.loads(line) for line in result.stdout.splitlines()]  # JSON Lines, as apply's events
    assert events[-1]["event"] == "error" and events[-1]["error"].startswith("invalid manifest")
    assert any(e["path"] == "$.tasks[0].state" for e in events[-1]["errors"])
    assert sum(env.stats()["requests"].values()) == 0

    refused = env.cli("destroy", _write(env.cwd, "plan.json", "{}"), "--format", "json")
    assert refused.returncode == 1
    [event] = [json.loads(line) for line in refused.stdout.splitlines()]
    assert event["event"] == "error" and event["error"].startswith("destroy takes manifests")
