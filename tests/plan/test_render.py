"""Golden files for every format over the plan scenarios (UPDATE_GOLDEN=1 rewrites them), and the JSON schema."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from dtsflow.plan.model import FORMAT_VERSION, Plan
from dtsflow.plan.render import render_plan
from dtsflow.plan.render.json import plan_schema
from dtsflow.plan.render.markdown import MAX_CHARS
from tests.plan.factories import live, manifests, spec
from tests.plan.scenarios import SCENARIOS

GOLDEN = Path(__file__).parent / "golden"
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json"
EXTENSIONS = {"text": "txt", "markdown": "md", "json": "json"}


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", list(EXTENSIONS))
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_golden(scenario: str, fmt: str) -> None:
    plan = SCENARIOS[scenario]()
    check_golden(f"{scenario}.{EXTENSIONS[fmt]}", render_plan(plan, fmt))


def test_schema_file_matches_the_model() -> None:
    text = json.dumps(plan_schema(), indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        SCHEMA_FILE.write_text(text, encoding="utf-8")
    assert SCHEMA_FILE.read_text(encoding="utf-8") == text, "regenerate with UPDATE_GOLDEN=1"


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_rendered_json_validates_and_round_trips(scenario: str) -> None:
    plan = SCENARIOS[scenario]()
    document = json.loads(render_plan(plan, "json"))
    assert document["format_version"] == FORMAT_VERSION
    jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text())).validate(document)
    assert Plan.model_validate(document) == plan


def test_schema_rejects_a_plan_without_digest() -> None:
    document = json.loads(render_plan(SCENARIOS["pause"](), "json"))
    del document["manifest_digest"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(plan_schema()).validate(document)


def test_summary_lines() -> None:
    assert render_plan(SCENARIOS["nothing_to_do"](), "text").endswith(
        "Plan: 0 to create, 0 to reconfigure, 0 to transition, 0 to delete.\n"
    )
    assert "Plan: 0 to create, 0 to reconfigure, 0 to transition, 1 to replace, 0 to delete." in render_plan(
        SCENARIOS["replace"](), "text"
    )


def test_summary_does_not_count_a_change_that_carries_an_error() -> None:
    from dtsflow.client.live import Live
    from dtsflow.plan.planner import make_plan

    busy, gone = spec("orders-busy", state="absent"), spec("orders-gone", state="absent")
    plan = make_plan(manifests(busy, gone), Live.from_tasks([live(busy, "checking"), live(gone, "running")]))
    assert [c.error is not None for c in plan.changes] == [True, False]
    summary = "Plan: 0 to create, 0 to reconfigure, 0 to transition, 1 to delete."
    assert render_plan(plan, "text").endswith(summary + "\n")
    assert f"**{summary}**" in render_plan(plan, "markdown")


def test_colour_only_when_asked() -> None:
    plan = SCENARIOS["new_tasks"]()
    assert "\x1b[" not in render_plan(plan, "text")
    assert "\x1b[32m+ orders-to-kafka" in render_plan(plan, "text", color=True)
    assert "\x1b[" not in render_plan(plan, "markdown", color=True)


def test_markdown_is_cut_below_the_comment_limit_with_a_note() -> None:
    from dtsflow.client.live import Live
    from dtsflow.plan.planner import make_plan

    specs = [spec(f"task-{i:04d}") for i in range(1500)]
    plan = make_plan(manifests(*specs), Live())
    text = render_plan(plan, "markdown")
    assert len(text) <= MAX_CHARS
    assert "Output cut to fit a comment" in text and "task detail(s) omitted" in text
    small = render_plan(SCENARIOS["pause"](), "markdown")
    assert "Output cut" not in small


def test_markdown_escapes_table_cells() -> None:
    text = render_plan(SCENARIOS["failed_precheck"](), "markdown")
    assert "table orders.items exists &#124; is not empty" in text
    assert "&#60;objects&#62;" in text


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="yaml"):
        render_plan(SCENARIOS["pause"](), "yaml")


def test_secret_reference_in_json_but_never_a_value() -> None:
    s = spec()
    plan_json = render_plan(SCENARIOS["new_tasks"](), "json")
    assert "${secret:ORDERS_DB_PASSWORD}" in plan_json
    text = render_plan(SCENARIOS["new_tasks"](), "text")
    assert "password (sensitive)" in text and "${secret:" not in text
    assert live(s, "running").src_connection.model_dump().get("db_pass") is None


def test_orphans_and_would_prune_are_shown() -> None:
    from dtsflow.client.live import Live
    from dtsflow.plan.planner import make_plan

    orphan = live(None, "unConfig", dts_id="dtsmorphan1", createTime="2026-01-01T00:00:00Z")
    stray = live(spec("orders-old"), "running", name="orders-old")
    plan = make_plan(manifests(spec("orders-a"), prune=["orders-"]), Live.from_tasks([orphan, stray]))
    text = render_plan(plan, "text")
    assert "Possible orphans" in text and "dtsmorphan1 unConfig created 2026-01-01T00:00:00Z" in text
    assert "Would be pruned with --prune: orders-old" in text
    markdown = render_plan(plan, "markdown")
    assert "<code>dtsmorphan1</code>" in markdown and "<code>orders-old</code>" in markdown


def test_the_markdown_cut_leaves_no_hole_in_a_table() -> None:
    """Rows of very different lengths: once one row does not fit, no later (shorter) row may appear after it."""
    import re

    from dtsflow.client.live import Live
    from dtsflow.plan.planner import make_plan

    for shift in range(0, 58, 3):  # the cut falls with a different room left each time
        names = [f"t{i:04d}-" + "x" * ((i * 37 + shift) % 58) for i in range(640)]
        plan = make_plan(manifests(*[spec(n) for n in names]), Live())
        text = render_plan(plan, "markdown")
        assert len(text) <= MAX_CHARS and "Output cut to fit a comment" in text
        shown = re.findall(r"^\| `\+` \| <code>([^<]+)</code> \|", text, re.MULTILINE)
        ordered = [c.task for c in plan.changes]
        assert shown == ordered[: len(shown)], f"shift {shift}: a row is missing in the middle of the table"
        omitted = int(re.search(r"(\d+) table row\(s\)", text).group(1))  # type: ignore[union-attr]
        assert omitted == len(ordered) - len(shown)


def test_a_markdown_row_without_steps_says_why() -> None:
    plan = SCENARIOS["pause"]()
    change = plan.changes[0]
    broken = change.model_copy(update={"steps": [], "error": "refused"})
    idle = change.model_copy(update={"steps": [], "error": None})
    for changed, cell_text in ((broken, "**error**"), (idle, "—")):
        text = render_plan(plan.model_copy(update={"changes": [changed]}), "markdown")
        row = next(line for line in text.splitlines() if line.startswith("| `") and change.task in line)
        assert row.rstrip().endswith(f"| {cell_text} |"), row
