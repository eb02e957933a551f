"""The small grammars manifests are written in, each defined once: identifiers (variable, environment and secret
names) and secret references (`${secret:NAME}`, `${secret:file:/path}`).

The model's JSON Schema pattern, the reader of references (`dtsflow.manifest.secrets`) and the writer of them
(`secret()` in `dtsflow.manifest.templating`) are all built from these pieces. Standard library only.
"""

from __future__ import annotations

import re

IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
"""A variable, environment variable or secret name: letters, digits and `_`, not starting with a digit."""

SECRET_PATH_FORBIDDEN = r"\"'\\\n\r}"
"""Characters a secret file path may not hold (regex class body): they would break out of the reference or of a
YAML scalar."""

SECRET_REF_PATTERN = rf"^\$\{{secret:(?:{IDENTIFIER}|file:[^{SECRET_PATH_FORBIDDEN}]+)\}}$"
"""A whole value that is a secret reference (also the manifest JSON Schema's pattern, so no named groups)."""

SECRET_REF = re.compile(rf"\$\{{secret:(?:(?P<name>{IDENTIFIER})|file:(?P<path>[^{SECRET_PATH_FORBIDDEN}]+))\}}")
"""A secret reference, with the environment variable `name` or the file `path` it names."""

SECRET_MARK = "${secret:"
"""How every secret reference starts."""

IDENTIFIER_RE = re.compile(IDENTIFIER)

TASK_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""A DTS task name (also the start of one, for `prune.prefix`)."""

DURATION_PATTERN = r"^\s*\d+\s*(ms|s|m|h)?\s*$"
"""A duration: a whole number with an optional unit (seconds without one)."""
_DURATION = re.compile(r"\s*(\d+)\s*(ms|s|m|h)?\s*")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """`90s`, `15m`, `2h`, `500ms`, or a bare number of seconds -> seconds."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise ValueError("a duration such as 90s, 15m or 2h")
    number, unit = int(match.group(1)), match.group(2) or "s"
    return number * _UNIT_SECONDS[unit]


def format_duration(seconds: float) -> str:
    """The inverse for people: 900 -> 15m, 90 -> 90s, 7200 -> 2h, 1.5 -> 1.5s (the largest unit that divides)."""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size:g}{unit}"
    return f"{seconds:g}s"
