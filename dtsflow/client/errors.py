"""One mapping from a failed HTTP exchange to `ApiError(status, code, message, request_id, operation=)`.

The official Python SDK crashes on an error body without all of `code`, `message` and `requestId`; here an
empty, truncated or non-JSON body still gives a clear error: the code is derived from the status as the Go SDK
does (400 `InvalidHTTPRequest`, 403 `AccessDenied`, 412 `PreconditionFailed`, 500 `InternalError`, otherwise the
reason phrase without spaces), and the request id falls back to the `x-bce-request-id` header.
"""

from __future__ import annotations

import http
import json
from collections.abc import Mapping
from typing import Any

from dtsflow.client.live import strip_secrets
from dtsflow.errors import ApiError

REQUEST_ID_HEADER = "x-bce-request-id"
_CODES_BY_STATUS = {400: "InvalidHTTPRequest", 403: "AccessDenied", 412: "PreconditionFailed", 500: "InternalError"}
_EXCERPT = 160  # characters of a non-JSON error body shown to the user


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP status {status}"


def code_for_status(status: int) -> str:
    if status in _CODES_BY_STATUS:
        return _CODES_BY_STATUS[status]
    try:
        return http.HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        return f"HTTP{status}"


def _printable(text: str) -> str:
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return cleaned[:_EXCERPT] + ("..." if len(cleaned) > _EXCERPT else "")


def _text_field(data: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def error_from_response(status: int, body: bytes, headers: Mapping[str, str], *, operation: str = "") -> ApiError:
    """The `ApiError` for a non-2xx answer, whatever its body looks like."""
    header_id = headers.get(REQUEST_ID_HEADER, "")
    fallback_code = code_for_status(status)
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return ApiError(status, fallback_code, f"{_reason(status)} (empty error body)", header_id, operation=operation)
    try:
        data = strip_secrets(json.loads(text))
    except ValueError:
        message = f"{_reason(status)}; the error body is not JSON: {_printable(text)!r}"
        return ApiError(status, fallback_code, message, header_id, operation=operation)
    if not isinstance(data, dict):
        message = f"{_reason(status)}; unexpected error body {_printable(text)!r}"
        return ApiError(status, fallback_code, message, header_id, operation=operation)
    code = _text_field(data, "code", "Code") or fallback_code
    message = _text_field(data, "message", "Message") or f"{_reason(status)} (no message in the error body)"
    request_id = _text_field(data, "requestId", "RequestId", "request_id") or header_id
    return ApiError(status, code, message, request_id, operation=operation)


def error_from_exception(exc: Exception, *, operation: str = "", target: str = "") -> ApiError:
    """`ApiError(0, code, ...)` for any httpx error of a request that got no usable HTTP answer: "Timeout",
    "ConnectionError" (refused, reset, protocol errors), "MalformedResponse" (a body that cannot be decoded),
    "TooManyRedirects", or "RequestError" for any other."""
    import httpx

    detail = _printable(str(exc) or type(exc).__name__)
    where = f" to {target}" if target else ""
    if isinstance(exc, httpx.TimeoutException):
        code, what = "Timeout", f"no answer{where}"
    elif isinstance(exc, httpx.TransportError):
        code, what = "ConnectionError", f"no answer{where}"
    elif isinstance(exc, httpx.DecodingError):
        code, what = "MalformedResponse", f"an answer{where} that cannot be decoded"
    elif isinstance(exc, httpx.TooManyRedirects):
        code, what = "TooManyRedirects", f"redirected too often{where}"
    else:
        code, what = "RequestError", f"the request{where} failed"
    return ApiError(0, code, f"{what}: {type(exc).__name__}: {detail}", operation=operation)
