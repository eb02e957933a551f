"""Crash safety: `apply` of 20 tasks killed with SIGKILL at 10 points, each followed by a re-run.

Each kill point starts from nothing (emulator emptied, no journal): one run is killed when its trigger
fires, then a re-run of the same command must converge. Six points are "after k mutating requests reached
the emulator" — the emulator counts a request on arrival and then waits `latency_ms`, so the kill lands
while the request is in flight: committed on the server, never answered to us (the first ten mutating
requests of a run are creates, so these leave unnamed orphans). Four are "right after the journal
recorded the k-th create intent". Both with the emulator's clientToken de-duplication on and off: with it
off, only the journal and orphan adoption prevent duplicates.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from dtsflow.emulator import start_in_thread
from tests.apply.conftest import Env, apply_in_process, task

TASKS = 20
# (trigger, k): "mutating" = k mutating requests since the run began; "intent" = the k-th intent line.
KILL_POINTS = [
    ("mutating", 1),
    ("mutating", 5),
    ("mutating", 10),
    ("mutating", 14),
    ("mutating", 25),
    ("mutating", 45),
    ("intent", 1),
    ("intent", 4),
    ("intent", 9),
    ("intent", 13),
]
# Under the service's variants (`--realism variants`: nulls, a `createTime` without a zone, `initRunning`, ...) the
# points that leave orphans and a half-made run, token de-duplication off: recovery must read those answers too.
VARIANT_KILL_POINTS = [("mutating", 5), ("mutating", 14), ("intent", 4)]
DEADLINE = 15.0  # per killed run: the trigger must fire long before


def _journal_intents(path: Path, start_line: int) -> tuple[int, str | None]:
    """Intent lines after `start_line`, and the op of the last complete line."""
    if not path.exists():
        return 0, None
    lines = path.read_text().splitlines()
    ops = []
    for line in lines[start_line:]:
        try:
            ops.append(json.loads(line).get("op"))
        except ValueError:
            continue
    return ops.count("intent"), (ops[-1] if ops else None)


def _start_warm(env: Env, manifest: str) -> subprocess.Popen[str]:
    """A killable apply whose interpreter is already started and waiting (see warm_apply.py)."""
    return env.popen_apply(manifest, "--auto-approve", warm=True)


def _run_and_kill(env: Env, proc: subprocess.Popen[str], trigger: str, k: int) -> bool:
    """Let the warm `proc` run, SIGKILL it when the trigger fires; False if the run ended on its own first."""
    journal = env.cwd / ".dtsflow" / "journal"
    journal_start = len(journal.read_text().splitlines()) if journal.exists() else 0
    base = env.mutating()
    assert proc.stdin is not None and proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.stdin.write("go\n")
    proc.stdin.flush()
    began = time.monotonic()
    try:
        while time.monotonic() - began < DEADLINE:
            if proc.poll() is not None:
                return False
            if trigger == "mutating":
                fired = env.mutating() - base >= k
            else:
                intents, last = _journal_intents(journal, journal_start)
                fired = intents >= k and last == "intent"
            if fired:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
                return True
            time.sleep(0.002)
        raise AssertionError(f"trigger {trigger} {k} never fired")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def _named(env: Env) -> dict[str, dict[str, object]]:
    named: dict[str, dict[str, object]] = {}
    for t in env.tasks():
        name = str(t.get("taskName", ""))
        if name:
            assert name not in named, f"two live tasks named {name}"
            named[name] = t
    return named


def _orphans(env: Env) -> int:
    return sum(1 for t in env.tasks() if not t.get("taskName") and t.get("status") == "unConfig")


@pytest.mark.parametrize(
    ("dedupe", "realism"),
    [(True, "plain"), (False, "plain"), (False, "variants")],
    ids=["token-dedup-on", "token-dedup-off", "token-dedup-off-variants"],
)
def test_sigkill_at_ten_points_then_rerun_converges(
    env: Env, dedupe: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.faults(dedupe_tokens=dedupe, latency_ms=15)
    manifest = env.write([task(f"t{i:02d}") for i in range(TASKS)])
    names = [f"t{i:02d}" for i in range(TASKS)]
    orphans_left = 0
    points = VARIANT_KILL_POINTS if env.realism == "variants" else KILL_POINTS
    warm = _start_warm(env, manifest)
    for point, (trigger, k) in enumerate(points):
        httpx.post(env.url + "/_emulator/reset", json={}, timeout=10).raise_for_status()
        shutil.rmtree(env.cwd / ".dtsflow", ignore_errors=True)
        env.reset_stats()
        assert _run_and_kill(env, warm, trigger, k), f"the run ended before {trigger} {k}"
        if point + 1 < len(points):
            warm = _start_warm(env, manifest)  # its start-up overlaps the re-run below
        orphans_left += _orphans(env)
        _named(env)  # never two live tasks with one name
        code, output = apply_in_process(env, monkeypatch, capsys, manifest, "--auto-approve")
        assert code == 0, f"{trigger} {k}: {output}"
        live = env.tasks()
        assert len(live) == TASKS, (trigger, k, [(t.get("dtsId"), t.get("taskName"), t.get("status")) for t in live])
        named = _named(env)
        assert sorted(named) == names, (trigger, k)
        assert all(env.fold(str(t["status"])) == "running" for t in named.values()), (trigger, k)
    # The kills did leave creates that only the journal knew about, so adoption was exercised.
    assert orphans_left >= 1
    code, output = apply_in_process(env, monkeypatch, capsys, manifest, "--auto-approve")
    assert code == 0 and "No changes." in output


def test_ctrl_c_finishes_calls_in_flight_reports_and_exits_130(env: Env) -> None:
    env.faults(latency_ms=30)
    manifest = env.write([task(f"c{i}") for i in range(6)])
    proc = env.popen_apply(manifest, "--auto-approve", "--parallelism", "2")
    began = time.monotonic()
    while env.mutating() < 3 and time.monotonic() - began < DEADLINE:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "Apply interrupted" in out
    assert "not attempted" in out
    # Calls in flight finished: every create whose intent was journaled got its answer recorded.
    records = [json.loads(line) for line in (env.cwd / ".dtsflow" / "journal").read_text().splitlines()]
    intents = {r["task"] for r in records if r["op"] == "intent"}
    assert intents and intents == {r["task"] for r in records if r["op"] == "created"}
    assert len(intents) < 6 and len(env.tasks()) == len(intents)  # it stopped launching creates
    rerun = env.apply(manifest, "--auto-approve")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert len(env.tasks()) == 6


def test_a_second_apply_in_the_same_directory_is_refused(tmp_path: Path) -> None:
    # The first run waits on prechecks that take minutes (time_scale 100): it surely holds the lock while the
    # second starts, however slowly a loaded machine starts an interpreter; then Ctrl-C ends it.
    with start_in_thread(time_scale=100.0) as slow:
        env = Env(slow.url, slow.access_key, slow.secret_key, tmp_path)
        manifest = env.write([task(f"p{i}") for i in range(3)])
        first = env.popen_apply(manifest, "--auto-approve")
        began = time.monotonic()
        while env.stats()["requests"].get("precheck", 0) < 3 and time.monotonic() - began < 60:
            time.sleep(0.02)
        second = env.apply(manifest, "--auto-approve")
        assert len(env.tasks()) == 3  # the first run's, and nothing from the second
        first.send_signal(signal.SIGINT)
        out, err = first.communicate(timeout=60)
    assert second.returncode == 1 and "another dtsflow apply is running" in second.stderr, second.stderr
    assert first.returncode == 130, out + err


def test_two_applies_from_two_directories_never_duplicate_a_task(
    env: Env, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Same manifest, same moment, separate journals (token de-duplication on, the emulator's default).
    Crash safety promises no second task. Both runs end (no hang); each step either finds the other run's work
    done or underway, or fails clearly (one run's config can reset the other's passed precheck). A third apply
    then converges."""
    manifest = env.write([task(f"p{i}") for i in range(5)])
    other = Env(env.url, env.access_key, env.secret_key, tmp_path_factory.mktemp("other"))
    other.write([task(f"p{i}") for i in range(5)])
    procs = [e.popen_apply(manifest, "--auto-approve") for e in (env, other)]
    outputs = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode in (0, 1), out + err
        assert "Traceback" not in out + err
    assert len(env.tasks()) == 5
    _named(env)
    final = env.apply(manifest, "--auto-approve")
    assert final.returncode == 0, final.stdout + final.stderr
    named = _named(env)
    assert sorted(named) == [f"p{i}" for i in range(5)] and len(env.tasks()) == 5
    assert all(t["status"] == "running" for t in named.values())
