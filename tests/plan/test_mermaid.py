"""The mermaid diagram in the markdown plan: its shape, its escaping of hostile strings, and its size budget."""

from __future__ import annotations

import re

from dtsflow.client.live import Live
from dtsflow.plan.model import Action, Change, Plan, Step, StepKind
from dtsflow.plan.planner import make_plan
from dtsflow.plan.render import render_plan
from dtsflow.plan.render.markdown import MAX_CHARS
from dtsflow.plan.render.mermaid import mermaid_label, render_mermaid
from tests.plan.factories import manifests, spec
from tests.plan.scenarios import SCENARIOS

HOSTILE = 'x"] --> evil["pwn\n```\n<img src=x onerror=alert(1)> #35; end; click t0 call alert()'
STATEMENT_START = re.compile(r"^\s*(```(?!mermaid)|click|end\b|subgraph|classDef|class |style |flowchart|t\d)")


def _block(markdown: str) -> str:
    match = re.search(r"```mermaid\n(.*?)\n```\n", markdown, re.S)
    assert match, "no mermaid block"
    return match.group(1)


def test_the_markdown_plan_draws_tasks_steps_and_dependency_edges() -> None:
    block = _block(render_plan(SCENARIOS["dependency_chain"](), "markdown"))
    # three tasks: the two created ones and the unchanged one a created task depends on
    titles = re.findall(r'subgraph (t\d+)\["([^"]*)"\]', block)
    assert [t for t, _ in titles] == ["t0", "t1", "t2"]
    assert "1-users: unchanged" in titles[0][1] and "2-orders: create" in titles[1][1]
    assert re.search(r't1s1\["1. create"\] --> t1s2\["2. config"\] --> t1s3\["3. precheck \(wait\)"\]', block)
    assert "  t0 --> t1" in block.splitlines() and "  t1 --> t2" in block.splitlines()


def test_no_diagram_when_nothing_changes() -> None:
    assert "```mermaid" not in render_plan(SCENARIOS["nothing_to_do"](), "markdown")


def test_a_label_cannot_break_out_of_its_quotes_its_line_or_the_fence() -> None:
    label = mermaid_label(HOSTILE)
    assert not set(label) & set('"#;<>&`[]{}|\n\\')
    assert label.startswith("x --") and "img src=x onerror=alert(1)" in label  # the words stay, readable
    # and through the plan: a hostile error text from the service lands in one quoted label
    hostile = Change(task="orders", action=Action.TRANSITION, reason="r", live_status="weird\n```", error=HOSTILE)
    plan = Plan(manifest_digest="d", changes=[hostile])
    block = _block(render_plan(plan, "markdown"))
    for line in block.splitlines():
        assert line.count('"') % 2 == 0, line
    body = [line for line in block.splitlines() if "pwn" in line or "alert" in line]
    assert body and all(STATEMENT_START.match(line) for line in body)  # only inside our own statements
    assert "<img" not in block and "\n```" not in block
    assert not any(line.lstrip().startswith("click") for line in block.splitlines())


def test_a_large_plan_falls_back_to_the_compact_form_then_to_none_and_the_comment_stays_in_budget() -> None:
    many = make_plan(manifests(*[spec(f"task-{i:04d}") for i in range(120)]), Live())
    detailed = render_mermaid(many, budget=10_000_000)
    compact = render_mermaid(many, budget=len(detailed) - 1)
    assert "subgraph" in detailed and compact and "subgraph" not in compact
    assert compact.count(":::create") == 120 and len(compact) < len(detailed)
    assert "create, config, precheck, start" in compact
    assert render_mermaid(many, budget=len(compact) - 1) == ""
    huge = make_plan(manifests(*[spec(f"task-{i:04d}") for i in range(1500)]), Live())
    markdown = render_plan(huge, "markdown")
    assert len(markdown) <= MAX_CHARS and "```mermaid" not in markdown  # 1500 boxes do not fit: no picture


def test_steps_without_a_wait_and_errors_are_drawn() -> None:
    change = Change(
        task="a",
        action=Action.TRANSITION,
        reason="r",
        live_status="running",
        steps=[Step(kind=StepKind.PAUSE, wait_for=[])],
    )
    block = render_mermaid(Plan(manifest_digest="d", changes=[change]))
    assert 't0s1["1. pause"]' in block and "style t0 fill:#ddf4ff" in block


def test_labels_keep_letters_of_any_script_and_are_bounded() -> None:
    assert mermaid_label("预检查失败: 源库 binlog_format=STATEMENT") == "预检查失败: 源库 binlog_format=STATEMENT"
    assert mermaid_label("a\n\n\tb") == "a b"
    long = mermaid_label("word " * 100)
    assert len(long) <= 160 and long.endswith("...")
