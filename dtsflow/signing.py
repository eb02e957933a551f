"""BCE auth v1 (`bce-auth-v1`) signing, as pure functions.

The client signs with these and the emulator verifies with the same code, so both agree by construction;
the test vectors of `reference/dts-api.md` §5.2 and the official `bce-python-sdk` signer keep them honest.
Only standard-library imports: the emulator and the client both load this module.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

AUTH_VERSION = "bce-auth-v1"
DEFAULT_EXPIRATION_SECONDS = 1800
DEFAULT_HEADERS_TO_SIGN = frozenset({"host", "content-length", "content-type", "content-md5"})
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def uri_encode(value: str, *, keep_slash: bool = False) -> str:
    """RFC 3986 percent-encoding of UTF-8 bytes: unreserved characters stay, everything else is %XX."""
    out: list[str] = []
    for byte in value.encode("utf-8"):
        if byte in _UNRESERVED or (keep_slash and byte == 0x2F):
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def format_timestamp(when: datetime | float) -> str:
    """`YYYY-MM-DDThh:mm:ssZ` in UTC, the form of `x-bce-date` and of the auth string."""
    if not isinstance(when, datetime):
        when = datetime.fromtimestamp(when, UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_uri(path: str) -> str:
    """The decoded request path, re-encoded except for slashes; empty becomes `/`."""
    if not path:
        return "/"
    return "/" + uri_encode(path[1:] if path.startswith("/") else path, keep_slash=True)


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """Sorted `key=value` strings (a bare key signs as `key=`), without any `authorization` parameter."""
    items = [f"{uri_encode(key)}={uri_encode(value)}" for key, value in params if key.lower() != "authorization"]
    return "&".join(sorted(items))


def canonical_headers(
    headers: Mapping[str, str], headers_to_sign: Iterable[str] | None = None
) -> tuple[str, list[str]]:
    """The canonical header block and the sorted names it covers.

    With no explicit list, the default set plus every `x-bce-*` header is signed (Go SDK behaviour);
    `x-bce-request-id` is left out as the Go SDK does, and headers with empty values are skipped.
    """
    wanted = DEFAULT_HEADERS_TO_SIGN if headers_to_sign is None else {h.lower() for h in headers_to_sign}
    lines: list[str] = []
    names: list[str] = []
    for name, raw in headers.items():
        lower = name.lower()
        if lower == "authorization":
            continue
        signed = lower in wanted or (
            headers_to_sign is None and lower.startswith("x-bce-") and lower != "x-bce-request-id"
        )
        value = str(raw).strip()
        if not signed or not value:
            continue
        lines.append(f"{uri_encode(lower)}:{uri_encode(value)}")
        names.append(lower)
    return "\n".join(sorted(lines)), sorted(names)


def canonical_request(
    method: str,
    path: str,
    params: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    headers_to_sign: Iterable[str] | None = None,
) -> tuple[str, list[str]]:
    """`METHOD\\nURI\\nQUERY\\nHEADERS` (no trailing newline, no payload hash) and the signed header names."""
    block, names = canonical_headers(headers, headers_to_sign)
    text = "\n".join([method.upper(), canonical_uri(path), canonical_query(params), block])
    return text, names


def auth_string_prefix(access_key_id: str, timestamp: str, expiration: int = DEFAULT_EXPIRATION_SECONDS) -> str:
    return f"{AUTH_VERSION}/{access_key_id}/{timestamp}/{expiration}"


def signature(secret_access_key: str, prefix: str, canonical: str) -> str:
    """HMAC-SHA256 with the hex signing key (itself an HMAC of the prefix) as key."""
    signing_key = hmac.new(secret_access_key.encode(), prefix.encode(), hashlib.sha256).hexdigest()
    return hmac.new(signing_key.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def authorization(
    access_key_id: str,
    secret_access_key: str,
    method: str,
    path: str,
    params: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    *,
    timestamp: str,
    expiration: int = DEFAULT_EXPIRATION_SECONDS,
) -> str:
    """The full `Authorization` header value, Go-style: explicit, sorted signed-header list."""
    prefix = auth_string_prefix(access_key_id, timestamp, expiration)
    canonical, names = canonical_request(method, path, params, headers)
    return f"{prefix}/{';'.join(names)}/{signature(secret_access_key, prefix, canonical)}"


def parse_authorization(value: str) -> tuple[str, str, int, list[str] | None, str] | None:
    """Split an Authorization header into (access key, timestamp, expiration, signed headers, signature).

    Returns None when the header is malformed. An empty signed-header list (what bce-python-sdk sends by
    default) is returned as None, meaning "the default set", as the BCE docs say.
    """
    parts = value.strip().split("/")
    if len(parts) != 6 or parts[0] != AUTH_VERSION:
        return None
    _, access_key, timestamp, expiration, signed, sig = parts
    if not access_key or not sig or not expiration.isdigit():
        return None
    try:
        datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    names = [n for n in signed.split(";") if n] or None
    return access_key, timestamp, int(expiration), names, sig


def parse_timestamp(timestamp: str) -> datetime:
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
