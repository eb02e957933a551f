"""The chaos suite's counts, summed over its shards (also under xdist: they travel as user properties)."""

from __future__ import annotations

from typing import Any

import pytest


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    totals: dict[str, int] = {}
    for report in terminalreporter.stats.get("passed", []):
        for key, value in getattr(report, "user_properties", []):
            if key == "chaos" and isinstance(value, dict):
                for name, count in value.items():
                    totals[name] = totals.get(name, 0) + int(count)
    if totals:
        terminalreporter.write_line(
            f"chaos: {totals.get('runs', 0)} runs converged, {totals.get('applies', 0)} apply processes, "
            f"{totals.get('faults', 0)} faults injected, {totals.get('kills', 0)} SIGKILLs survived "
            f"({totals.get('not_killed', 0)} runs ended before their kill point; "
            f"{totals.get('duplicates', 0)} duplicate creates left by retries with de-duplication off)"
        )
