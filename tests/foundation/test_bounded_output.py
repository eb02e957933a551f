"""Bounded output: at most MAX_DIAGNOSTICS problems are reported per run, and a markdown plan with many errors
stays under the comment size budget."""

from __future__ import annotations

import socket
from pathlib import Path

from dtsflow.errors import MAX_DIAGNOSTICS
from tests.foundation.conftest import guarded_cli


def test_a_tiny_manifest_cannot_flood_stderr(tmp_path: Path, watched_endpoint: tuple[str, socket.socket]) -> None:
    manifest = tmp_path / "flood.yaml"
    manifest.write_text("version: 1\ntasks: [{% for i in range(20000) %}{x: 1},{% endfor %}]\n")
    assert len(manifest.read_bytes()) < 140
    result = guarded_cli("validate", str(manifest), endpoint=watched_endpoint[0])
    assert result.returncode == 1
    problems = [line for line in result.stderr.splitlines() if "flood.yaml:" in line]
    assert 0 < len(problems) < 10  # the same problems of 20,000 tasks from one line: each said once
    assert all("(and the same in 19999 more task(s): $.tasks[1] at line 2, " in p for p in problems), problems
    # Problems that differ (one per object of a task, each the same in every task) are capped all the same.
    manifest.write_text(
        "version: 1\ntasks: [{% for i in range(200) %}{objects: [{% for j in range(200) %}{},{% endfor %}]},"
        "{% endfor %}]\n"
    )
    assert len(manifest.read_bytes()) < 140
    result = guarded_cli("validate", str(manifest), endpoint=watched_endpoint[0])
    assert result.returncode == 1
    problems = [line for line in result.stderr.splitlines() if "flood.yaml:" in line]
    assert len(problems) == MAX_DIAGNOSTICS
    assert f"more problem(s) not shown (at most {MAX_DIAGNOSTICS} are reported per run)" in result.stderr
    assert len(result.stderr) < 40_000


def test_plan_errors_and_warnings_respect_the_markdown_budget() -> None:
    from dtsflow.plan.model import Action, Change, Plan
    from dtsflow.plan.render import render_plan
    from dtsflow.plan.render.markdown import MAX_CHARS

    message = "the service says: " + "x" * 300
    changes = [Change(task=f"t{i}", action=Action.NOOP, reason="", error=message) for i in range(3000)]
    plan = Plan(manifest_digest="sha256:x", changes=changes, warnings=[message] * 3000)
    text = render_plan(plan, "markdown")
    assert len(text) <= MAX_CHARS
    assert "more; run `dtsflow plan` to see them all" in text
