"""Secret pre-flight: every secret a plan will send resolves before the first request, and is named once."""

from __future__ import annotations

import pytest

from dtsflow.apply.preflight import check_secrets
from dtsflow.errors import ConfigError
from dtsflow.manifest.secrets import resolve_secret
from dtsflow.plan.model import Action, Change, Plan, Step, StepKind
from tests.plan.factories import spec

SHARED = "${secret:PREFLIGHT_SHARED_PASS}"


def _plan(kinds: list[StepKind]) -> Plan:
    task = spec("orders")
    task = task.model_copy(
        update={
            "src": task.src.model_copy(update={"password": SHARED}),
            "dst": task.dst.model_copy(update={"password": SHARED}),
        }
    )
    change = Change(task="orders", action=Action.CREATE, reason="new", spec=task, steps=[Step(kind=k) for k in kinds])
    return Plan(manifest_digest="sha256:test", changes=[change])


def test_a_secret_shared_by_both_ends_is_named_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFLIGHT_SHARED_PASS", raising=False)
    with pytest.raises(ConfigError) as caught:
        check_secrets(_plan([StepKind.CREATE, StepKind.CONFIG]), resolve_secret)
    message = str(caught.value)
    assert message.count("PREFLIGHT_SHARED_PASS is not set") == 1
    assert "nothing was done" in message


def test_a_plan_that_sends_no_configuration_needs_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFLIGHT_SHARED_PASS", raising=False)
    check_secrets(_plan([StepKind.PAUSE]), resolve_secret)  # no exception: a pause sends no password


def test_a_resolvable_secret_passes_and_its_value_is_never_in_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFLIGHT_SHARED_PASS", "CANARY-preflight-value")
    check_secrets(_plan([StepKind.CREATE, StepKind.CONFIG]), resolve_secret)
    with pytest.raises(ConfigError) as caught:
        check_secrets(_plan([StepKind.CONFIG]), None)
    assert "CANARY" not in str(caught.value) and "no secret resolver" in str(caught.value)
