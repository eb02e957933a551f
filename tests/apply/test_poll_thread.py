"""The one poll thread survives what its callers do: a raising callback, a list that keeps failing, a bug of its
own; and its schedule is a fraction of the time already waited. The list calls come from a scripted client (the
poller's behaviour under failures is what is tested; the HTTP client has its own tests against the emulator)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from dtsflow.apply.guards import LevelChecks, StepFailure, TaskState
from dtsflow.apply.poller import Poller, PollPolicy, WaitOutcome
from dtsflow.client.live import LiveTask
from dtsflow.emulator import RunningEmulator
from dtsflow.errors import ApiError
from tests.apply.conftest import client_of

FAST = PollPolicy(floor=0.005, fraction=0.1, cap=0.02)


class ScriptedLists:
    """A DtsClient whose `list_tasks` answers from a script: a list of tasks, an exception, or a value to return."""

    def __init__(self, answers: list[Any], then: Callable[[], Any]) -> None:
        self.answers = answers
        self.then = then
        self.calls = 0

    def list_tasks(self, *, status: str | None = None, page_size: int = 1000) -> Any:
        self.calls += 1
        answer = self.answers.pop(0) if self.answers else self.then()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the poller called {name}")


def test_the_poll_gap_is_a_fraction_of_the_time_waited_between_a_floor_and_a_cap() -> None:
    policy = PollPolicy(floor=0.05, fraction=0.1, cap=5.0)
    assert [policy.gap(waited) for waited in (0.0, 0.3, 0.5, 3.0, 30.0, 49.0, 600.0)] == [
        0.05,
        0.05,
        0.05,
        pytest.approx(0.3),
        pytest.approx(3.0),
        pytest.approx(4.9),
        5.0,
    ]


def test_a_raising_callback_fails_only_its_own_wait_and_the_poll_thread_lives(emu: RunningEmulator) -> None:
    [a, b] = emu.seed([{"taskName": "a", "status": "running"}, {"taskName": "b", "status": "stopped"}])
    with client_of(emu) as client, Poller(client, policy=FAST) as poller:
        results: dict[str, Any] = {}

        def broken(live: LiveTask | None, status: str) -> None:
            raise OSError("the terminal went away")

        def wait(name: str, dts_id: str, target: str, callback: Any) -> None:
            results[name] = poller.wait(dts_id, targets={target}, timeout=20, on_poll=callback)

        threads = [
            threading.Thread(target=wait, args=("broken", a, "stopped", broken)),
            threading.Thread(target=wait, args=("fine", b, "stopped", None)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert results["fine"].outcome is WaitOutcome.REACHED
        assert results["broken"].outcome is WaitOutcome.ERROR
        assert "OSError: the terminal went away" in results["broken"].message
        later = poller.wait(a, targets={"running"}, timeout=20)  # the thread still polls
        assert later.outcome is WaitOutcome.REACHED


def test_when_the_poll_thread_dies_every_waiter_fails_at_once_with_the_cause() -> None:
    client = ScriptedLists([], then=lambda: [None])  # a list holding something that is not a task: a bug
    with Poller(client, policy=FAST) as poller:  # type: ignore[arg-type]
        started = time.monotonic()
        result = poller.wait("dts-1", targets={"running"}, timeout=60)
        assert result.outcome is WaitOutcome.ERROR
        assert "the poll thread stopped" in result.message and "AttributeError" in result.message
        assert time.monotonic() - started < 30  # at once, not at the wait's timeout
        again = poller.wait("dts-1", targets={"running"}, timeout=60)
        assert again.outcome is WaitOutcome.ERROR and "the poll thread stopped" in again.message


def test_fresh_tries_again_after_three_failed_lists_and_a_failed_reread_shows_the_api_error() -> None:
    failure = ApiError(503, "ServiceUnavailable", "try later", "req-7f3e", operation="list")
    client = ScriptedLists([failure, failure, failure], then=list)
    with Poller(client, policy=FAST) as poller:  # type: ignore[arg-type]
        for _ in range(3):
            assert poller.fresh(after=time.monotonic()) is None
        assert client.calls == 3
        snapshot = poller.fresh(after=time.monotonic())
        assert snapshot is not None and snapshot.tasks == {} and client.calls == 4

    client = ScriptedLists([], then=lambda: failure)
    with Poller(client, policy=FAST) as poller:  # type: ignore[arg-type]
        checks = LevelChecks(poller, time.monotonic, threading.Event())
        with pytest.raises(StepFailure) as caught:
            checks.reread(TaskState(dts_id="dts-1", status=None, mutated_at=0.0))
    message = str(caught.value)
    assert "ServiceUnavailable" in message and "try later" in message and "req-7f3e" in message, message
