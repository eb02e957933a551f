"""`HttpDtsClient`: the `DtsClient` protocol over HTTP, signed, retried, bounded and counted.

One pooled `httpx.Client` serves every thread (httpx clients are thread-safe; creating one costs ~35 ms, so it
is never done per request). A semaphore bounds the requests in flight, an optional token bucket bounds the
request rate, and a shared retry budget bounds the retries of the whole run. Each attempt is a fresh request,
so `BceAuth` signs it again with a fresh `x-bce-date`.

What is logged (logger `dtsflow.client`, DEBUG): operation, method, path, attempt, status, code and request id.
Never a header, never a body: request bodies hold passwords, and headers hold the signature and STS token.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from dtsflow import __version__
from dtsflow.background import Background
from dtsflow.client.auth import BceAuth
from dtsflow.client.credentials import Credentials, access_key_digest
from dtsflow.client.deadline import deadline
from dtsflow.client.deadline import install as install_deadline
from dtsflow.client.errors import REQUEST_ID_HEADER, error_from_exception, error_from_response
from dtsflow.client.live import SECRETS_STRIPPED, LiveTask, PairPrecheck, PrecheckItem, loads_without_secrets
from dtsflow.client.models import (
    AssignTagsRequest,
    ConfigTaskRequest,
    CreateTaskRequest,
    CreateTaskResponse,
    GetPrecheckResponse,
    ListPageHead,
    ListTasksRequest,
    ListTasksResponse,
    RenameRequest,
    ResizeRequest,
    ResizeResponse,
    RollbackCheckResponse,
    RollbackConfigRequest,
    RollbackPrecheckResponse,
    SuccessResponse,
    SwitchRequest,
    check_request,
)
from dtsflow.client.retry import (
    AdaptiveThrottle,
    Backoff,
    ClientStats,
    RateLimiter,
    RetryBudget,
    is_retryable,
    parse_retry_after,
)
from dtsflow.client.reverse import delay_seconds, pair_delay
from dtsflow.client.signing import uri_encode
from dtsflow.clock import SYSTEM_CLOCK, Clock
from dtsflow.errors import ApiError

log = logging.getLogger("dtsflow.client")

DEFAULT_TIMEOUT = 30.0  # seconds per attempt (read/write/pool); connecting gets at most 10 s
DEFAULT_MAX_ATTEMPTS = 4  # 1 try + 3 retries, as both Baidu SDKs
DEFAULT_MAX_IN_FLIGHT = 32
THROTTLED_ATTEMPTS = 10  # a 429 slows the whole run down (AdaptiveThrottle), so it may be retried longer
MAX_PAGES = 100_000  # a bound on list pagination, against a server that never stops saying "more"
MAX_ANSWER_BYTES = 16 * 1024 * 1024  # one answer; a page of 1,000 tasks is well under 4 MiB
MAX_LIST_TASKS = 200_000  # tasks one paginated list may hold in memory
DEFAULT_TOTAL_SECONDS = 120.0  # one attempt, however slowly the answer trickles in (httpx's timeout is per read)

_Model = TypeVar("_Model", bound=BaseModel)
Query = Sequence[tuple[str, str | None]]  # None: a bare key (`?skipPrecheck`), as the Go SDK sends it


def _parse(model: type[_Model], data: Any, operation: str) -> _Model:
    """A response model of an answer of `call` (decoded without secrets), or `ApiError(200, "MalformedResponse")`
    naming the fields (never values) that did not fit."""
    try:
        return model.model_validate(data if data is not None else {}, context={SECRETS_STRIPPED: True})
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '$'}: {err['msg']}" for err in exc.errors()[:5])
        raise ApiError(200, "MalformedResponse", f"unexpected answer: {where}", operation=operation) from None


def _query_string(query: Query) -> str:
    return "&".join(uri_encode(k) if v is None else f"{uri_encode(k)}={uri_encode(v)}" for k, v in query)


class HttpDtsClient:
    """The DTS API client. Thread-safe: share one instance between all workers of a run."""

    def __init__(
        self,
        endpoint: str,
        credentials: Credentials,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_budget: RetryBudget | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        rate_limit: float | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        backoff_base: float = 0.3,
        backoff_cap: float = 20.0,
        clock: Clock = SYSTEM_CLOCK,
        trust_env: bool = True,
        on_throttled: Callable[[], None] | None = None,
        total_timeout: float = DEFAULT_TOTAL_SECONDS,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        endpoint_label: str | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.endpoint = endpoint.rstrip("/")
        self.endpoint_label = endpoint_label or self.endpoint
        """What a saved plan records as its endpoint (`embedded emulator` for `--emulator`: its port changes)."""
        self.key_digest = access_key_digest(credentials.access_key_id)
        """A hash of the access key id (never the id itself): which account a saved plan was made with."""
        self.total_timeout = total_timeout
        self.max_answer_bytes = max_answer_bytes
        self.stats = ClientStats()
        self.budget = retry_budget if retry_budget is not None else RetryBudget()
        self.backoff = Backoff(attempts=max_attempts, base=backoff_base, cap=backoff_cap)
        self._rng = rng if rng is not None else random.Random()
        self._rng_lock = threading.Lock()
        self._sleep = sleep
        self._clock = clock
        self._in_flight = threading.BoundedSemaphore(max_in_flight)
        self._limiter = RateLimiter(rate_limit, clock=clock) if rate_limit else None
        self.throttle = AdaptiveThrottle(sleep=lambda seconds: self._sleep(seconds))
        self._on_throttled = on_throttled  # told once, at the run's first 429
        self._http = httpx.Client(
            auth=BceAuth(credentials, clock=clock.now),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight),
            headers={"user-agent": f"dtsflow/{__version__}"},
            follow_redirects=False,  # a redirect must never carry a signed request somewhere else
            trust_env=trust_env,
        )
        # Every pool (proxies included) gets the per-attempt total time bound (see dtsflow.client.deadline).
        install_deadline([self._http._transport, *self._http._mounts.values()])

    def __repr__(self) -> str:
        return f"HttpDtsClient({self.endpoint!r})"

    def __enter__(self) -> HttpDtsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ---- the one place requests are sent ---------------------------------------------------------------------

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: dict[str, Any] | None = None,
        idempotent: bool = True,
    ) -> Any:
        """Send one API request with retries; the parsed JSON answer (secrets stripped), or None when empty.

        `idempotent=False`: a call that must not land twice is retried only after a 429 (refused unread); any
        other failure is the caller's to judge (by reading what the service shows)."""
        qs = _query_string(query)
        url = self.endpoint + path + (f"?{qs}" if qs else "")
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() if body is not None else None
        spent = 0  # retry-budget tokens this call has taken
        retry = 0
        while True:
            if self._limiter is not None:
                self._limiter.acquire()
            sent_at = self.throttle.acquire()
            try:
                error, retry_after, timed_out, answer = self._attempt(operation, method, url, path, content, retry)
            finally:
                self.throttle.release()
            if error is None:
                self.throttle.on_success()
                self.budget.on_success(spent)
                return answer
            throttled = error.status == 429
            if throttled and self.throttle.on_throttled(sent_at, retry_after) and self._on_throttled is not None:
                self._on_throttled()
            attempts = self.backoff.attempts
            if throttled and attempts > 1:  # max_attempts=1 still means: no retry at all
                attempts = max(attempts, THROTTLED_ATTEMPTS)
            if not is_retryable(error) or retry + 1 >= attempts or not (idempotent or throttled):
                self.stats.failure(operation)
                raise error
            cost = self.budget.acquire(after_timeout=timed_out)
            if cost is None:
                self.stats.failure(operation, budget_exhausted=True)
                log.debug("%s: retry budget exhausted; giving up after %d attempt(s)", operation, retry + 1)
                raise error
            spent += cost
            with self._rng_lock:  # after a 429 the other threads wait in the throttle, this one here
                delay = self.backoff.delay(retry, self._rng, retry_after)
            log.debug("%s: %s; retry %d in %.3f s", operation, error.code, retry + 1, delay)
            self.stats.retry(operation)
            retry += 1
            if delay > 0:
                self._sleep(delay)

    def _attempt(
        self, operation: str, method: str, url: str, path: str, content: bytes | None, retry: int = 0
    ) -> tuple[ApiError | None, float | None, bool, Any]:
        """One HTTP exchange: (error or None, Retry-After seconds, timed out?, parsed answer).

        Logged at DEBUG (`--debug`, `DTSFLOW_LOG=debug`): operation, method, path (ids only), status or error
        code, request id, duration and retry number; never a header, a query string or a body."""
        began = time.monotonic()

        def took() -> str:
            return f"{(time.monotonic() - began) * 1000:.0f} ms, retry {retry}"

        with self._in_flight:
            self.stats.attempt(operation)
            try:
                with deadline(self.total_timeout), self._http.stream(method, url, content=content) as response:
                    body = self._read_bounded(response)
            except httpx.HTTPError as exc:  # refused/reset, timeouts, protocol errors, an undecodable body, ...
                error = error_from_exception(exc, operation=operation, target=self.endpoint)
                log.debug("%s %s %s -> %s (%s)", operation, method, path, error.code, took())
                return error, None, isinstance(exc, httpx.TimeoutException), None
        if body is None:
            too_large = ApiError(
                response.status_code,
                "AnswerTooLarge",
                f"the answer is larger than {self.max_answer_bytes // (1024 * 1024)} MiB; refused",
                response.headers.get(REQUEST_ID_HEADER, ""),
                operation=operation,
            )
            return too_large, None, False, None
        request_id = response.headers.get(REQUEST_ID_HEADER, "")
        if response.is_success:
            log.debug(
                "%s %s %s -> %d (requestId %s, %s)", operation, method, path, response.status_code, request_id, took()
            )
            try:
                answer = loads_without_secrets(body) if body.strip() else None
            except ValueError:
                error = ApiError(
                    response.status_code,
                    "MalformedResponse",
                    "the answer is not JSON",
                    request_id,
                    operation=operation,
                )
                return error, None, False, None
            return None, None, False, answer
        error = error_from_response(response.status_code, body, response.headers, operation=operation)
        log.debug(
            "%s %s %s -> %d %s (requestId %s, %s)",
            operation,
            method,
            path,
            error.status,
            error.code,
            error.request_id,
            took(),
        )
        retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock.now())
        return error, retry_after, False, None

    def _read_bounded(self, response: httpx.Response) -> bytes | None:
        """The answer's body, or None when it is larger than `max_answer_bytes` (reading stops there)."""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_answer_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_answer_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    # ---- operations ------------------------------------------------------------------------------------------

    @staticmethod
    def _task_path(dts_id: str, suffix: str = "") -> str:
        if not dts_id:
            raise ValueError("dts_id must not be empty")
        return f"/v1/task/{uri_encode(dts_id)}{suffix}"

    def _list_answer(self, marker: str, page_size: int, status: str | None, task_type: str) -> Any:
        request = ListTasksRequest(
            type=task_type, status=status, marker=marker or None, max_keys=min(max(page_size, 1), 1000)
        )
        return self.call("list", "POST", "/v1/task/list", body=request.body())

    def list_tasks(
        self, *, status: str | None = None, page_size: int = 1000, task_type: str = "migration"
    ) -> list[LiveTask]:
        """Every task of the list, page after page. The next page is asked for as soon as a page's paging fields
        are read, and arrives while that page's tasks are being read: on a list of many pages the request
        latency and the reading overlap instead of adding up."""
        tasks: list[LiveTask] = []
        seen: set[str] = set()
        pending = Background(
            functools.partial(self._list_answer, "", page_size, status, task_type), name="dtsflow-list-page"
        )
        try:
            for _ in range(MAX_PAGES):
                answer = pending.result()
                head = _parse(ListPageHead, answer, "list")
                if len(tasks) + len(head.task) > MAX_LIST_TASKS:  # before asking for another page
                    raise ApiError(
                        200,
                        "MalformedResponse",
                        f"list holds more than {MAX_LIST_TASKS} tasks; refused",
                        operation="list",
                    )
                next_marker = head.next_marker or ""
                if head.more:
                    if not next_marker or next_marker in seen:
                        # Terraform's provider loops forever here; a list that cannot advance is an error instead.
                        raise ApiError(
                            200,
                            "MalformedResponse",
                            "list says more tasks follow but gives no new nextMarker",
                            operation="list",
                        )
                    seen.add(next_marker)
                    pending = Background(
                        functools.partial(self._list_answer, next_marker, page_size, status, task_type),
                        name="dtsflow-list-page",
                    )
                tasks.extend(_parse(ListTasksResponse, answer, "list").task)
                if not head.more:
                    return tasks
        except Exception:
            pending.settle()  # none still in flight when the caller closes the client
            raise
        raise ApiError(200, "MalformedResponse", f"list did not end after {MAX_PAGES} pages", operation="list")

    def get_task(self, dts_id: str) -> LiveTask:
        answer = self.call("get", "GET", self._task_path(dts_id))
        if isinstance(answer, dict) and answer.get("dtsId") in (None, ""):
            answer = {**answer, "dtsId": dts_id}  # the id we asked for, when the answer leaves it out
        return _parse(LiveTask, answer, "get")

    def create_task(self, body: dict[str, Any], *, client_token: str) -> str:
        check_request(CreateTaskRequest, body, "create")
        if not client_token or len(client_token) > 64 or not client_token.isascii():
            raise ValueError("client_token must be 1-64 ASCII characters")
        answer = _parse(
            CreateTaskResponse,
            self.call("create", "POST", "/v1/task", query=[("clientToken", client_token)], body=body),
            "create",
        )
        ids = [t.dts_id for t in answer.dts_tasks if t.dts_id]
        if not ids:
            raise ApiError(200, "MalformedResponse", "create answered without a dtsId", operation="create")
        return ids[0]

    def config_task(self, dts_id: str, body: dict[str, Any]) -> None:
        check_request(ConfigTaskRequest, body, "config")
        self.call("config", "POST", self._task_path(dts_id, "/config"), body=body)

    def _action(self, operation: str, method: str, path: str, query: Query = ()) -> None:
        answer = _parse(SuccessResponse, self.call(operation, method, path, query=query), operation)
        if answer.success is False:
            reason = answer.message or (answer.result if isinstance(answer.result, str) else "") or "no reason given"
            raise ApiError(200, f"{operation[0].upper()}{operation[1:]}Failed", str(reason), operation=operation)

    def precheck(self, dts_id: str) -> None:
        self._action("precheck", "POST", self._task_path(dts_id, "/precheck"))

    def get_precheck(self, dts_id: str) -> list[PrecheckItem]:
        answer = _parse(
            GetPrecheckResponse, self.call("getPrecheck", "GET", self._task_path(dts_id, "/precheck")), "getPrecheck"
        )
        return answer.result

    def skip_precheck(self, dts_id: str) -> None:
        self._action("skipPrecheck", "PUT", self._task_path(dts_id), [("skipPrecheck", None)])

    def start(self, dts_id: str) -> None:
        self._action("start", "POST", self._task_path(dts_id, "/start"))

    def pause(self, dts_id: str) -> None:
        self._action("pause", "POST", self._task_path(dts_id, "/pause"))

    def shutdown(self, dts_id: str) -> None:
        self._action("shutdown", "POST", self._task_path(dts_id, "/shutdown"))

    def delete(self, dts_id: str) -> None:
        self._action("delete", "DELETE", self._task_path(dts_id))

    def rename(self, dts_id: str, name: str) -> None:
        body = RenameRequest(task_name=name).body()
        self.call("rename", "PUT", self._task_path(dts_id), query=[("name", None)], body=body)

    def assign_tags(self, dts_id: str, tags: list[dict[str, str]]) -> None:
        if not dts_id:
            raise ValueError("dts_id must not be empty")
        body = AssignTagsRequest.model_validate({"resources": [{"resourceId": dts_id, "tags": tags}]}).body()
        self.call("assignTags", "PUT", "/v1/task/tag/assign", body=body)

    def resize(self, dts_id: str, standard: str, *, client_token: str = "") -> str:
        query: list[tuple[str, str | None]] = [("standard", None)]
        if client_token:
            query.append(("clientToken", client_token))
        body = ResizeRequest(standard=standard).body()
        answer = _parse(
            ResizeResponse, self.call("resize", "PUT", self._task_path(dts_id), query=query, body=body), "resize"
        )
        return answer.order_id

    # ---- the one-click reverse family ------------------------------------------------------------------------

    def rollback_config(self, dts_id: str, body: dict[str, Any]) -> None:
        check_request(RollbackConfigRequest, body, "rollbackConfig")
        self.call("rollbackConfig", "POST", self._task_path(dts_id, "/newRollback/config"), body=body)

    def get_rollback_precheck(self, dts_id: str) -> PairPrecheck:
        answer = _parse(
            RollbackPrecheckResponse,
            self.call("rollbackPrecheck", "GET", self._task_path(dts_id, "/rollback/precheck")),
            "rollbackPrecheck",
        )
        return PairPrecheck(forward=answer.result.pos_check_results, reverse=answer.result.neg_check_results)

    def rollback_delay(self, dts_id: str) -> float:
        answer = _parse(
            RollbackCheckResponse,
            self.call("rollbackCheck", "POST", self._task_path(dts_id, "/newRollbackCheck")),
            "rollbackCheck",
        )
        if answer.success is False:
            raise ApiError(200, "RollbackCheckFailed", answer.message or "no reason given", operation="rollbackCheck")
        return pair_delay(delay_seconds(entry.delay) for entry in answer.result.data)

    def switch(self, dts_id: str, position: dict[str, str] | None = None) -> None:
        body = {"updateParams": {"position": dict(position)} if position else {}}
        check_request(SwitchRequest, body, "rollback")
        # Not idempotent (a repeated switch switches back: dtsflow/client/reverse.py), so never retried blindly.
        answer = _parse(
            SuccessResponse,
            self.call("rollback", "POST", self._task_path(dts_id, "/rollback"), body=body, idempotent=False),
            "rollback",
        )
        if answer.success is False:
            reason = answer.message or (answer.result if isinstance(answer.result, str) else "") or "no reason given"
            raise ApiError(200, "RollbackFailed", str(reason), operation="rollback")
