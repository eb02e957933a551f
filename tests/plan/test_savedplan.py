"""Saved plans: file mode, round trip, no secret values, and the staleness check."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dtsflow.errors import DtsflowError, StalePlanError
from dtsflow.planner import make_plan
from dtsflow.refresh import Live
from dtsflow.savedplan import check_stale, load_plan, save_plan
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
