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
from dtsflow.clock import SYSTEM_CLOCK, ManualClock
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
        checks = LevelChecks(poller, SYSTEM_CLOCK, threading.Event())
        with pytest.raises(StepFailure) as caught:
            checks.reread(TaskState(dts_id="dts-1", status=None, mutated_at=0.0))
    message = str(caught.value)
    assert "ServiceUnavailable" in message and "try later" in message and "req-7f3e" in message, message


class Resizing:
    """A DtsClient whose list shows the task at standard `small` until `at` on the clock, then `large`."""

    def __init__(self, clock: ManualClock, at: float) -> None:
        self.clock, self.at = clock, at

    def list_tasks(self, *, status: str | None = None, page_size: int = 1000) -> list[LiveTask]:
        standard = "large" if self.clock.monotonic() >= self.at else "small"
        return [LiveTask.model_validate({"dtsId": "dts-1", "status": "running", "payInfo": {"standard": standard}})]


def resize_wait(at: float, timeout: float) -> tuple[list[str], float]:
    """Wait for `large` after a resize that shows at `at`, on a manual clock driven by the test (no real time)."""
    from tests.apply.test_poll_schedule import run_workers

    clock = ManualClock(start=0.0)
    outcome: list[str] = []
    with Poller(Resizing(clock, at), policy=PollPolicy(), clock=clock) as poller:  # type: ignore[arg-type]
        checks = LevelChecks(poller, clock, threading.Event())

        def work() -> None:
            try:
                checks.wait_for_standard("orders", TaskState("dts-1", "running", 0.0), "large", timeout)
                outcome.append("large")
            except StepFailure as exc:
                outcome.append(str(exc))

        run_workers(clock, [work])
    return outcome, clock.monotonic()


def test_the_resize_re_read_pauses_on_the_clock_until_the_new_standard_shows() -> None:
    started = time.monotonic()
    outcome, at = resize_wait(at=20.0, timeout=120.0)
    assert outcome == ["large"] and 20.0 <= at <= 25.0  # seen at the first re-read after it shows (pauses <= 5 s)
    assert time.monotonic() - started < 5  # 20 s of clock time, not of real time


def test_the_resize_re_read_gives_up_at_its_timeout_on_the_clock() -> None:
    outcome, at = resize_wait(at=float("inf"), timeout=60.0)
    assert outcome == ["orders: the resize to large was accepted, but the task still shows standard small"]
    assert 60.0 <= at <= 65.0


def test_a_pause_between_re_reads_ends_at_once_on_ctrl_c() -> None:
    clock = ManualClock(start=0.0)
    stop = threading.Event()
    with Poller(Resizing(clock, 0.0), policy=PollPolicy(), clock=clock) as poller:  # type: ignore[arg-type]
        checks = LevelChecks(poller, clock, stop)
        result: list[bool] = []
        pausing = threading.Thread(target=lambda: result.append(checks.pause(30.0)))
        pausing.start()
        clock.settle(2)  # the pause and the idle poll thread wait on the clock
        stop.set()
        checks.interrupt()
        pausing.join(10)
    assert result == [True] and clock.monotonic() == 0.0  # no clock time passed
