"""Fault injection: latency, error rates, "fail the next N calls", dropped responses, a rate cap, clock skew.

One `Faults` object holds the configuration and its counters; every decision draws from one seeded
`random.Random` under a lock, so a run with the same seed and the same request order injects the same faults.
Operation names are those of `/_emulator/stats` (`create`, `get`, `list`, ...); `*` matches every operation.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dtsflow.emulator.config import OPERATIONS
from dtsflow.emulator.failures import ApiFailure

KNOWN_KEYS = frozenset(
    {
        "latency_ms",
        "jitter_ms",
        "error_rate",
        "error_status",
        "error_code",
        "fail_next",
        "drop_response",
        "dedupe_tokens",
        "rate_limit_rps",
        "rate_limit_burst",
        "clock_skew_s",
        "seed",
        "token_ttl_s",
        "lag_s",
    }
)
DEFAULT_ERROR_STATUS = 503
DEFAULT_ERROR_CODE = "ServiceUnavailable"
DEFAULT_FAIL_STATUS = 500
DEFAULT_FAIL_CODE = "InternalError"
DEFAULT_TOKEN_TTL_S = 24 * 3600.0
_CODE_MESSAGES = {
    "ServiceUnavailable": "The service is temporarily unavailable (injected fault)",
    "InternalError": "We encountered an internal error, please try again (injected fault)",
}


@dataclass(slots=True)
class _Rule:
    status: int
    code: str
    rate: float = 0.0  # error_rate: probability per call
    count: int = 0  # fail_next / drop_response: calls left
    probability: float = 0.0  # drop_response: probability per call


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number")
    if value < 0:
        raise ValueError(f"{what} must not be negative")
    return float(value)


def _rules(value: Any, what: str, *, status: int, code: str, scalar: str) -> dict[str, _Rule]:
    """`{op: number | {...}}` (or a bare number for every operation) -> rules by operation."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        value = {"*": value}
    rules: dict[str, _Rule] = {}
    for op, spec in value.items():
        if op != "*" and op not in OPERATIONS:
            raise ValueError(f"{what}: unknown operation {op!r}; use one of {', '.join(OPERATIONS)} or *")
        rule = _Rule(status=status, code=code)
        if isinstance(spec, dict):
            unknown = set(spec) - {"rate", "count", "probability", "status", "code"}
            if unknown:
                raise ValueError(f"{what}.{op}: unknown keys {sorted(unknown)}")
            rule.rate = _number(spec.get("rate", 0), f"{what}.{op}.rate")
            rule.count = int(_number(spec.get("count", 0), f"{what}.{op}.count"))
            rule.probability = _number(spec.get("probability", 0), f"{what}.{op}.probability")
            rule.status = int(_number(spec.get("status", status), f"{what}.{op}.status"))
            rule.code = str(spec.get("code", code))
        else:
            number = _number(spec, f"{what}.{op}")
            if scalar == "rate":
                rule.rate = number
            else:
                rule.count = int(number)
        if rule.rate > 1 or rule.probability > 1:
            raise ValueError(f"{what}.{op}: a probability must be between 0 and 1")
        rules[str(op)] = rule
    return rules


class Faults:
    """The active fault configuration and its state (counters left, token bucket, random generator)."""

    def __init__(self, spec: Mapping[str, Any] | None = None) -> None:
        spec = dict(spec or {})
        unknown = set(spec) - KNOWN_KEYS
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        self.spec = spec
        self.latency_s = _number(spec.get("latency_ms", 0), "latency_ms") / 1000.0
        self.jitter_s = _number(spec.get("jitter_ms", 0), "jitter_ms") / 1000.0
        error_status = int(_number(spec.get("error_status", DEFAULT_ERROR_STATUS), "error_status"))
        error_code = str(spec.get("error_code", DEFAULT_ERROR_CODE))
        self.error_rate = _rules(
            spec.get("error_rate"), "error_rate", status=error_status, code=error_code, scalar="rate"
        )
        self.fail_next = _rules(
            spec.get("fail_next"), "fail_next", status=DEFAULT_FAIL_STATUS, code=DEFAULT_FAIL_CODE, scalar="count"
        )
        self.drop_response = _rules(spec.get("drop_response"), "drop_response", status=0, code="", scalar="count")
        dedupe = spec.get("dedupe_tokens", True)
        if not isinstance(dedupe, bool):
            raise ValueError("dedupe_tokens must be true or false")
        self.dedupe_tokens = dedupe
        self.token_ttl_s = _number(spec.get("token_ttl_s", DEFAULT_TOKEN_TTL_S), "token_ttl_s")
        self.rate_limit_rps = _number(spec.get("rate_limit_rps", 0), "rate_limit_rps")
        self.rate_limit_burst = _number(spec.get("rate_limit_burst", max(1.0, self.rate_limit_rps)), "rate_limit_burst")
        self.clock_skew_s = float(spec.get("clock_skew_s", 0) or 0)
        self.lag_s = _lags(spec.get("lag_s"))
        seed = spec.get("seed", 0)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._tokens = self.rate_limit_burst
        self._refilled = time.monotonic()

    def describe(self) -> dict[str, Any]:
        """The configuration as given, with the calls left of each counted rule."""
        with self._lock:
            return {
                **self.spec,
                "remaining": {
                    "fail_next": {op: r.count for op, r in self.fail_next.items()},
                    "drop_response": {op: r.count for op, r in self.drop_response.items() if not r.probability},
                },
            }

    def lag_for(self, task_name: str) -> float:
        """Extra replication delay (emulated seconds) for a task: by its name, else `*`, else none."""
        return self.lag_s.get(task_name, self.lag_s.get("*", 0.0))

    def delay(self) -> float:
        if not self.latency_s and not self.jitter_s:
            return 0.0
        with self._lock:
            return self.latency_s + (self._rng.uniform(0.0, self.jitter_s) if self.jitter_s else 0.0)

    def throttle(self) -> float | None:
        """None when the request may pass the rate cap, else the seconds until a token is free."""
        if not self.rate_limit_rps:
            return None
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.rate_limit_burst, self._tokens + (now - self._refilled) * self.rate_limit_rps)
            self._refilled = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            return (1.0 - self._tokens) / self.rate_limit_rps

    def injected_error(self, op: str) -> tuple[str, ApiFailure] | None:
        """("fail_next" | "error_rate", the failure) when this call must fail before it runs."""
        with self._lock:
            for key in (op, "*"):
                rule = self.fail_next.get(key)
                if rule is not None and rule.count > 0:
                    rule.count -= 1
                    return "fail_next", _failure(rule)
            for key in (op, "*"):
                rule = self.error_rate.get(key)
                if rule is not None and rule.rate > 0 and self._rng.random() < rule.rate:
                    return "error_rate", _failure(rule)
        return None

    def drop(self, op: str) -> bool:
        """Whether the response of this (already committed) call must be dropped."""
        with self._lock:
            for key in (op, "*"):
                rule = self.drop_response.get(key)
                if rule is None:
                    continue
                if rule.count > 0:
                    rule.count -= 1
                    return True
                if rule.probability > 0 and self._rng.random() < rule.probability:
                    return True
        return False


def _lags(value: Any) -> dict[str, float]:
    """`lag_s`: a number of seconds for every task, or `{taskName | "*": seconds}`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        value = {"*": value}
    return {str(name): _number(seconds, f"lag_s.{name}") for name, seconds in value.items()}


def _failure(rule: _Rule) -> ApiFailure:
    message = _CODE_MESSAGES.get(rule.code, f"Injected fault {rule.code}")
    return ApiFailure(rule.status, rule.code, message)
