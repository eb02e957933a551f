"""BCE auth v1 (`bce-auth-v1`) signing, as pure functions.

The client signs with these and the emulator verifies with the same code, so both agree by construction;
the test vectors of the BCE signing documentation and the official `bce-python-sdk` signer keep them honest.
Only standard-library imports: the emulator and the client both load this module.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

AUTH_VERSION = "bce-auth-v1"
DEFAULT_EXPIRATION_SECONDS = 1800
DEFAULT_HEADERS_TO_SIGN = frozenset({"host", "content-length", "content-type", "content-md5"})
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
# byte -> its encoding, with and without keeping "/" (the emulator encodes every request: keep this fast)
_ENCODED = tuple(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256))
_ENCODED_KEEP_SLASH = tuple("/" if b == 0x2F else e for b, e in enumerate(_ENCODED))
_PLAIN = re.compile(r"[A-Za-z0-9\-_.~]*")
_PLAIN_OR_SLASH = re.compile(r"[A-Za-z0-9\-_.~/]*")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def uri_encode(value: str, *, keep_slash: bool = False) -> str:
    """RFC 3986 percent-encoding of UTF-8 bytes: unreserved characters stay, everything else is %XX."""
    if (_PLAIN_OR_SLASH if keep_slash else _PLAIN).fullmatch(value):
        return value
    table = _ENCODED_KEEP_SLASH if keep_slash else _ENCODED
    return "".join([table[byte] for byte in value.encode("utf-8")])


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
        parse_timestamp(timestamp)
    except ValueError:
        return None
    names = [n for n in signed.split(";") if n] or None
    return access_key, timestamp, int(expiration), names, sig


def parse_timestamp(timestamp: str) -> datetime:
    """`YYYY-MM-DDThh:mm:ssZ` (exactly that form) as an aware UTC datetime; ValueError otherwise."""
    if not _TIMESTAMP.fullmatch(timestamp):
        raise ValueError(f"not a BCE timestamp: {timestamp!r}")
    return datetime.fromisoformat(timestamp[:-1]).replace(tzinfo=UTC)
