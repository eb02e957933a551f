"""What `dtsflow emulator` was asked for (`EmulatorOptions`, built by the CLI from its flags), and its translation
into the `faults` dictionary that `start_in_thread(faults=...)` and `POST /_emulator/faults` take."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dtsflow.emulator.config import DEFAULT_PORT


@dataclass(frozen=True, slots=True)
class EmulatorOptions:
    """`dtsflow emulator`'s flags (the defaults are the parser's)."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    state: str = ".dtsflow/emulator.sqlite3"
    access_key: str | None = None
    secret_key: str | None = None
    security_token: str | None = None
    time_scale: float = 1.0
    duration: tuple[str, ...] = ()
    verbose: bool = False
    realism: str = "plain"
    latency_ms: float = 0
    jitter_ms: float = 0
    error_rate: tuple[str, ...] = ()
    error_status: int = 503
    error_code: str = "ServiceUnavailable"
    fail_next: tuple[str, ...] = ()
    drop_response: tuple[str, ...] = ()
    drop_probability: tuple[str, ...] = ()
    no_dedupe_tokens: bool = False
    token_ttl: float | None = None
    rate_limit_rps: float = 0
    rate_limit_burst: float | None = None
    clock_skew: float = 0
    seed: int = 0
    lag_s: tuple[str, ...] = ()


def _pairs(values: tuple[str, ...], flag: str) -> list[tuple[str, str]]:
    out = []
    for value in values:
        op, sep, rest = value.partition("=")
        if not sep or not op or not rest:
            raise ValueError(f"{flag} expects OP=VALUE, got {value!r}")
        out.append((op, rest))
    return out


def durations_of(args: EmulatorOptions) -> dict[str, float]:
    """`--duration PHASE=SECONDS` flags as a mapping (ValueError naming the flag on a bad value)."""
    out: dict[str, float] = {}
    for name, seconds in _pairs(args.duration, "--duration"):
        try:
            out[name] = float(seconds)
        except ValueError:
            raise ValueError(f"--duration {name}: {seconds!r} is not a number of seconds") from None
    return out


def faults_of(args: EmulatorOptions) -> dict[str, Any]:
    """The `faults` dictionary the flags describe (raises ValueError with the flag's name on a bad value)."""
    faults: dict[str, Any] = {}
    try:
        if args.latency_ms:
            faults["latency_ms"] = args.latency_ms
        if args.jitter_ms:
            faults["jitter_ms"] = args.jitter_ms
        if args.error_rate:
            faults["error_rate"] = {op: float(rate) for op, rate in _pairs(args.error_rate, "--error-rate")}
            faults["error_status"] = args.error_status
            faults["error_code"] = args.error_code
        if args.fail_next:
            rules: dict[str, Any] = {}
            for op, spec in _pairs(args.fail_next, "--fail-next"):
                count, _, tail = spec.partition(":")
                status, _, code = tail.partition(":")
                rule: dict[str, Any] = {"count": int(count)}
                if status:
                    rule["status"] = int(status)
                if code:
                    rule["code"] = code
                rules[op] = rule
            faults["fail_next"] = rules
        drops: dict[str, Any] = {}
        for op, count in _pairs(args.drop_response, "--drop-response"):
            drops[op] = {"count": int(count)}
        for op, probability in _pairs(args.drop_probability, "--drop-probability"):
            drops[op] = {**drops.get(op, {}), "probability": float(probability)}
        if drops:
            faults["drop_response"] = drops
    except ValueError as exc:
        raise ValueError(str(exc) if "expects" in str(exc) else f"bad fault flag value: {exc}") from None
    if args.no_dedupe_tokens:
        faults["dedupe_tokens"] = False
    if args.token_ttl is not None:
        faults["token_ttl_s"] = args.token_ttl
    if args.rate_limit_rps:
        faults["rate_limit_rps"] = args.rate_limit_rps
    if args.rate_limit_burst is not None:
        faults["rate_limit_burst"] = args.rate_limit_burst
    if args.clock_skew:
        faults["clock_skew_s"] = args.clock_skew
    if args.seed:
        faults["seed"] = args.seed
    if args.lag_s:
        try:
            faults["lag_s"] = {name: float(seconds) for name, seconds in _pairs(args.lag_s, "--lag-s")}
        except ValueError as exc:
            raise ValueError(str(exc) if "expects" in str(exc) else f"bad fault flag value: {exc}") from None
    return faults
