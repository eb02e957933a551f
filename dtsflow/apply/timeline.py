"""An observer that keeps every apply event with the moment it happened, for the HTML report's timeline.

Events say what happened; the timeline adds when (seconds since the recorder was made, from a monotonic clock
that tests may replace). It passes each event on to the observer it wraps, so progress shows as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dtsflow.apply.events import Event, Observer, null_observer


@dataclass(frozen=True, slots=True)
class TimedEvent:
    at: float  # seconds since the recording began
    event: Event


@dataclass(slots=True)
class Timeline:
    """`Timeline(inner)` is an Observer: it records the event, then hands it to `inner`."""

    inner: Observer = null_observer
    clock: Callable[[], float] = time.monotonic
    events: list[TimedEvent] = field(default_factory=list)
    _began: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._began = self.clock()

    def __call__(self, event: Event) -> None:
        self.events.append(TimedEvent(round(self.clock() - self._began, 3), event))
        self.inner(event)
