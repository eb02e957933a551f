"""`dtsflow status` end to end against the emulator."""

from __future__ import annotations

import json

import pytest

from tests.apply.conftest import REALISM_MODES, Env, task


@pytest.fixture(params=REALISM_MODES)
def realism(request: pytest.FixtureRequest) -> str:
    """This end-to-end suite runs against plain answers and against every variant the API documentation leaves
    open (`--realism variants`: nulls, `truncated`, `initRunning`, shutdown refused before a start, ...)."""
    return str(request.param)


def test_status_text_and_json(env: Env) -> None:
    bad = task("bad", state="prechecked", src_host="db-binlog-off.internal")
    applied = env.apply(env.write([task("orders"), bad]), "--auto-approve")
    assert applied.returncode == 1  # the precheck of `bad` fails, on purpose
    manifest = env.write([task("orders"), bad, task("later")])
    env.reset_stats()
    text = env.cli("status", manifest)
    assert text.returncode == 0, text.stdout + text.stderr
    lines = text.stdout.splitlines()
    # Under the service's variants `orders` may still show initRunning (its full load not done): both are started.
    started = ("running",) if env.realism == "plain" else ("running", "initRunning")
    assert any(line.startswith("orders") and any(s in line.split() for s in started) for line in lines), text.stdout
    assert any(line.startswith("later") and "(absent)" in line for line in lines)
    assert "failed check srcMysqlBinlogFormat" in text.stdout

    result = env.cli("status", manifest, "--format", "json")
    body = json.loads(result.stdout)
    assert body["format_version"] == "1"
    rows = {r["task"]: r for r in body["tasks"]}
    assert rows["orders"]["status"] in started and rows["orders"]["dts_id"]
    # Progress of a running task: base-load percentage and increment delay, numbers (the emulator reports both).
    assert isinstance(rows["orders"]["base_percent"], float) and 0 <= rows["orders"]["base_percent"] <= 100
    assert isinstance(rows["orders"]["increment_delay"], float)
    assert rows["later"]["base_percent"] is None and rows["later"]["dts_id"] is None
    assert rows["later"]["status"] is None
    assert rows["bad"]["status"] == "checkFailed"
    assert any(i["name"] == "srcMysqlBinlogFormat" and i["status"] for i in rows["bad"]["precheck"])
    requests = env.stats()["requests"]
    assert env.mutating() == 0
    assert requests.get("getPrecheck") == 2  # one per status run, only for the checkFailed task
    assert requests.get("get", 0) == 0
