"""The HTTP/1.1 server: routing, authentication, faults, the admin endpoints, and `start_in_thread`.

Built on `http.server.ThreadingHTTPServer` (one thread per connection, keep-alive). Two things keep it fast:
`disable_nagle_algorithm` on every accepted socket, and each response written with a single `write`, so no
response waits on Nagle + delayed ACK (about 40 ms a request otherwise; see anchors-reliability-perf.md §1d).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from dtsflow.client.loopback import is_loopback_host
from dtsflow.clock import SYSTEM_CLOCK, Clock
from dtsflow.emulator.auth import KeyRing, verify
from dtsflow.emulator.config import ADMIN_TOKEN_HEADER, DEV_ACCESS_KEY, DEV_SECRET_KEY, MAX_BODY_BYTES
from dtsflow.emulator.durations import Durations, durations_from
from dtsflow.emulator.engine import SECRET_KEYS, Engine
from dtsflow.emulator.failures import ApiFailure
from dtsflow.emulator.faults import Faults
from dtsflow.emulator.store import StateError, Store

_LITERALS = {("POST", "list"): "list", ("POST", "listWithPage"): "listWithPage", ("POST", "schema"): "schema"}
_ACTIONS = {
    "start": "start",
    "pause": "pause",
    "shutdown": "shutdown",
    "config": "config",
    "newRollbackCheck": "rollbackCheck",
    "rollback": "rollback",
}
_PAIR_ROUTES = {
    ("newRollback", "config"): ("POST", "rollbackConfig"),
    ("rollback", "precheck"): ("GET", "rollbackPrecheck"),
}
_ADMIN_BODY_BYTES = 64 << 20
CLIENT_GONE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
"""Socket errors that only mean the client went away."""


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("***" if str(k).lower() in SECRET_KEYS else _masked(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _record(method: str, path: str, query: str, raw: bytes, op: str, dts_id: str, result: Any) -> dict[str, Any]:
    try:
        body = _masked(json.loads(raw)) if raw.strip() else None
    except ValueError:
        body = "(not JSON)"
    if op == "create" and isinstance(result, dict):
        dts_id = str(((result.get("dtsTasks") or [{}])[0] or {}).get("dtsId") or "")
    return {"method": method, "path": path, "query": query, "body": body, "op": op, "dtsId": dts_id}


def route(method: str, path: str, query_keys: set[str]) -> tuple[str, str] | tuple[None, str]:
    """(operation, dtsId) for a `/v1` request; (None, reason) when nothing matches.

    Literal segments (`list`, `listWithPage`, `schema`, `vpc`) are matched before `{dtsId}`; `PUT /v1/task/{id}`
    is dispatched on which query key is present.
    """
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "" or parts[1] != "v1" or parts[2] != "task":
        return None, "uri"
    rest = parts[3:]
    if not rest or rest == [""]:
        return ("create", "") if method == "POST" else (None, "method")
    if len(rest) == 1:
        name = rest[0]
        if name in ("list", "listWithPage", "schema"):
            op = _LITERALS.get((method, name))
            return (op, "") if op else (None, "method")
        if name == "vpc":
            return ("vpc", "") if method == "GET" else (None, "method")
        if method == "GET":
            return "get", name
        if method == "DELETE":
            return "delete", name
        if method == "PUT":
            for key, op in (("skipPrecheck", "skipPrecheck"), ("name", "rename"), ("standard", "resize")):
                if key in query_keys:
                    return op, name
            return None, "uri"
        return None, "method"
    if len(rest) == 2:
        name, action = rest
        if (name, action) == ("tag", "assign"):
            return ("assignTags", "") if method == "PUT" else (None, "method")
        if action == "precheck":
            if method == "POST":
                return "precheck", name
            if method == "GET":
                return "getPrecheck", name
            return None, "method"
        if action in _ACTIONS:
            return (_ACTIONS[action], name) if method == "POST" else (None, "method")
    if len(rest) == 3:  # the one-click reverse family: newRollback/config, rollback/precheck
        pair_route = _PAIR_ROUTES.get((rest[1], rest[2]))
        if pair_route is not None:
            wanted, operation = pair_route
            return (operation, rest[0]) if method == wanted else (None, "method")
    return None, "uri"


def parse_query(raw: str) -> list[tuple[str, str]]:
    """Decoded query parameters; a bare `key` (Go) and `key=` (Python) both give ("key", "")."""
    params: list[tuple[str, str]] = []
    for part in raw.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        params.append((unquote(key), unquote(value)))
    return params


class Stats:
    """Request counters by operation, HTTP status and injected fault (in memory, per server process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: dict[str, int] = {}
            self.statuses: dict[str, int] = {}
            self.outcomes: dict[str, dict[str, int]] = {}
            self.faults: dict[str, int] = {}
            self.total = 0

    def count(self, op: str) -> None:
        with self._lock:
            self.requests[op] = self.requests.get(op, 0) + 1
            self.total += 1

    def outcome(self, op: str, outcome: int | str) -> None:
        """An answer to a call of `op`: its HTTP status, or "dropped" when the connection was closed instead."""
        key = str(outcome)
        with self._lock:
            if isinstance(outcome, int):
                self.statuses[key] = self.statuses.get(key, 0) + 1
            per_op = self.outcomes.setdefault(op, {})
            per_op[key] = per_op.get(key, 0) + 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] = self.faults.get(kind, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "total": self.total,
                "statuses": dict(self.statuses),
                "outcomes": {op: dict(counts) for op, counts in self.outcomes.items()},
                "faults": dict(self.faults),
            }


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], engine: Engine, keys: KeyRing, faults: Faults, verbose: bool) -> None:
        self.engine = engine
        self.keys = keys
        self.faults = faults
        self.stats = Stats()
        self.verbose = verbose
        self.recorded: list[dict[str, Any]] | None = None  # RunningEmulator.record_requests()
        # Printed at start-up; an admin request carries it in ADMIN_TOKEN_HEADER (or is loopback JSON, see _admin).
        self.admin_token = secrets.token_urlsafe(24)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)

    def set_faults(self, spec: dict[str, Any] | None) -> None:
        faults = Faults(spec)
        self.faults = faults
        self.engine.configure_tokens(dedupe=faults.dedupe_tokens, ttl_s=faults.token_ttl_s)
        self.engine.configure_lag(faults.lag_for)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that is killed or hangs up mid-request (crash tests do it on purpose) is not a server error:
        # no traceback for it. Anything else is still reported by the base class.
        if isinstance(sys.exc_info()[1], CLIENT_GONE):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Drop every open keep-alive connection (their handler threads then end)."""
        with self._open_lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EmulatorServer6(EmulatorServer):
    address_family = socket.AF_INET6


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "dtsflow-emulator"
    timeout = 300  # an idle keep-alive connection is closed after this many seconds
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._refuse_method()

    def do_OPTIONS(self) -> None:
        self._refuse_method()

    def _refuse_method(self) -> None:
        self._op = None
        self._read_body(MAX_BODY_BYTES)
        request_id = str(uuid.uuid4())
        self._error(ApiFailure(405, "MethodNotAllowed", f"{self.command} is not supported"), request_id)

    # ---- plumbing ------------------------------------------------------------------------------------------

    def _read_body(self, limit: int) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            size = 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    length = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    raise ApiFailure(400, "InvalidHTTPRequest", "Malformed chunked request body") from None
                if length == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                size += length
                if size > limit:
                    self.close_connection = True  # the rest of the body stays unread: never read it as a request
                    raise ApiFailure(413, "EntityTooLarge", "The request body is too large")
                chunks.append(self.rfile.read(length))
                self.rfile.readline(1024)
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            raise ApiFailure(400, "InvalidHTTPRequest", "Content-Length is not a number") from None
        if length < 0 or length > limit:
            self.close_connection = True
            raise ApiFailure(413, "EntityTooLarge", "The request body is too large")
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: Any, request_id: str, extra: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        lines = [
            f"HTTP/1.1 {status} {reason}",
            f"Date: {formatdate(usegmt=True)}",
            "Server: dtsflow-emulator",
            f"x-bce-request-id: {request_id}",
            f"Content-Length: {len(payload)}",
        ]
        if body is not None:
            lines.append("Content-Type: application/json;charset=UTF-8")
        for name, value in (extra or {}).items():
            lines.append(f"{name}: {value}")
        if self.close_connection:
            lines.append("Connection: close")
        try:
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            self.wfile.write(head if self.command == "HEAD" else head + payload)
        except OSError:  # the client went away; nothing left to tell it
            self.close_connection = True
            return
        if self.server.verbose:
            self.log_request(status)

    def _error(self, failure: ApiFailure, request_id: str) -> None:
        if self._op is not None:
            self.server.stats.outcome(self._op, failure.status)
        body = {"requestId": request_id, "code": failure.code, "message": failure.message}
        self._send(failure.status, body, request_id, failure.headers)

    def _drop(self) -> None:
        """Close the connection without any answer (the change is already committed)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    _op: str | None = None  # the /v1 operation being answered (None for admin requests), for the stats

    def _dispatch(self) -> None:
        self._op = None
        request_id = str(uuid.uuid4())
        raw_path, _, raw_query = self.path.partition("?")
        path = unquote(raw_path)
        try:
            if path.startswith("/_emulator/"):
                self._admin(path, raw_query, request_id)
            else:
                self._api(path, raw_query, request_id)
        except ApiFailure as failure:
            self._error(failure, request_id)
        except Exception as exc:  # never a traceback to the client; one line on the console when verbose
            if self.server.verbose:
                self.log_error("internal error: %s: %s", type(exc).__name__, exc)
            self._error(ApiFailure(500, "InternalError", "We encountered an internal error"), request_id)

    @staticmethod
    def _json(raw: bytes) -> dict[str, Any]:
        if not raw.strip():
            return {}
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiFailure(400, "MalformedJSON", "The JSON you provided was not well-formed") from None
        if not isinstance(value, dict):
            raise ApiFailure(400, "InappropriateJSON", "The JSON you provided must be an object")
        return value

    # ---- /v1 -----------------------------------------------------------------------------------------------

    def _api(self, path: str, raw_query: str, request_id: str) -> None:
        server = self.server
        faults = server.faults
        body_raw = self._read_body(MAX_BODY_BYTES)
        params = parse_query(raw_query)
        query = dict(params)
        op, dts_id = route(self.command, path, set(query))
        self._op = op or "unknown"
        server.stats.count(self._op)
        wait = faults.throttle()
        if wait is not None:
            server.stats.fault("rate_limited")
            retry_after = max(1, int(wait + 0.999))
            raise ApiFailure(
                429,
                "RequestLimitExceeded",
                "Too many requests; slow down",
                {"Retry-After": str(retry_after), "x-retry-after-ms": str(int(wait * 1000) + 1)},
            )
        delay = faults.delay()
        if delay:
            time.sleep(delay)
        headers = {k.lower(): v for k, v in self.headers.items()}
        verify(server.keys, self.command, path, params, headers, time.time() + faults.clock_skew_s)
        digest = headers.get("content-md5")
        if digest and digest.strip() != base64.b64encode(hashlib.md5(body_raw).digest()).decode():
            raise ApiFailure(400, "BadDigest", "The Content-MD5 you specified did not match what we received")
        if op is None:
            if dts_id == "method":
                raise ApiFailure(405, "MethodNotAllowed", f"{self.command} is not allowed on {path}")
            raise ApiFailure(400, "InvalidURI", f"The URI {path} does not name any DTS operation")
        injected = faults.injected_error(op)
        if injected is not None:
            server.stats.fault(injected[0])
            raise injected[1]
        result = self._run(op, dts_id, query, body_raw)
        if server.recorded is not None:
            server.recorded.append(_record(self.command, path, raw_query, body_raw, op, dts_id, result))
        if faults.drop(op):
            server.stats.fault("drop_response")
            server.stats.outcome(op, "dropped")
            self._drop()
            return
        server.stats.outcome(op, 200)
        self._send(200, result, request_id)

    def _run(self, op: str, dts_id: str, query: dict[str, str], body_raw: bytes) -> Any:
        engine = self.server.engine
        needs_body = op in (
            "create", "list", "listWithPage", "config", "rename", "resize", "schema", "rollbackConfig", "rollback",
            "assignTags",
        )  # fmt: skip
        body = self._json(body_raw) if needs_body else {}
        if op == "create":
            return engine.create(body, query.get("clientToken", ""))
        if op == "get":
            return engine.get(dts_id)
        if op == "list":
            return engine.list_tasks(body)
        if op == "listWithPage":
            return engine.list_with_page(body)
        if op == "config":
            return engine.config(dts_id, body)
        if op == "precheck":
            return engine.precheck(dts_id)
        if op == "getPrecheck":
            return engine.get_precheck(dts_id)
        if op == "skipPrecheck":
            return engine.skip_precheck(dts_id)
        if op == "start":
            return engine.start(dts_id)
        if op == "pause":
            return engine.pause(dts_id)
        if op == "shutdown":
            return engine.shutdown(dts_id)
        if op == "delete":
            return engine.delete(dts_id)
        if op == "rename":
            engine.rename(dts_id, body)
            return None
        if op == "assignTags":
            engine.assign_tags(body)
            return {"success": True}
        if op == "resize":
            return engine.resize(dts_id, body, query.get("clientToken", ""))
        if op == "rollbackConfig":
            return engine.rollback_config(dts_id, body)
        if op == "rollbackPrecheck":
            return engine.get_rollback_precheck(dts_id)
        if op == "rollbackCheck":
            return engine.rollback_check(dts_id)
        if op == "rollback":
            return engine.switch(dts_id, body)
        if op == "schema":
            return {"success": True, "result": {"schemaAll": {}}}
        if op == "vpc":
            return {"vpcs": []}
        raise ApiFailure(400, "InvalidURI", "unknown operation")

    # ---- /_emulator ----------------------------------------------------------------------------------------

    def _admin_allowed(self) -> bool:
        """The start-up token, or a request a web page cannot make: a loopback `Host` (no DNS rebinding) and, to
        change anything, a JSON content type (a cross-site form cannot send one without a CORS preflight, which the
        emulator never grants)."""
        token = self.headers.get(ADMIN_TOKEN_HEADER, "")
        if token and hmac.compare_digest(token.encode(), self.server.admin_token.encode()):
            return True
        host = urlsplit("//" + (self.headers.get("Host") or "")).hostname or ""
        if not (host == "localhost" or is_loopback_host(host)):
            return False
        if self.command in ("GET", "HEAD"):
            return True
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        return content_type == "application/json"

    def _admin(self, path: str, raw_query: str, request_id: str) -> None:
        if not is_loopback_host(str(self.client_address[0])):
            self.close_connection = True  # the body stays unread: do not reuse this connection
            raise ApiFailure(403, "AccessDenied", "The admin endpoints answer loopback clients only")
        if not self._admin_allowed():
            self.close_connection = True
            raise ApiFailure(
                403,
                "AccessDenied",
                f"Admin requests need the {ADMIN_TOKEN_HEADER} header printed at start-up, or a loopback Host "
                "and Content-Type: application/json",
            )
        server = self.server
        body = self._json(self._read_body(_ADMIN_BODY_BYTES))
        key = (self.command, path.rstrip("/"))
        result: Any
        if key == ("GET", "/_emulator/stats"):
            result = server.stats.snapshot()
        elif key == ("POST", "/_emulator/stats/reset"):
            server.stats.reset()
            result = {"success": True}
        elif key == ("GET", "/_emulator/faults"):
            result = server.faults.describe()
        elif key == ("POST", "/_emulator/faults"):
            try:
                server.set_faults(body)
            except (ValueError, TypeError) as exc:
                raise ApiFailure(400, "InvalidParameter", str(exc)) from None
            result = server.faults.describe()
        elif key == ("POST", "/_emulator/reset"):
            server.engine.store.reset()
            result = {"success": True}
        elif key == ("GET", "/_emulator/tasks"):
            result = {"tasks": server.engine.dump()}
        elif key == ("POST", "/_emulator/tasks"):
            specs = body.get("tasks")
            if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
                raise ApiFailure(400, "InappropriateJSON", "tasks must be an array of objects")
            result = {"dtsIds": server.engine.seed(specs)}
        else:
            raise ApiFailure(404, "NotFound", f"No admin endpoint {self.command} {path}")
        self._send(200, result, request_id)


class RunningEmulator:
    """An emulator serving in a background thread; `stop()` (or leaving the `with` block) ends it."""

    def __init__(self, server: EmulatorServer, thread: threading.Thread, state_path: str, temp_dir: str | None):
        self._server = server
        self._thread = thread
        self._temp_dir = temp_dir
        self.state_path = state_path
        host, port = server.server_address[:2]
        self.host = str(host)
        self.port = int(port)
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{shown}:{self.port}"
        first = next(iter(server.keys.keys.items()))
        self.access_key = first[0]
        self.secret_key = first[1].secret_key
        self.admin_token = server.admin_token  # for the admin endpoints' ADMIN_TOKEN_HEADER
        self._stopped = False

    @property
    def engine(self) -> Engine:
        return self._server.engine

    @property
    def stats(self) -> dict[str, Any]:
        return self._server.stats.snapshot()

    def reset_stats(self) -> None:
        self._server.stats.reset()

    def set_faults(self, faults: dict[str, Any] | None) -> None:
        self._server.set_faults(faults)

    def record_requests(self) -> list[dict[str, Any]]:
        """From now on keep every answered `/v1` request: method, path, raw query, body (every password masked),
        operation and task id (for a create, the id it answered). The returned list fills as requests come."""
        recorded: list[dict[str, Any]] = []
        self._server.recorded = recorded
        return recorded

    def seed(self, specs: list[dict[str, Any]]) -> list[str]:
        return self._server.engine.seed(specs)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server.engine.store.close()
        if self._temp_dir:
            shutil.rmtree(self._temp_dir, ignore_errors=True)

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningEmulator(url={self.url!r}, state_path={self.state_path!r})"


def make_server(
    *,
    state_path: str,
    host: str,
    port: int,
    access_key: str,
    secret_key: str,
    time_scale: float,
    faults: dict[str, Any] | None,
    security_token: str | None = None,
    extra_keys: list[tuple[str, str, str | None]] | None = None,
    durations: Durations | dict[str, float] | None = None,
    verbose: bool = False,
    clock: Clock = SYSTEM_CLOCK,
    realism: str = "plain",
) -> EmulatorServer:
    fault_state = Faults(faults)
    durations = durations_from(durations)
    keys = KeyRing()
    keys.add(access_key, secret_key, security_token)
    for ak, sk, token in extra_keys or []:
        keys.add(ak, sk, token)
    parent = os.path.dirname(os.path.abspath(state_path))
    if not os.path.isdir(parent):
        try:
            os.makedirs(parent, mode=0o700, exist_ok=True)  # like .dtsflow/ made by the client: private
        except OSError as exc:
            raise StateError(f"{state_path}: cannot create its directory ({exc.strerror or exc})") from None
    store = Store(state_path)  # StateError when the file is not a usable state file
    engine = Engine(store, time_scale=time_scale, durations=durations_from(durations), clock=clock)
    engine.configure_realism(realism)
    server_class = EmulatorServer6 if ":" in host else EmulatorServer
    try:
        server = server_class((host, port), engine, keys, fault_state, verbose)
    except OSError:
        store.close()
        raise
    server.set_faults(faults)
    return server


def start_in_thread(
    *,
    state_path: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    access_key: str = DEV_ACCESS_KEY,
    secret_key: str = DEV_SECRET_KEY,
    time_scale: float = 1.0,
    faults: dict[str, Any] | None = None,
    security_token: str | None = None,
    extra_keys: list[tuple[str, str, str | None]] | None = None,
    durations: Durations | dict[str, float] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    realism: str = "plain",
) -> RunningEmulator:
    """Serve an emulator from a daemon thread on `host:port` (port 0 = ephemeral); use it as a context manager.

    `state_path=None` uses a fresh temporary state removed at `stop()`. `time_scale` multiplies every
    asynchronous duration (1.0 = seconds for a person watching; tests use ~0.01). `faults` takes the keys of
    `POST /_emulator/faults` (docs/emulator.md). `security_token` turns the key pair into an STS pair that
    must send that `x-bce-security-token`; `extra_keys` adds (access key, secret key, token or None) triples.
    `durations` overrides emulated seconds of phases (`precheck`, `pause`, `shutdown`, `schema_load`,
    `base_load`, `run_failure`) before `time_scale` applies. `clock` (default: the system clock) drives the tasks'
    timelines: a test passes a `dtsflow.clock.ManualClock` and advances it instead of sleeping. `realism`:
    `plain` (one tidy answer shape) or `variants` (every shape the API documentation leaves open; see
    `dtsflow.emulator.realism`).
    """
    temp_dir = None
    if state_path is None:
        temp_dir = tempfile.mkdtemp(prefix="dtsflow-emulator-")
        state_path = os.path.join(temp_dir, "state.sqlite3")
    try:
        server = make_server(
            state_path=state_path,
            host=host,
            port=port,
            access_key=access_key,
            secret_key=secret_key,
            time_scale=time_scale,
            faults=faults,
            security_token=security_token,
            extra_keys=extra_keys,
            durations=durations,
            clock=clock,
            realism=realism,
        )
    except BaseException:
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="dtsflow-emulator", daemon=True
    )
    thread.start()
    return RunningEmulator(server, thread, state_path, temp_dir)
