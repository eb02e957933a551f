"""Suite-wide hooks."""

from __future__ import annotations

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """End this test process's fork servers (tests/forkcli.py), and the CLI runs still going with them."""
    from tests import forkcli

    forkcli.close_all()
