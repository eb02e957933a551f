"""`HttpDtsClient`: the `DtsClient` protocol over HTTP, signed, retried, bounded and counted.

One pooled `httpx.Client` serves every thread (httpx clients are thread-safe; creating one costs ~35 ms, so it
is never done per request). A semaphore bounds the requests in flight, an optional token bucket bounds the
request rate, and a shared retry budget bounds the retries of the whole run. Each attempt is a fresh request,
so `BceAuth` signs it again with a fresh `x-bce-date`.

What is logged (logger `dtsflow.client`, DEBUG): operation, method, path, attempt, status, code and request id.
Never a header, never a body: request bodies hold passwords, and headers hold the signature and STS token.
"""

from __future__ import annotations

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
from dtsflow.client.auth import BceAuth
from dtsflow.client.errors import REQUEST_ID_HEADER, error_from_exception, error_from_response
from dtsflow.client.models import (
    ConfigTaskRequest,
    CreateTaskRequest,
    CreateTaskResponse,
    GetPrecheckResponse,
    ListTasksRequest,
    ListTasksResponse,
    RenameRequest,
    ResizeRequest,
    ResizeResponse,
    SuccessResponse,
    check_request,
)
from dtsflow.client.retry import Backoff, ClientStats, RateLimiter, RetryBudget, is_retryable, parse_retry_after
from dtsflow.credentials import Credentials
from dtsflow.errors import ApiError
from dtsflow.live import LiveTask, PrecheckItem, strip_secrets
from dtsflow.signing import uri_encode

log = logging.getLogger("dtsflow.client")

DEFAULT_TIMEOUT = 30.0  # seconds per attempt (read/write/pool); connecting gets at most 10 s
DEFAULT_MAX_ATTEMPTS = 4  # 1 try + 3 retries, as both Baidu SDKs
DEFAULT_MAX_IN_FLIGHT = 32
MAX_PAGES = 100_000  # a bound on list pagination, against a server that never stops saying "more"

_Model = TypeVar("_Model", bound=BaseModel)
Query = Sequence[tuple[str, str | None]]  # None: a bare key (`?skipPrecheck`), as the Go SDK sends it


def _parse(model: type[_Model], data: Any, operation: str) -> _Model:
    """A response model, or `ApiError(200, "MalformedResponse")` naming the fields (never values) that did not fit."""
    try:
        return model.model_validate(data if data is not None else {})
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
        clock: Callable[[], float] = time.time,
        trust_env: bool = True,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.endpoint = endpoint.rstrip("/")
        self.stats = ClientStats()
        self.budget = retry_budget if retry_budget is not None else RetryBudget()
        self.backoff = Backoff(attempts=max_attempts, base=backoff_base, cap=backoff_cap)
        self._rng = rng if rng is not None else random.Random()
        self._rng_lock = threading.Lock()
        self._sleep = sleep
        self._clock = clock
        self._in_flight = threading.BoundedSemaphore(max_in_flight)
        self._limiter = RateLimiter(rate_limit, sleep=sleep) if rate_limit else None
        self._http = httpx.Client(
            auth=BceAuth(credentials, clock=clock),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight),
            headers={"user-agent": f"dtsflow/{__version__}"},
            follow_redirects=False,  # a redirect must never carry a signed request somewhere else
            trust_env=trust_env,
        )

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
    ) -> Any:
        """Send one API request with retries; the parsed JSON answer (secrets stripped), or None when empty."""
        qs = _query_string(query)
        url = self.endpoint + path + (f"?{qs}" if qs else "")
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() if body is not None else None
        spent = 0  # retry-budget tokens this call has taken
        retry = 0
        while True:
            if self._limiter is not None:
                self._limiter.acquire()
            error, retry_after, timed_out, answer = self._attempt(operation, method, url, path, content)
            if error is None:
                self.budget.on_success(spent)
                return answer
            if not is_retryable(error) or retry + 1 >= self.backoff.attempts:
                self.stats.failure(operation)
                raise error
            cost = self.budget.acquire(after_timeout=timed_out)
            if cost is None:
                self.stats.failure(operation, budget_exhausted=True)
                log.debug("%s: retry budget exhausted; giving up after %d attempt(s)", operation, retry + 1)
                raise error
            spent += cost
            with self._rng_lock:
                delay = self.backoff.delay(retry, self._rng, retry_after)
            log.debug("%s: %s; retry %d in %.3f s", operation, error.code, retry + 1, delay)
            self.stats.retry(operation)
            retry += 1
            if delay > 0:
                self._sleep(delay)

    def _attempt(
        self, operation: str, method: str, url: str, path: str, content: bytes | None
    ) -> tuple[ApiError | None, float | None, bool, Any]:
        """One HTTP exchange: (error or None, Retry-After seconds, timed out?, parsed answer)."""
        with self._in_flight:
            self.stats.attempt(operation)
            try:
                response = self._http.request(method, url, content=content)
            except httpx.TransportError as exc:  # connection refused/reset, timeouts, protocol errors
                error = error_from_exception(exc, operation=operation, target=self.endpoint)
                log.debug("%s %s %s -> %s", operation, method, path, error.code)
                return error, None, isinstance(exc, httpx.TimeoutException), None
        request_id = response.headers.get(REQUEST_ID_HEADER, "")
        if response.is_success:
            log.debug("%s %s %s -> %d (requestId %s)", operation, method, path, response.status_code, request_id)
            try:
                answer = strip_secrets(json.loads(response.content)) if response.content.strip() else None
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
        error = error_from_response(response.status_code, response.content, response.headers, operation=operation)
        log.debug(
            "%s %s %s -> %d %s (requestId %s)", operation, method, path, error.status, error.code, error.request_id
        )
        retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock())
        precise = response.headers.get("x-retry-after-ms", "")  # the emulator's millisecond hint, if any
        if retry_after is not None and precise.isdigit():
            retry_after = min(retry_after, int(precise) / 1000.0)
        return error, retry_after, False, None

    # ---- operations ------------------------------------------------------------------------------------------

    @staticmethod
    def _task_path(dts_id: str, suffix: str = "") -> str:
        if not dts_id:
            raise ValueError("dts_id must not be empty")
        return f"/v1/task/{uri_encode(dts_id)}{suffix}"

    def list_page(self, *, marker: str = "", page_size: int = 1000, status: str | None = None) -> ListTasksResponse:
        """One page of `POST /v1/task/list`."""
        request = ListTasksRequest(status=status, marker=marker or None, max_keys=min(max(page_size, 1), 1000))
        return _parse(ListTasksResponse, self.call("list", "POST", "/v1/task/list", body=request.body()), "list")

    def list_tasks(self, *, status: str | None = None, page_size: int = 1000) -> list[LiveTask]:
        tasks: list[LiveTask] = []
        marker = ""
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self.list_page(marker=marker, page_size=page_size, status=status)
            tasks.extend(page.task)
            if not page.more:
                return tasks
            next_marker = page.next_marker or ""
            if not next_marker or next_marker in seen:
                # Terraform's provider loops forever here; a list that cannot advance is an error instead.
                raise ApiError(
                    200,
                    "MalformedResponse",
                    "list says more tasks follow but gives no new nextMarker",
                    operation="list",
                )
            seen.add(next_marker)
            marker = next_marker
        raise ApiError(200, "MalformedResponse", f"list did not end after {MAX_PAGES} pages", operation="list")

    def get_task(self, dts_id: str) -> LiveTask:
        return _parse(LiveTask, self.call("get", "GET", self._task_path(dts_id)), "get")

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

    def resize(self, dts_id: str, standard: str, *, client_token: str = "") -> str:
        query: list[tuple[str, str | None]] = [("standard", None)]
        if client_token:
            query.append(("clientToken", client_token))
        body = ResizeRequest(standard=standard).body()
        answer = _parse(
            ResizeResponse, self.call("resize", "PUT", self._task_path(dts_id), query=query, body=body), "resize"
        )
        return answer.order_id
