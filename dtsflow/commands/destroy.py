"""`dtsflow destroy PATH...`: `apply` of the destroy plan (every task of the manifests to `absent`, teardown in
reverse dependency order), confirmed by typing `yes` to a prompt that says how many tasks it deletes.

The same order of business as `apply`: manifests and `--target` checked before any request, no terminal and no
`--auto-approve` refused before any request. A reviewed destroy is `plan --destroy -o PLAN.json`, then
`apply PLAN.json`.
"""

from __future__ import annotations

from dtsflow.commands.args import ApplyArgs, DestroyArgs, PlanShape
from dtsflow.errors import ConfigError


def run(args: DestroyArgs) -> int:
    from dtsflow.commands import apply

    if len(args.manifests.paths) == 1 and args.manifests.paths[0].endswith(".json"):
        raise ConfigError(
            "destroy takes manifests; to apply a saved destroy plan (plan --destroy -o PLAN.json), run "
            "dtsflow apply PLAN.json"
        )
    shape = PlanShape(destroy=True, target=args.target, adopt=args.adopt, force=args.force)
    return apply.run(
        ApplyArgs(
            manifests=args.manifests,
            api=args.api,
            shape=shape,
            auto_approve=args.auto_approve,
            parallelism=args.parallelism,
            timeout=args.timeout,
            format=args.format,
            report=args.report,
            lock_timeout=args.lock_timeout,
        )
    )
