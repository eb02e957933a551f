"""Secret references: `${secret:NAME}` (an environment variable) or `${secret:file:/path}` (a file's content).

Manifests only ever hold references. `resolve_secret` reads the value, and only the client calls it, while it builds
a request. Errors name the reference, never a value.
"""

from __future__ import annotations

import os
import re

from dtsflow.errors import ConfigError

_REF = re.compile(r"\$\{secret:(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|file:(?P<path>[^\"'\\\n\r}]+))\}")
MAX_SECRET_FILE_BYTES = 64 * 1024


def is_secret_ref(value: object) -> bool:
    """True for a well-formed `${secret:NAME}` / `${secret:file:/path}` reference."""
    return isinstance(value, str) and _REF.fullmatch(value) is not None


def resolve_secret(ref: str) -> str:
    """The value a reference points to. A file's content loses one trailing newline (as `echo x > file` adds it)."""
    match = _REF.fullmatch(ref) if isinstance(ref, str) else None
    if match is None:
        raise ConfigError("not a secret reference (expected ${secret:NAME} or ${secret:file:/path})")
    name, path = match.group("name"), match.group("path")
    if name is not None:
        value = os.environ.get(name)
        if value is None:
            raise ConfigError(f"secret {ref}: environment variable {name} is not set")
        return value
    assert path is not None
    try:
        with open(os.path.expanduser(path), "rb") as handle:
            data = handle.read(MAX_SECRET_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"secret {ref}: cannot read the file ({exc.strerror or type(exc).__name__})") from None
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise ConfigError(f"secret {ref}: the file is larger than {MAX_SECRET_FILE_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"secret {ref}: the file is not UTF-8 text") from None
    return text[:-1] if text.endswith("\n") else text
