"""Endpoint rules of `open_client`, lazy imports, and `.dtsflow/` creation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dtsflow.commands.args import ApiOptions
from dtsflow.commands.connect import DEFAULT_ENDPOINT, check_endpoint, open_client, resolve_endpoint
from dtsflow.errors import ConfigError
from tests.helpers import REPO


def ns(**over: Any) -> ApiOptions:
    base: dict[str, Any] = {
        "endpoint": None,
        "emulator": False,
        "profile": None,
        "allow_insecure_http": False,
        "rate_limit": None,
    }
    base.update(over)
    return ApiOptions(**base)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://dts.baidubce.com", "https://dts.baidubce.com"),
        ("https://dts.baidubce.com/", "https://dts.baidubce.com"),
        ("dts.baidubce.com", "https://dts.baidubce.com"),
        ("http://127.0.0.1:8470", "http://127.0.0.1:8470"),
        ("http://localhost:8470", "http://localhost:8470"),
        ("http://[::1]:8470", "http://[::1]:8470"),
        ("http://127.3.4.5", "http://127.3.4.5"),
    ],
)
def test_accepted_endpoints(url: str, expected: str) -> None:
    assert check_endpoint(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://dts.baidubce.com", "--allow-insecure-http"),
        ("http://10.0.0.5:8470", "--allow-insecure-http"),
        ("http://127.0.0.1.evil.example", "--allow-insecure-http"),
        ("ftp://dts.baidubce.com", "http:// or https://"),
        ("https://user:pw@dts.baidubce.com", "user information"),
        ("https://dts.baidubce.com/v1", "without a path"),
        ("https://dts.baidubce.com?x=1", "without a path"),
        ("https://dts.baidubce.com:99999", "not a valid URL"),
    ],
)
def test_refused_endpoints(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        check_endpoint(url)


def test_insecure_http_needs_the_explicit_flag() -> None:
    assert check_endpoint("http://10.0.0.5:8470", allow_insecure_http=True) == "http://10.0.0.5:8470"


def test_endpoint_order_flag_then_env_then_default() -> None:
    env = {"DTSFLOW_ENDPOINT": "https://env.example.com"}
    assert resolve_endpoint(ns(endpoint="https://flag.example.com"), env) == "https://flag.example.com"
    assert resolve_endpoint(ns(), env) == "https://env.example.com"
    assert resolve_endpoint(ns(), {}) == DEFAULT_ENDPOINT


def test_missing_credentials_for_a_real_endpoint_mention_the_emulator(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("BCE_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("BCE_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="--emulator"), open_client(ns(endpoint="https://dts.baidubce.com")):
        pass


def test_bad_rate_limit_and_emulator_with_endpoint_are_refused() -> None:
    with pytest.raises(ConfigError, match="--rate-limit"), open_client(ns(rate_limit=0.0)):
        pass
    with (
        pytest.raises(ConfigError, match="cannot be used together"),
        open_client(ns(emulator=True, endpoint="http://127.0.0.1:1")),
    ):
        pass


def test_client_modules_import_lazily() -> None:
    code = (
        "import sys, dtsflow.commands.connect, dtsflow.client.credentials, dtsflow.client.protocol;"
        "heavy = [m for m in ('httpx', 'pydantic', 'dtsflow.emulator') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['pydantic']"  # pydantic comes with dtsflow.client.live; httpx only with a client
