"""Verification of BCE auth v1 signatures, with the same functions the client signs with (`dtsflow.client.signing`)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dtsflow.client import signing
from dtsflow.emulator.config import FUTURE_SKEW_SECONDS
from dtsflow.emulator.failures import ApiFailure


@dataclass(frozen=True, slots=True)
class Credential:
    secret_key: str
    security_token: str | None = None  # when set, the request must carry this `x-bce-security-token` (STS)


@dataclass(slots=True)
class KeyRing:
    """Access key id -> credential. The emulator's own pair plus any extra ones given at start-up."""

    keys: dict[str, Credential] = field(default_factory=dict)

    def add(self, access_key: str, secret_key: str, security_token: str | None = None) -> None:
        self.keys[access_key] = Credential(secret_key, security_token or None)


def verify(
    keys: KeyRing,
    method: str,
    path: str,
    params: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    now: float,
) -> str:
    """Check the request's `Authorization`; return the access key id, or raise `ApiFailure`.

    `path` and `params` are decoded (a bare `?key` is `("key", "")`), `headers` has lower-case names.
    """
    value = headers.get("authorization", "")
    if not value:
        raise ApiFailure(403, "AccessDenied", "The request carries no Authorization header")
    parsed = signing.parse_authorization(value)
    if parsed is None:
        raise ApiFailure(400, "InvalidHTTPAuthHeader", "The Authorization header is not a valid bce-auth-v1 string")
    access_key, timestamp, expiration, signed_headers, sig = parsed
    credential = keys.keys.get(access_key)
    if credential is None:
        raise ApiFailure(403, "InvalidAccessKeyId", f"The access key id {access_key} does not exist")
    signed_at = signing.parse_timestamp(timestamp).timestamp()
    if now > signed_at + expiration:
        raise ApiFailure(400, "RequestExpired", f"The request signed at {timestamp} expired after {expiration} s")
    if signed_at > now + FUTURE_SKEW_SECONDS:
        raise ApiFailure(400, "RequestExpired", f"The request is dated {timestamp}, too far in the future")
    token = headers.get("x-bce-security-token", "")
    if credential.security_token is not None:
        if not token:
            raise ApiFailure(403, "InvalidSessionToken", "This access key needs an x-bce-security-token header")
        if not hmac.compare_digest(token.encode(), credential.security_token.encode()):
            raise ApiFailure(403, "InvalidSessionToken", "The security token is not valid")
        if signed_headers is not None and "x-bce-security-token" not in signed_headers:
            raise ApiFailure(403, "InvalidSessionToken", "The security token must be signed")
    elif token:
        raise ApiFailure(403, "InvalidSessionToken", "The security token is not valid for this access key")
    if signed_headers is not None and "host" not in signed_headers:
        raise ApiFailure(400, "InvalidHTTPAuthHeader", "The host header must be signed")
    prefix = signing.auth_string_prefix(access_key, timestamp, expiration)
    canonical, _names = signing.canonical_request(method, path, params, headers, signed_headers)
    expected = signing.signature(credential.secret_key, prefix, canonical)
    if not hmac.compare_digest(expected.encode(), sig.encode()) and signed_headers is not None:
        # bce-python-sdk with an explicit list still signs every x-bce-* header it sends; accept that form too
        widened = sorted({*signed_headers, *(h for h in headers if h.startswith("x-bce-"))})
        canonical, _names = signing.canonical_request(method, path, params, headers, widened)
        expected = signing.signature(credential.secret_key, prefix, canonical)
    if not hmac.compare_digest(expected.encode(), sig.encode()):
        raise ApiFailure(
            400,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided",
        )
    return access_key
