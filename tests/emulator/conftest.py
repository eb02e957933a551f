"""Fixtures: emulators on ephemeral loopback ports and signing clients talking to them over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dtsflow.emulator import RunningEmulator, start_in_thread
from tests.emulator.apiclient import Api


@pytest.fixture
def instant() -> Iterator[RunningEmulator]:
    """Every asynchronous step completes at once (time_scale 0)."""
    with start_in_thread(time_scale=0.0) as emu:
        yield emu


@pytest.fixture
def frozen() -> Iterator[RunningEmulator]:
    """Asynchronous steps take hours: a task stays in `checking`, `stopping`, ... for the whole test."""
    with start_in_thread(time_scale=10_000.0) as emu:
        yield emu


@pytest.fixture
def api(instant: RunningEmulator) -> Iterator[Api]:
    client = Api(instant.url, instant.access_key, instant.secret_key)
    yield client
    client.close()


@pytest.fixture
def slow_api(frozen: RunningEmulator) -> Iterator[Api]:
    client = Api(frozen.url, frozen.access_key, frozen.secret_key)
    yield client
    client.close()
