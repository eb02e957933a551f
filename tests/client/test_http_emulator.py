"""HttpDtsClient against the real emulator over loopback HTTP: every operation, pagination, error mapping,
retries counted by the emulator's own `/_emulator/stats`, the retry budget, and `--emulator` via `open_client`."""

from __future__ import annotations

import json
import logging
import random
import stat
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from dtsflow.client.retry import RetryBudget
from dtsflow.client.wire import config_body, create_body
from dtsflow.clock import ManualClock
from dtsflow.commands.args import ApiOptions
from dtsflow.commands.connect import open_client
from dtsflow.emulator import start_in_thread
from dtsflow.errors import ApiError
from dtsflow.manifest.model import TaskSpec
from tests.helpers import client_token_for

DB_PASSWORD = "CANARY-db-password-91"
TIME_SCALE = 0.005


def spec(name: str, *, increment: bool = True, host: str = "10.0.0.1") -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "name": name,
            "standard": "large",
            "src": {
                "instanceType": "public",
                "dbType": "mysql",
                "region": "bj",
                "host": host,
                "port": 3306,
                "user": "reader",
                "password": "${secret:PW}",
            },
            "dst": {
                "instanceType": "public",
                "dbType": "kafka",
                "region": "bj",
                "host": "kafka.internal",
                "port": 9092,
            },
            "dataType": ["schema", "base", "increment"] if increment else ["schema", "base"],
            "objects": [{"type": "table", "src": "shop.orders"}],
        }
    )


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    with start_in_thread(time_scale=TIME_SCALE) as emu:
        yield emu


class Admin:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, trust_env=False, timeout=10)

    def stats(self) -> dict[str, Any]:
        return dict(self.http.get("/_emulator/stats").json())

    def faults(self, faults: dict[str, Any]) -> None:
        self.http.post("/_emulator/faults", json=faults).raise_for_status()

    def tasks(self) -> list[dict[str, Any]]:
        return list(self.http.get("/_emulator/tasks").json()["tasks"])


@pytest.fixture
def admin(emulator: Any) -> Iterator[Admin]:
    adm = Admin(emulator.url)
    adm.http.post("/_emulator/reset", json={}).raise_for_status()
    adm.faults({})
    adm.http.post("/_emulator/stats/reset", json={}).raise_for_status()
    yield adm
    adm.faults({})
    adm.http.close()


def make_client(emu: Any, slept: list[float] | None = None, **options: Any) -> HttpDtsClient:
    record = slept.append if slept is not None else (lambda s: None)
    return HttpDtsClient(
        emu.url,
        Credentials(emu.access_key, emu.secret_key),
        rng=random.Random(5),
        sleep=record,
        trust_env=False,
        **options,
    )


def wait_for(client: HttpDtsClient, dts_id: str, statuses: set[str], limit: float = 10.0) -> str:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        status = client.get_task(dts_id).status
        if status in statuses:
            return status
        time.sleep(0.01)
    raise AssertionError(f"{dts_id} never reached {statuses}")


def resolve(ref: str) -> str:
    return DB_PASSWORD


def test_every_operation(emulator: Any, admin: Admin) -> None:
    with make_client(emulator) as client:
        s = spec("every-op")
        token = client_token_for(s)
        dts_id = client.create_task(create_body(s), client_token=token)
        assert client.create_task(create_body(s), client_token=token) == dts_id  # same token, same task
        assert client.get_task(dts_id).status == "unConfig"
        client.config_task(dts_id, config_body(s, resolve))
        task = client.get_task(dts_id)
        assert (task.status, task.task_name) == ("ready", "every-op")
        assert task.src_connection.db_host == "10.0.0.1" and DB_PASSWORD not in task.model_dump_json()
        client.precheck(dts_id)
        assert wait_for(client, dts_id, {"checkPass", "checkFailed"}) == "checkPass"
        items = client.get_precheck(dts_id)
        assert items and all(not item.failed for item in items) and all(item.name for item in items)
        client.start(dts_id)
        wait_for(client, dts_id, {"running"})
        assert client.resize(dts_id, "xlarge", client_token="resize-1")
        assert client.get_task(dts_id).pay_info.standard.lower() == "xlarge"
        client.rename(dts_id, "every-op-renamed")
        assert client.get_task(dts_id).task_name == "every-op-renamed"
        client.pause(dts_id)
        wait_for(client, dts_id, {"stopped"})
        client.shutdown(dts_id)
        wait_for(client, dts_id, {"finished"})
        assert [t.dts_id for t in client.list_tasks()] == [dts_id]
        client.delete(dts_id)
        with pytest.raises(ApiError) as info:
            client.get_task(dts_id)
        assert info.value.status == 404 and info.value.request_id
        assert client.list_tasks() == []
        # The emulator counted exactly the requests the client says it sent.
        served = admin.stats()["requests"]
        assert {op: n for op, n in served.items() if n} == dict(client.stats.requests)
        assert client.stats.total_retries == 0


def test_skip_precheck_of_a_failed_check(emulator: Any, admin: Admin) -> None:
    with make_client(emulator) as client:
        s = spec("binlog", host="db-binlog-off.internal")
        dts_id = client.create_task(create_body(s), client_token=client_token_for(s))
        client.config_task(dts_id, config_body(s, resolve))
        client.precheck(dts_id)
        assert wait_for(client, dts_id, {"checkPass", "checkFailed"}) == "checkFailed"
        failed = [item for item in client.get_precheck(dts_id) if item.failed]
        assert failed and all(item.message for item in failed)
        client.skip_precheck(dts_id)
        assert client.get_task(dts_id).status == "checkPass"


def test_pagination_follows_markers(emulator: Any, admin: Admin) -> None:
    with make_client(emulator) as client:
        ids = {client.create_task(create_body(spec(f"page-{i:02d}")), client_token=f"page-{i}") for i in range(23)}
        admin.http.post("/_emulator/stats/reset", json={})
        listed = client.list_tasks(page_size=10)
        assert sorted(t.dts_id for t in listed) == sorted(ids)
        assert admin.stats()["requests"].get("list") == 3  # 10 + 10 + 3
        assert client.list_tasks(status="running", page_size=10) == []


def test_error_mapping(emulator: Any, admin: Admin) -> None:
    with make_client(emulator) as client:
        with pytest.raises(ApiError) as info:
            client.get_task("dtsmdoesnotexist")
        err = info.value
        assert (err.status, err.code, err.operation) == (404, "InstanceNotExist", "get") and err.request_id
        assert str(err).startswith("get: HTTP 404 InstanceNotExist: ") and err.request_id in str(err)

        s = spec("wrong-state")
        dts_id = client.create_task(create_body(s), client_token=client_token_for(s))
        admin.http.post("/_emulator/stats/reset", json={})
        with pytest.raises(ApiError) as info:
            client.start(dts_id)  # unConfig cannot start
        assert (info.value.status, info.value.code) == (400, "InvalidInstanceStatus")
        assert "unConfig" in info.value.message
        assert admin.stats()["requests"] == {"start": 1}  # a 4xx is never retried

    wrong = HttpDtsClient(emulator.url, Credentials(emulator.access_key, "not-the-secret"), trust_env=False)
    with wrong, pytest.raises(ApiError) as info:
        wrong.list_tasks()
    assert info.value.code == "SignatureDoesNotMatch" and info.value.status in (400, 403)
    assert wrong.stats.requests["list"] == 1

    unknown = HttpDtsClient(emulator.url, Credentials("no-such-ak", "x"), trust_env=False)
    with unknown, pytest.raises(ApiError) as info:
        unknown.list_tasks()
    assert (info.value.status, info.value.code) == (403, "InvalidAccessKeyId")


def test_retries_on_503_counted_by_the_emulator(emulator: Any, admin: Admin) -> None:
    admin.faults({"fail_next": {"get": {"count": 2, "status": 503, "code": "ServiceUnavailable"}}})
    slept: list[float] = []
    with make_client(emulator, slept) as client:
        s = spec("retry-503")
        dts_id = client.create_task(create_body(s), client_token=client_token_for(s))
        assert client.get_task(dts_id).dts_id == dts_id
    stats = admin.stats()
    assert stats["requests"]["get"] == 3 and stats["faults"].get("fail_next") == 2
    assert client.stats.retries["get"] == 2 and len(slept) == 2
    assert slept[0] <= 0.3 and slept[1] <= 0.6


def test_throttling_429_retry_after(emulator: Any, admin: Admin) -> None:
    admin.faults({"rate_limit_rps": 20, "rate_limit_burst": 1})
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        time.sleep(0.06)  # the emulator's bucket (20 a second) refills in 50 ms; Retry-After says whole seconds

    with make_client(emulator, None, max_attempts=6) as client:
        client._sleep = sleep  # record, and wait long enough for the emulator's bucket to refill
        for _ in range(4):
            client.list_tasks()
    stats = admin.stats()
    assert stats["faults"].get("rate_limited", 0) >= 1
    assert client.stats.total_retries == stats["faults"]["rate_limited"]
    # Retry-After honoured, not the jittered backoff; after a 429 the run also spaces its requests out (at about the
    # rate the service accepted just before: here one request in the last second, so about a second apart).
    assert delays[0] == 1.0 and all(0 < d <= 2.0 for d in delays[1:])


def test_retry_budget_bounds_requests_when_the_service_is_down(emulator: Any, admin: Admin) -> None:
    admin.faults({"error_rate": 1.0})
    with make_client(emulator, retry_budget=RetryBudget(capacity=30)) as client:
        for _ in range(10):
            with pytest.raises(ApiError) as info:
                client.list_tasks()
            assert info.value.status == 503
    # 10 calls; without a budget 40 requests would reach the failing service, with it 10 + 30/5.
    assert admin.stats()["requests"]["list"] == 16
    assert client.stats.budget_exhausted >= 6


def test_open_client_with_emulator_persists_state(tmp_path: Path) -> None:
    args = ApiOptions(endpoint=None, emulator=True, profile=None, allow_insecure_http=False, rate_limit=None)
    s = spec("persisted")
    with open_client(args, cwd=tmp_path) as client:
        dts_id = client.create_task(create_body(s), client_token=client_token_for(s))
        client.config_task(dts_id, config_body(s, resolve))
    state_dir = tmp_path / ".dtsflow"
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert (state_dir / "emulator.sqlite3").exists()
    with open_client(args, cwd=tmp_path) as client:
        assert [(t.dts_id, t.task_name) for t in client.list_tasks()] == [(dts_id, "persisted")]


# ---- the fault test of the issue ------------------------------------------------------------------------------


def test_200_mixed_operations_under_faults_reach_the_expected_state(emulator: Any, admin: Admin) -> None:
    """30% of requests answered 503, a quarter of create responses dropped after the commit: every task still
    ends exactly where it should, and every clientToken maps to exactly one task."""
    from concurrent.futures import ThreadPoolExecutor

    admin.faults({"error_rate": {"*": 0.3}, "drop_response": {"create": {"probability": 0.25}}, "seed": 11})
    tasks = 20
    ops: list[str] = []
    results: dict[str, dict[str, Any]] = {}

    # 20 attempts: a create attempt fails with p = 0.3 + 0.7 * 0.25 = 0.475, so a call fails all 20 with p < 4e-7.
    with make_client(emulator, max_attempts=20) as client:

        def run(i: int) -> None:
            calls: list[str] = []

            def do(name: str, fn: Callable[[], Any]) -> Any:
                calls.append(name)
                return fn()

            s = spec(f"fault-{i:02d}")
            token = client_token_for(s)
            first = do("create", lambda: client.create_task(create_body(s), client_token=token))
            again = do("create", lambda: client.create_task(create_body(s), client_token=token))
            do("config", lambda: client.config_task(first, config_body(s, resolve)))
            do("get", lambda: client.get_task(first))
            if i % 2:
                do("rename", lambda: client.rename(first, f"fault-{i:02d}-r"))
            do("precheck", lambda: client.precheck(first))
            while do("get", lambda: client.get_task(first)).status not in ("checkPass", "checkFailed"):
                time.sleep(0.005)
            do("getPrecheck", lambda: client.get_precheck(first))
            if i % 3:
                do("start", lambda: client.start(first))
            do("list", lambda: client.list_tasks(page_size=7))
            do("get", lambda: client.get_task(first))
            results[token] = {"first": first, "again": again, "i": i, "calls": calls}

        with ThreadPoolExecutor(max_workers=6) as pool:
            for future in [pool.submit(run, i) for i in range(tasks)]:
                future.result(timeout=60)
        for r in results.values():
            ops.extend(r["calls"])
        stats = admin.stats()
        live = {t.dts_id: t for t in client.list_tasks()}

    assert len(ops) >= 200, len(ops)  # at least 9 per task, +1 for odd (rename), +1 unless i % 3 == 0 (start)
    assert stats["faults"].get("error_rate", 0) >= 40  # the faults really happened
    assert stats["faults"].get("drop_response", 0) >= 3
    assert client.stats.total_retries >= stats["faults"]["error_rate"]

    # Every clientToken maps to exactly one task, and there is no other task.
    assert len(results) == tasks
    assert all(r["first"] == r["again"] for r in results.values())
    assert len({r["first"] for r in results.values()}) == tasks
    assert set(live) == {r["first"] for r in results.values()}
    dumped = admin.tasks()
    assert len(dumped) == tasks

    for r in results.values():
        i, task = r["i"], live[r["first"]]
        assert task.task_name == (f"fault-{i:02d}-r" if i % 2 else f"fault-{i:02d}")
        assert task.status == ("running" if i % 3 else "checkPass"), (i, task.status)
    assert DB_PASSWORD not in json.dumps(dumped)


def test_canary_secret_key_never_leaks_against_the_emulator(caplog: pytest.LogCaptureFixture) -> None:
    canary = "CANARY-emulator-secret-3f9a"
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with start_in_thread(time_scale=TIME_SCALE, secret_key=canary, faults={"fail_next": {"get": 2}}) as emu:
        with HttpDtsClient(emu.url, Credentials(emu.access_key, canary), sleep=lambda s: None, trust_env=False) as c:
            s = spec("canary")
            dts_id = c.create_task(create_body(s), client_token=client_token_for(s))
            c.config_task(dts_id, config_body(s, resolve))
            texts.append(repr(c.get_task(dts_id)))  # two injected 500s, then success
            for call in (lambda: c.start(dts_id), lambda: c.get_task("dtsmnope")):
                with pytest.raises(ApiError) as info:
                    call()
                texts += [str(info.value), repr(info.value), "".join(traceback.format_exception(info.value))]
            texts += [repr(c), repr(vars(c))]
        wrong = HttpDtsClient(emu.url, Credentials(emu.access_key, canary + "x"), trust_env=False)
        with wrong, pytest.raises(ApiError) as info:
            wrong.list_tasks()
        texts += [str(info.value), "".join(traceback.format_exception(info.value))]
    assert any(r.name.startswith("httpx") for r in caplog.records)
    texts += [r.getMessage() for r in caplog.records] + [caplog.text]
    for text in texts:
        assert canary not in text and DB_PASSWORD not in text


def test_sts_credentials_against_the_emulator() -> None:
    with start_in_thread(time_scale=TIME_SCALE, security_token="sts-token-1") as emu:
        good = HttpDtsClient(emu.url, Credentials(emu.access_key, emu.secret_key, "sts-token-1"), trust_env=False)
        with good:
            assert good.list_tasks() == []
        for token in (None, "sts-token-2"):
            bad = HttpDtsClient(emu.url, Credentials(emu.access_key, emu.secret_key, token), trust_env=False)
            with bad, pytest.raises(ApiError) as info:
                bad.list_tasks()
            assert 400 <= info.value.status < 500 and bad.stats.requests["list"] == 1


def test_client_side_rate_limit_keeps_under_the_server_cap(emulator: Any, admin: Admin) -> None:
    admin.faults({"rate_limit_rps": 40, "rate_limit_burst": 10})

    def one(client: HttpDtsClient) -> int:
        try:
            client.list_tasks()
        except ApiError as exc:
            assert exc.status == 429
            return 1
        return 0

    # Without a client-side limit the cap is hit. The 30 calls go at once: sent one after another, a loaded
    # machine can space them wider than the server's refill, and none was refused (a flake seen in CI).
    with make_client(emulator, max_attempts=1) as unlimited, ThreadPoolExecutor(max_workers=15) as pool:
        rejected = sum(pool.map(lambda _: one(unlimited), range(30)))
    assert rejected > 0
    time.sleep(0.3)  # let the server's bucket refill
    admin.http.post("/_emulator/stats/reset", json={})
    with HttpDtsClient(
        emulator.url,
        Credentials(emulator.access_key, emulator.secret_key),
        trust_env=False,
        max_attempts=1,
        rate_limit=35,
    ) as limited:
        for _ in range(30):
            limited.list_tasks()  # would raise on a 429
    stats = admin.stats()
    assert stats["requests"]["list"] == 30 and stats["faults"].get("rate_limited", 0) == 0


def test_client_side_rate_limit_spaces_requests_on_the_injected_clock(emulator: Any, admin: Admin) -> None:
    clock = ManualClock()
    sent_when: list[float] = []  # clock time after each answer the worker got
    with HttpDtsClient(
        emulator.url,
        Credentials(emulator.access_key, emulator.secret_key),
        trust_env=False,
        max_attempts=1,
        rate_limit=4,
        clock=clock,
    ) as client:

        def worker() -> None:
            for _ in range(5):
                client.list_tasks()
                sent_when.append(clock.monotonic())

        thread = threading.Thread(target=worker)
        thread.start()
        for step in range(1, 5):
            # The worker waits for its next slot: the server has seen exactly the requests sent so far.
            clock.settle(1)
            assert admin.stats()["requests"]["list"] == step and clock.monotonic() == pytest.approx((step - 1) / 4)
            clock.run_to_next_deadline(1)
        thread.join(10)
    assert sent_when == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])  # 4 per second of clock time, no real sleep
    assert admin.stats()["requests"]["list"] == 5
