"""The fast paths added to `dtsflow.client.signing` (used on every emulator request) agree with the plain algorithm."""

from __future__ import annotations

import random

import pytest

from dtsflow.client import signing

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _reference(value: str, keep_slash: bool) -> str:
    return "".join(
        chr(b) if b in _UNRESERVED or (keep_slash and b == 0x2F) else f"%{b:02X}" for b in value.encode("utf-8")
    )


def test_uri_encode_matches_the_byte_by_byte_definition() -> None:
    rng = random.Random(5)
    alphabet = "aZ09-_.~/ +=:%?&#\n\t\x00é测试😀"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        for keep_slash in (False, True):
            assert signing.uri_encode(text, keep_slash=keep_slash) == _reference(text, keep_slash)


@pytest.mark.parametrize(
    "text",
    [
        "2023-1-14T22:13:20Z",
        "2023-13-14T22:13:20Z",
        "2023-11-14 22:13:20Z",
        "2023-11-14T22:13:20",
        "٢٠٢٣-11-14T22:13:20Z",
    ],
)
def test_timestamps_other_than_the_exact_bce_form_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        signing.parse_timestamp(text)
    assert signing.parse_authorization(f"bce-auth-v1/ak/{text}/1800//abc") is None


def test_timestamp_round_trip() -> None:
    assert signing.parse_timestamp("2023-11-14T22:13:20Z").timestamp() == 1700000000
    assert signing.format_timestamp(signing.parse_timestamp("2023-11-14T22:13:20Z")) == "2023-11-14T22:13:20Z"
