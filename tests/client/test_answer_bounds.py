"""The client bounds what a server can make it hold: an answer's size, a paginated list's length, and each
attempt's total time (a server that sends one byte at a time cannot hold a request open)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from dtsflow.client import http as client_http
from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from dtsflow.errors import ApiError
from tests.client.scripted_server import Answer, ScriptedServer

CREDS = Credentials("AK-test", "CANARY-bounds-sk")


@contextmanager
def trickling_server(interval: float) -> Iterator[str]:
    """Answers every request with a status line, then one byte every `interval` seconds, forever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()

    def trickle(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                while not stop.is_set():
                    conn.sendall(b"X")
                    time.sleep(interval)
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_a_trickling_answer_cannot_hold_a_request_open() -> None:
    outcome: list[BaseException | None] = []
    with trickling_server(0.2) as url:
        client = HttpDtsClient(url, CREDS, trust_env=False, max_attempts=1, total_timeout=1.0, timeout=30.0)

        def call() -> None:
            try:
                client.get_task("dtsm1")
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - reported below
                outcome.append(exc)

        worker = threading.Thread(target=call, daemon=True)
        worker.start()
        worker.join(20)  # without the bound the read timeout restarts with every byte: it would never end
        client.close()
    assert outcome, "the request was still open after 20 s"
    assert isinstance(outcome[0], ApiError) and outcome[0].status == 0


def test_an_oversized_answer_is_refused_and_not_retried() -> None:
    body = json.dumps({"dtsId": "dtsm1", "taskName": "x" * (2 * 1024 * 1024)}).encode()
    server = ScriptedServer([Answer(200, body)] * 4)
    with server.running():
        client = HttpDtsClient(server.url, CREDS, trust_env=False, max_answer_bytes=1024 * 1024, sleep=lambda s: None)
        with pytest.raises(ApiError) as info:
            client.get_task("dtsm1")
        client.close()
    assert info.value.code == "AnswerTooLarge"
    assert len(server.seen) == 1


def test_a_paginated_list_is_bounded_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_http, "MAX_LIST_TASKS", 5)
    pages = [
        Answer(
            200,
            json.dumps(
                {
                    "task": [{"dtsId": f"dtsm{p}{i}", "taskName": f"t{p}{i}", "status": "running"} for i in range(2)],
                    "isTruncated": True,
                    "nextMarker": f"m{p}",
                    "marker": "",
                    "maxKeys": 2,
                }
            ).encode(),
        )
        for p in range(10)
    ]
    server = ScriptedServer(pages)
    with server.running():
        client = HttpDtsClient(server.url, CREDS, trust_env=False, sleep=lambda s: None)
        with pytest.raises(ApiError, match="more than 5 tasks"):
            client.list_tasks()
        client.close()
    assert len(server.seen) == 3


def test_the_bound_is_installed_in_every_pool() -> None:
    client = HttpDtsClient("http://127.0.0.1:9", CREDS, trust_env=False)
    pool = client._http._transport._pool  # type: ignore[attr-defined]
    assert type(pool._network_backend).__name__ == "DeadlineBackend"
    client.close()


def test_a_redirect_is_not_followed() -> None:
    """A redirect must never carry a signed request somewhere else."""
    elsewhere = ScriptedServer([], default=Answer(200, b"{}"))
    with elsewhere.running():
        redirecting = ScriptedServer([], default=Answer(302, b"", {"Location": elsewhere.url + "/v1/task/dtsm1"}))
        with redirecting.running():
            client = HttpDtsClient(redirecting.url, CREDS, trust_env=False, sleep=lambda s: None)
            with pytest.raises(ApiError):
                client.get_task("dtsm1")
            client.close()
    assert elsewhere.seen == []
