"""Which environment variables a manifest's `env()` may read: an allowlist the operator sets outside the manifests.

A denylist of names cannot enumerate secrets (`CI_REPOSITORY_URL` carries a job token, `DATABASE_URL` a password),
and whatever `env()` returns can be printed in a plan posted to a pull request. So `env()` reads only variables
named `DTSFLOW_VAR_*` and those allowed with `--allow-env NAME`; CI values are passed with `--var KEY=VALUE`.
dtsflow's own credentials and settings (`BCE_*`, `DTSFLOW_*` other than `DTSFLOW_VAR_*`) are never readable.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dtsflow.manifest.grammar import IDENTIFIER_RE

ENV_PREFIX = "DTSFLOW_VAR_"
_NEVER = ("BCE_", "DTSFLOW_")

NO_DEFAULT: Any = object()


@dataclass(frozen=True, slots=True)
class EnvPolicy:
    """The names `env()` may read: `DTSFLOW_VAR_*` plus the operator's `--allow-env` names."""

    allowed: frozenset[str] = frozenset()
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    @classmethod
    def from_operator(cls, names: Iterable[str] = ()) -> EnvPolicy:
        return cls(frozenset(names))

    def refusal(self, name: str) -> str | None:
        """Why `env(name)` is refused, or None."""
        upper = name.upper()
        if upper.startswith(_NEVER) and not name.startswith(ENV_PREFIX):
            return f"env({name!r}) is refused: {name} holds dtsflow's own credentials or settings"
        if name.startswith(ENV_PREFIX) or name in self.allowed:
            return None
        return (
            f"env({name!r}) is refused: env() reads only variables named {ENV_PREFIX}* and those the operator allows "
            f"with --allow-env {name}; pass a CI value with --var KEY=VALUE"
        )

    def read(self, name: str, default: Any = NO_DEFAULT) -> Any:
        """`env('NAME', default=...)`: the variable's value, the default, or a ValueError that holds no value."""
        if not isinstance(name, str) or not IDENTIFIER_RE.fullmatch(name):
            raise ValueError("env() needs an environment variable name")
        refused = self.refusal(name)
        if refused is not None:
            raise ValueError(refused)
        value = self.environ.get(name)
        if value is None:
            if default is NO_DEFAULT:
                raise ValueError(f"environment variable {name} is not set (give env({name!r}, default=...))")
            return default
        return value
