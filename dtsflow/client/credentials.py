"""Where the BCE access key comes from (docs/client.md), first found wins:

1. `BCE_ACCESS_KEY_ID` + `BCE_SECRET_ACCESS_KEY` (+ optional `BCE_SECURITY_TOKEN`), the names Baidu's `bce` CLI reads;
2. a profile of that CLI's `~/.bce/config.json` (`--profile NAME`; default: the file's `current` profile).

The secret key and the session token never appear in a `repr`, a `str`, a log line or an error message.
Only the standard library is imported here.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dtsflow.errors import ConfigError

ENV_ACCESS_KEY = "BCE_ACCESS_KEY_ID"
ENV_SECRET_KEY = "BCE_SECRET_ACCESS_KEY"
ENV_SECURITY_TOKEN = "BCE_SECURITY_TOKEN"
DEFAULT_PROFILE = "current"  # the `--profile` default: whichever profile the file's "current" field names

# Key spellings accepted inside one profile object: bce-cli's own, then the short bcecmd-style ones.
_AK_KEYS = ("access_key_id", "accessKeyId", "ak")
_SK_KEYS = ("secret_access_key", "secretAccessKey", "sk")
_TOKEN_KEYS = ("security_token", "securityToken", "sts")


@dataclass(frozen=True, slots=True)
class Credentials:
    """An access key pair, optionally with an STS session token. `repr` and `str` mask the secrets."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    source: str = ""  # where they came from, e.g. "environment" or "~/.bce/config.json profile 'default'"

    def __repr__(self) -> str:
        token = ", security_token='***'" if self.security_token else ""
        return (
            f"Credentials(access_key_id={self.access_key_id!r}, secret_access_key='***'{token}, source={self.source!r})"
        )

    __str__ = __repr__


def default_config_path() -> Path:
    return Path.home() / ".bce" / "config.json"


def from_environment(env: Mapping[str, str]) -> Credentials | None:
    """Credentials from `BCE_*` variables; None when neither key is set, an error when only one is."""
    ak = env.get(ENV_ACCESS_KEY, "").strip()
    sk = env.get(ENV_SECRET_KEY, "").strip()
    if not ak and not sk:
        return None
    if not ak or not sk:
        missing = ENV_ACCESS_KEY if not ak else ENV_SECRET_KEY
        raise ConfigError(f"{missing} is not set, but its partner is: set both {ENV_ACCESS_KEY} and {ENV_SECRET_KEY}")
    token = env.get(ENV_SECURITY_TOKEN, "").strip() or None
    return Credentials(ak, sk, token, source="environment")


def _check_permissions(path: Path) -> None:
    """Refuse a credentials file other users can read or write, or that someone else owns (as `netrc` does)."""
    info = path.stat()
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path}: permissions {stat.filemode(info.st_mode)} are too open; the file holds a secret key, "
            f"so it must be readable by its owner only (chmod 600 {path})"
        )
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ConfigError(f"{path}: owned by another user; refusing to read credentials from it")


def _first(obj: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _select_profile(config: Any, name: str, path: Path) -> tuple[str, Mapping[str, Any]]:
    """The named profile: bce-cli's `{"current": NAME, "profiles": [{"name": ...}]}`, or `{NAME: {...}}`."""
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a JSON object at the top level")
    wanted = name
    profiles = config.get("profiles")
    if isinstance(profiles, list):
        by_name = {p.get("name"): p for p in profiles if isinstance(p, dict)}
        if wanted == DEFAULT_PROFILE and wanted not in by_name:
            current = config.get("current")
            wanted = current if isinstance(current, str) and current else "default"
        if wanted in by_name:
            return wanted, by_name[wanted]
        known = ", ".join(sorted(str(n) for n in by_name)) or "none"
        raise ConfigError(f"{path}: no profile named {wanted!r} (profiles: {known})")
    # A flat mapping of profile name -> keys (e.g. {"current": {"ak": ..., "sk": ...}}).
    if wanted == DEFAULT_PROFILE and isinstance(config.get("current"), str):
        wanted = config["current"]
    profile = config.get(wanted)
    if isinstance(profile, dict):
        return wanted, profile
    raise ConfigError(f"{path}: no profile named {wanted!r}")


def from_config_file(path: Path, profile: str = DEFAULT_PROFILE) -> Credentials | None:
    """Credentials from a bce-cli config file; None when the file does not exist."""
    if not path.exists():
        return None
    _check_permissions(path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        # The message of a JSON error carries only a position, never the file's content.
        raise ConfigError(f"{path}: not a readable JSON file ({type(exc).__name__})") from None
    name, obj = _select_profile(config, profile, path)
    ak, sk = _first(obj, _AK_KEYS), _first(obj, _SK_KEYS)
    if not ak or not sk:
        raise ConfigError(f"{path}: profile {name!r} needs both access_key_id and secret_access_key")
    mode = obj.get("mode")
    token = _first(obj, _TOKEN_KEYS) or None
    if mode == "StsToken" and not token:
        raise ConfigError(f"{path}: profile {name!r} is in StsToken mode but has no security_token")
    return Credentials(ak, sk, token, source=f"{path} profile {name!r}")


def find_credentials(
    profile: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> Credentials | None:
    """The first credentials found in the documented order (docs/client.md), or None.

    An explicit `--profile` skips the environment: asking for a profile by name means that profile.
    """
    env = os.environ if env is None else env
    if profile is None:
        found = from_environment(env)
        if found is not None:
            return found
    return from_config_file(config_path or default_config_path(), profile or DEFAULT_PROFILE)


def require_credentials(
    profile: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> Credentials:
    """Like `find_credentials`, but a `ConfigError` naming every source (and `--emulator`) when none is found."""
    found = find_credentials(profile, env=env, config_path=config_path)
    if found is None:
        path = config_path or default_config_path()
        raise ConfigError(
            f"no BCE credentials: set {ENV_ACCESS_KEY} and {ENV_SECRET_KEY} (and {ENV_SECURITY_TOKEN} for STS), "
            f"or configure a profile in {path} with Baidu's `bce` CLI; "
            "to try dtsflow without a cloud account, use --emulator"
        )
    return found


def access_key_digest(access_key_id: str) -> str:
    """`sha256:` of an access key id: what a saved plan records of the key it is bound to (never the id itself)."""
    import hashlib

    return "sha256:" + hashlib.sha256(access_key_id.strip().encode()).hexdigest()
