"""Saved plans: file mode, round trip, no secret values, and the staleness check."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from dtsflow.client.live import Live
from dtsflow.errors import DtsflowError, StalePlanError
from dtsflow.plan.model import StepKind, spec_fields
from dtsflow.plan.planner import make_plan
from dtsflow.plan.render.json import render_json
from dtsflow.plan.saved import check_stale, load_plan, save_plan
from dtsflow.plan.transitions import STEP_SPECS
from tests.plan.factories import SECRET_REF, live, manifests, spec


def test_round_trip_mode_0600_and_secret_reference_only(tmp_path: Path) -> None:
    s = spec()
    plan = make_plan(manifests(s), Live())
    path = tmp_path / "plan.json"
    path.write_text("old")
    path.chmod(0o644)
    save_plan(plan, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_plan(path) == plan
    text = path.read_text()
    assert SECRET_REF in text and '"manifest_digest": "sha256:test"' in text
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_load_refuses_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"changes": 3}')
    with pytest.raises(DtsflowError, match="not a dtsflow plan file"):
        load_plan(bad)
    with pytest.raises(DtsflowError, match="cannot read plan file"):
        load_plan(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("edit", "located"),
    [
        (lambda text: text[: len(text) // 2], r"old\.json:\d+:\d+: not a dtsflow plan file: broken JSON"),
        (
            lambda text: text.replace('"kind": "create"', '"kind": "launch"', 1),
            r"at \$\.changes\[0\]\.steps\[0\]\.kind",
        ),
        (
            lambda text: text.replace('"prune": false', '"prune": "yes"', 1),
            r"at \$\.prune \(type check failed: expected",
        ),
    ],
    ids=["truncated", "unknown step kind", "wrong type"],
)
def test_a_hand_edited_or_truncated_plan_is_refused_with_its_location(
    tmp_path: Path, edit: Callable[[str], str], located: str
) -> None:
    path = tmp_path / "old.json"
    save_plan(make_plan(manifests(spec()), Live()), path)
    path.write_text(edit(path.read_text()))
    with pytest.raises(DtsflowError, match=located):
        load_plan(path)


def test_unchanged_world_is_not_stale() -> None:
    s = spec("orders", state="paused")
    lv = Live.from_tasks([live(s, "running")])
    plan = make_plan(manifests(s), lv)
    check_stale(plan, manifests(s), Live.from_tasks([live(s, "running", runningTime=500)]))


def test_manifest_change_is_stale() -> None:
    s = spec()
    plan = make_plan(manifests(s), Live())
    with pytest.raises(StalePlanError, match="manifests changed"):
        check_stale(plan, manifests(s, digest="sha256:other"), Live())


def test_status_change_is_stale_with_a_clear_message() -> None:
    s = spec(state="running")
    plan = make_plan(manifests(s), Live.from_tasks([live(s, "ready")]))
    with pytest.raises(StalePlanError) as err:
        check_stale(plan, manifests(s), Live.from_tasks([live(s, "running")]))
    assert str(err.value) == (
        "plan is stale: task orders changed from ready to running since the plan was made; run dtsflow plan again"
    )


def test_config_change_is_stale() -> None:
    s = spec()
    plan = make_plan(manifests(s), Live.from_tasks([live(s, "running")]))
    other = spec(src={**s.src.model_dump(by_alias=True, exclude_none=True), "host": "10.9.9.9"})
    with pytest.raises(StalePlanError, match="configuration of task orders changed"):
        check_stale(plan, manifests(s), Live.from_tasks([live(other, "running")]))


def test_planned_create_that_now_exists_is_stale() -> None:
    s = spec()
    plan = make_plan(manifests(s), Live())
    with pytest.raises(StalePlanError, match="planned to be created but now exists"):
        check_stale(plan, manifests(s), Live.from_tasks([live(s, "unConfig")]))


def test_vanished_task_is_stale() -> None:
    s = spec(state="paused")
    plan = make_plan(manifests(s), Live.from_tasks([live(s, "running")]))
    with pytest.raises(StalePlanError, match="no longer exists"):
        check_stale(plan, manifests(s), Live())


def test_new_task_under_prune_prefix_is_stale_for_a_prune_plan() -> None:
    keep = spec("orders-a")
    ms = manifests(keep, prune=["orders-"])
    plan = make_plan(ms, Live.from_tasks([live(keep, "running")]), prune=True)
    newcomer = live(spec("orders-new"), "running", name="orders-new")
    with pytest.raises(StalePlanError, match="orders-new"):
        check_stale(plan, ms, Live.from_tasks([live(keep, "running"), newcomer]))


def test_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    s = spec()
    plan = make_plan(manifests(s), Live.from_tasks([]))
    with pytest.raises(DtsflowError, match=r"cannot write plan file .*missing/p\.json: No such file or directory"):
        save_plan(plan, tmp_path / "missing" / "p.json")
    assert list(tmp_path.iterdir()) == []


def test_each_step_carries_its_kinds_spec() -> None:
    """A saved plan describes itself: what the executor needs of a step kind is written into each step."""
    plan = make_plan(manifests(spec(state="paused")), Live())
    steps = {s.kind: s.model_dump(mode="json") for c in plan.changes for s in c.steps}
    assert list(steps) == [StepKind.CREATE, StepKind.CONFIG, StepKind.PRECHECK, StepKind.START, StepKind.PAUSE]
    for kind, saved in steps.items():
        for name, value in spec_fields(STEP_SPECS[kind]).items():
            if (kind, name) != (StepKind.START, "wait_for"):  # + finished for a task without increment
                assert saved[name] == value, (kind, name)
    assert steps[StepKind.CONFIG]["sends_secrets"] and not steps[StepKind.PAUSE]["sends_secrets"]
    assert steps[StepKind.PRECHECK]["default_timeout_seconds"] == 15 * 60


def test_a_step_saved_without_the_spec_fields_takes_its_kinds_spec(tmp_path: Path) -> None:
    """A plan file written before a spec field was saved (or a hand-made one) means what its kinds mean."""
    plan = make_plan(manifests(spec(state="paused")), Live())
    document = json.loads(render_json(plan))
    for change in document["changes"]:
        change["steps"] = [{"kind": s["kind"], "wait_for": s["wait_for"]} for s in change["steps"]]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document))
    loaded = load_plan(path)
    assert [[s.model_dump(exclude={"skip_allowed", "timeout_seconds"}) for s in c.steps] for c in loaded.changes] == [
        [s.model_dump(exclude={"skip_allowed", "timeout_seconds"}) for s in c.steps] for c in plan.changes
    ]
