"""Secret pre-flight: before the first mutating request, every secret the plan will send must resolve."""

from __future__ import annotations

from dtsflow.client.wire import SecretResolver, secret_names
from dtsflow.errors import ConfigError
from dtsflow.plan.model import Plan


def check_secrets(plan: Plan, resolve: SecretResolver | None) -> None:
    """Fail fast, naming each unresolvable reference (never a value); nothing has been sent yet."""
    problems: list[str] = []
    for change in plan.changes:
        # Only steps whose request carries the configuration need secrets: a run that only pauses needs none.
        if change.spec is None or not any(s.sends_secrets for s in change.steps):
            continue
        for ref in dict.fromkeys(secret_names(change.spec)):  # src and dst often share one secret
            if resolve is None:
                problems.append(f"{change.task}: no secret resolver for {ref}")
                continue
            try:
                resolve(ref)
            except Exception as exc:  # the resolver's message names the reference, never a value
                problems.append(f"{change.task}: {exc}")
    if problems:
        raise ConfigError("cannot resolve secrets; nothing was done:\n  " + "\n  ".join(problems))
