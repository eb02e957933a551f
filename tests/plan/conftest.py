"""Fixtures for plan tests that run against the emulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module", params=["plain", "variants"])
def emulator(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The emulator in both realism modes: the plan suite runs against plain answers and against every variant
    the API documentation leaves open (`--realism variants`)."""
    from dtsflow.emulator import start_in_thread

    with start_in_thread(time_scale=0.01, realism=request.param) as running:
        yield running


@pytest.fixture()
def admin(emulator: Any) -> Iterator[Any]:
    """An httpx client on the emulator's loopback admin endpoints; the emulator starts empty and uncounted."""
    import httpx

    with httpx.Client(base_url=emulator.url, timeout=30, trust_env=False) as client:
        client.post("/_emulator/reset", json={}).raise_for_status()
        client.post("/_emulator/faults", json={}).raise_for_status()
        client.post("/_emulator/stats/reset", json={}).raise_for_status()
        yield client


@pytest.fixture()
def api_env(emulator: Any) -> dict[str, str]:
    return {
        "DTSFLOW_ENDPOINT": emulator.url,
        "BCE_ACCESS_KEY_ID": emulator.access_key,
        "BCE_SECRET_ACCESS_KEY": emulator.secret_key,
    }
