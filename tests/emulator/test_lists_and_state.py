"""List pagination and filters, clientToken idempotency, persistence across restarts, the admin endpoints."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from dtsflow.clock import ManualClock
from dtsflow.emulator import RunningEmulator, start_in_thread
from tests.emulator.apiclient import Api
from tests.rawapi import config_body, create_body


def _all_pages(api: Api, body: dict) -> tuple[list[str], int]:  # type: ignore[type-arg]
    ids: list[str] = []
    marker = ""
    calls = 0
    while True:
        page = api.call("POST", "/v1/task/list", body={**body, "marker": marker})
        calls += 1
        assert page.status == 200, page.body
        assert set(page.body) == {"marker", "maxKeys", "isTruncated", "nextMarker", "task"}
        assert page.body["marker"] == marker
        ids += [t["dtsId"] for t in page.body["task"]]
        if not page.body["isTruncated"]:
            assert page.body["nextMarker"] == ""
            return ids, calls
        marker = page.body["nextMarker"]
        assert calls < 100


def test_pagination_over_2500_tasks(instant: RunningEmulator, api: Api) -> None:
    # seeded through the in-process store (one transaction) rather than 2,500 creates over HTTP
    statuses = ["running", "stopped", "checkFailed", "ready", "finished"]
    seeded = instant.seed(
        [{"taskName": f"bulk-{i:04d}", "status": statuses[i % 5], "dataType": ["increment"]} for i in range(2500)]
    )
    ids, calls = _all_pages(api, {"type": "migration", "maxKeys": 1000})
    assert calls == 3
    assert ids == seeded  # creation order, no task twice, none missing
    default = api.call("POST", "/v1/task/list", body={"type": "migration"}).body
    assert default["maxKeys"] == 10 and len(default["task"]) == 10 and default["isTruncated"]
    clamped = api.call("POST", "/v1/task/list", body={"maxKeys": 5000}).body
    assert clamped["maxKeys"] == 1000 and len(clamped["task"]) == 1000
    running, _ = _all_pages(api, {"type": "migration", "status": "running", "maxKeys": 300})
    assert running == seeded[0::5]
    other_type, _ = _all_pages(api, {"type": "sync"})
    assert other_type == []
    named = api.call("POST", "/v1/task/list", body={"keyword": "bulk-002", "keywordType": "taskName", "maxKeys": 1000})
    assert [t["taskName"] for t in named.body["task"]] == [f"bulk-{i:04d}" for i in range(20, 30)]


def test_list_with_page(instant: RunningEmulator, api: Api) -> None:
    instant.seed([{"taskName": f"p-{i}", "status": "running"} for i in range(25)])
    first = api.call(
        "POST", "/v1/task/listWithPage", body={"types": ["migration"], "pageNo": 2, "pageSize": 10, "order": "asc"}
    ).body
    assert {k: first[k] for k in ("orderBy", "order", "pageNo", "pageSize", "totalCount")} == {
        "orderBy": "createTime",
        "order": "asc",
        "pageNo": 2,
        "pageSize": 10,
        "totalCount": 25,
    }
    assert [t["taskName"] for t in first["result"]] == [f"p-{i}" for i in range(10, 20)]
    filtered = api.call(
        "POST",
        "/v1/task/listWithPage",
        body={
            "types": ["migration"],
            "filters": [{"keywordType": "taskName", "keyword": "p-2"}],
            "orderBy": "taskName",
        },
    ).body
    assert filtered["totalCount"] == 6 and filtered["order"] == "desc"


def test_repeated_client_token_returns_the_original_task(instant: RunningEmulator, api: Api) -> None:
    first = api.create(token="tok-1").body
    assert api.create(token="tok-1").body == first
    assert api.create(token="tok-2").body != first
    mismatch = api.create(create_body(standard="small"), token="tok-1")
    assert (mismatch.status, mismatch.code) == (409, "IdempotentParameterMismatch")
    assert len(api.call("POST", "/v1/task/list", body={}).body["task"]) == 2
    too_long = api.create(token="x" * 65)
    assert (too_long.status, too_long.code) == (400, "InvalidParameter")


def test_concurrent_creates_with_one_token_make_one_task(instant: RunningEmulator) -> None:
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        client = Api(instant.url, instant.access_key, instant.secret_key)
        got = client.create(token="same-token")
        client.close()
        with lock:
            results.append(got.body["dtsTasks"][0]["dtsId"])

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 16 and len(set(results)) == 1


def test_token_dedupe_off_and_token_ttl(instant: RunningEmulator, api: Api) -> None:
    instant.set_faults({"dedupe_tokens": False})
    a, b = api.create(token="t").body, api.create(token="t").body
    assert a != b
    instant.set_faults({"token_ttl_s": 0})
    c = api.create(token="ttl").body
    time.sleep(0.01)
    assert api.create(token="ttl").body != c  # remembered for 0 s only
    instant.set_faults({})
    d = api.create(token="ttl").body
    assert api.create(token="ttl").body == d


def test_state_survives_a_restart_and_keeps_progressing(tmp_path: Path) -> None:
    state = str(tmp_path / "emulator.sqlite3")
    clock = ManualClock()
    with start_in_thread(state_path=state, time_scale=0.02, clock=clock) as emu:
        api = Api(emu.url, emu.access_key, emu.secret_key)
        kept = api.new_task("kept")
        token_id = api.create(token="persisted").body
        checking = api.new_task("checking")
        api.action(checking, "precheck")  # 60 ms of emulated time: completes while no server runs
        clock.advance(0.059)
        assert api.status(checking) == "checking"
        api.close()
    clock.advance(0.002)
    with start_in_thread(state_path=state, time_scale=0.02, clock=clock) as emu:
        api = Api(emu.url, emu.access_key, emu.secret_key)
        assert api.get(kept).body["taskName"] == "kept"
        assert api.status(checking) == "checkPass"
        assert api.create(token="persisted").body == token_id
        assert len(api.call("POST", "/v1/task/list", body={}).body["task"]) == 3
        api.close()


def test_admin_endpoints(instant: RunningEmulator, api: Api) -> None:
    api.admin("POST", "/_emulator/stats/reset")
    dts_id = api.new_task("adm")
    api.get(dts_id)
    api.get("dtsmmissing")
    stats = api.admin("GET", "/_emulator/stats").body
    assert stats["requests"] == {"create": 1, "config": 1, "get": 2}
    assert stats["total"] == 4
    assert stats["statuses"] == {"200": 3, "404": 1}
    assert stats["outcomes"] == {"create": {"200": 1}, "config": {"200": 1}, "get": {"200": 1, "404": 1}}
    assert api.admin("POST", "/_emulator/stats/reset").status == 200
    assert api.admin("GET", "/_emulator/stats").body["total"] == 0

    dump = api.admin("GET", "/_emulator/tasks").body["tasks"]
    assert [t["dtsId"] for t in dump] == [dts_id]
    assert dump[0]["_internal"]["_timeline"][0][0] == "ready"

    faults = api.admin("POST", "/_emulator/faults", {"latency_ms": 1, "fail_next": {"get": 2}}).body
    assert faults["remaining"]["fail_next"] == {"get": 2}
    assert api.admin("GET", "/_emulator/faults").body["latency_ms"] == 1
    bad = api.admin("POST", "/_emulator/faults", {"no_such_fault": 1})
    assert (bad.status, bad.code) == (400, "InvalidParameter")
    assert api.admin("POST", "/_emulator/faults", {"error_rate": {"get": 2}}).code == "InvalidParameter"
    api.admin("POST", "/_emulator/faults", {})

    seeded = api.admin("POST", "/_emulator/tasks", {"tasks": [{"taskName": "s1", "status": "checkFailed"}]}).body
    [sid] = seeded["dtsIds"]
    assert api.status(sid) == "checkFailed"
    failed = [i for i in api.call("GET", f"/v1/task/{sid}/precheck").body["result"] if i["status"] == "failed"]
    assert failed  # a seeded checkFailed task has a failed item, so skipPrecheck works on it
    assert api.admin("POST", "/_emulator/tasks", {"tasks": [{"status": "bogus"}]}).code == "InvalidParameter"

    assert api.admin("POST", "/_emulator/reset").status == 200
    assert api.call("POST", "/v1/task/list", body={}).body["task"] == []
    assert api.admin("GET", "/_emulator/nothing").status == 404
    assert api.call("POST", f"/v1/task/{dts_id}/config", body=config_body()).code == "InstanceNotExist"


def test_admin_answers_loopback_clients_only() -> None:
    from dtsflow.client.loopback import is_loopback_host as is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("127.8.9.10") and is_loopback("::1")
    assert is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("10.0.0.1") and not is_loopback("192.168.1.127") and not is_loopback("::ffff:10.0.0.1")


def test_concurrent_actions_on_one_task_are_serialised(frozen: RunningEmulator) -> None:
    """Twelve clients start the same task at once: exactly one wins, the others see it running."""
    [dts_id] = frozen.seed([{"taskName": "race", "status": "checkPass", "dataType": ["increment"]}])
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(12)

    def worker() -> None:
        client = Api(frozen.url, frozen.access_key, frozen.secret_key)
        barrier.wait(10)
        got = client.action(dts_id, "start")
        client.close()
        with lock:
            answers.append((got.status, got.code))

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(answers) == [(200, "")] + [(400, "InvalidInstanceStatus")] * 11


def test_ipv6_loopback_when_available() -> None:
    import socket

    import pytest

    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        emu = start_in_thread(host="::1", time_scale=0)
    except OSError:
        pytest.skip("IPv6 loopback not configured")
    with emu:
        assert emu.url.startswith("http://[::1]:")
        api = Api(emu.url, emu.access_key, emu.secret_key)
        api.host = "::1"
        assert api.call("POST", "/v1/task/list", body={}).status == 200
        api.close()


def test_two_emulators_on_one_state_file_share_one_consistent_state(tmp_path: Path) -> None:
    """As two `--emulator` runs in one directory would: writes of one are seen by the other, tokens are shared."""
    state = str(tmp_path / "shared.sqlite3")
    with start_in_thread(state_path=state, time_scale=0) as one, start_in_thread(state_path=state, time_scale=0) as two:
        a = Api(one.url, one.access_key, one.secret_key)
        b = Api(two.url, two.access_key, two.secret_key)
        dts_id = a.new_task("shared")
        assert b.get(dts_id).body["taskName"] == "shared"
        b.action(dts_id, "precheck")
        assert a.status(dts_id) == "checkPass"
        results: list[str] = []
        lock = threading.Lock()

        def create(url: str) -> None:
            client = Api(url, one.access_key, one.secret_key)
            got = client.create(token="both")
            client.close()
            with lock:
                results.append(got.body["dtsTasks"][0]["dtsId"])

        threads = [threading.Thread(target=create, args=(emu.url,)) for emu in (one, two) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert len(results) == 12 and len(set(results)) == 1
        ids = [t["dtsId"] for t in a.call("POST", "/v1/task/list", body={}).body["task"]]
        assert len(ids) == len(set(ids)) == 2
        a.close()
        b.close()


def test_a_file_that_is_not_a_state_file_is_a_clear_error(tmp_path: Path) -> None:
    import sqlite3

    import pytest

    from dtsflow.emulator.store import StateError
    from dtsflow.errors import ConfigError

    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="not a usable emulator state file") as caught:
        start_in_thread(state_path=str(junk))
    assert isinstance(caught.value, ConfigError)
    future = tmp_path / "future.sqlite3"
    with start_in_thread(state_path=str(future)):
        pass
    with sqlite3.connect(future) as conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='format'")
    with pytest.raises(StateError, match="state format 99 is not supported"):
        start_in_thread(state_path=str(future))


def test_a_failed_commit_never_returns_a_connection_mid_transaction(tmp_path: Path) -> None:
    import sqlite3

    from dtsflow.emulator.store import Store

    store = Store(str(tmp_path / "state.sqlite3"))
    try:
        store.read(lambda conn: conn.execute("PRAGMA foreign_keys=ON"))  # the pooled connection enforces them
        with store.write() as tx:
            tx.execute("CREATE TABLE parent(id INTEGER PRIMARY KEY)")
            tx.execute("CREATE TABLE child(pid INTEGER REFERENCES parent(id))")
        with pytest.raises(sqlite3.IntegrityError), store.write() as tx:
            tx.execute("PRAGMA defer_foreign_keys=ON")
            tx.execute("INSERT INTO child(pid) VALUES (7)")  # checked only at COMMIT, which fails
        with store.write() as tx:  # the next write works: its connection is not still inside the failed one
            tx.execute("INSERT INTO parent(id) VALUES (1)")
        assert store.read(lambda conn: conn.execute("SELECT count(*) FROM child").fetchone()[0]) == 0
    finally:
        store.close()
