"""`plan -o PLAN.json --apply-key-id ID`: a plan made with one key (CI's read-only key) is bound to the key that will
apply it, and only that key may apply it."""

from __future__ import annotations

from tests.apply.conftest import Env, task


def test_a_plan_bound_to_another_key_is_refused_and_one_bound_to_the_applying_key_applies(env: Env) -> None:
    env.write([task("bound-orders")])
    other = env.cli("plan", "tasks.yaml", "-o", "other.json", "--apply-key-id", "AK-OF-SOMEONE-ELSE")
    assert other.returncode == 0, other.stderr
    env.reset_stats()
    refused = env.apply("other.json")
    assert refused.returncode == 1 and "the plan was made with another access key" in refused.stderr
    assert env.mutating() == 0
    assert "AK-OF-SOMEONE-ELSE" not in (env.cwd / "other.json").read_text()  # only its digest is recorded

    mine = env.cli("plan", "tasks.yaml", "-o", "mine.json", "--apply-key-id", env.access_key)
    assert mine.returncode == 0, mine.stderr
    applied = env.apply("mine.json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert env.by_name()["bound-orders"]["status"] == "running"


def test_apply_key_id_needs_a_saved_plan(env: Env) -> None:
    env.write([task("bound-nothing")])
    result = env.cli("plan", "tasks.yaml", "--apply-key-id", "AK")
    assert result.returncode == 1 and "give it with -o PLAN.json" in result.stderr
