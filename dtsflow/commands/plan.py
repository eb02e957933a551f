"""`dtsflow plan PATH...`: load manifests, read live tasks, make the plan, render it, optionally save it.

Exit codes: 0 (no changes, or changes without --detailed-exitcode), 2 (changes, with --detailed-exitcode),
1 (an error, including a plan with an impossible transition: it is printed, then exit 1).
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from dtsflow.commands.args import PlanArgs
from dtsflow.errors import ConfigError, ExitCode
from dtsflow.escape import for_terminal

SECRET_LIKE = re.compile(r"pass|secret|token|credential|private", re.IGNORECASE)


def check_recordable_vars(items: tuple[str, ...]) -> None:
    """A saved plan records the `--var` values it was made with: refuse one whose name says it is a secret."""
    for item in items:
        name = item.partition("=")[0]
        if SECRET_LIKE.search(name):
            raise ConfigError(
                f"--var {name} looks like a secret, and a saved plan records its --var values: pass secrets with "
                "secret() in the manifest instead"
            )


def check_out_path(path: str) -> None:
    if Path(path).is_dir():
        raise ConfigError(f"-o {path}: is a directory; give a file name such as {Path(path) / 'plan.json'}")


def apply_hint(args: PlanArgs) -> str:
    """The exact command that applies the saved plan: the plan records its variables, not where the API is."""
    words = ["dtsflow", "apply", args.out or ""]
    api = args.api
    if api.emulator:
        words.append("--emulator")
        if api.realism != "plain":
            words += ["--realism", api.realism]
    if api.endpoint:
        words += ["--endpoint", api.endpoint]
    if api.allow_insecure_http:
        words.append("--allow-insecure-http")
    if api.profile:
        words += ["--profile", api.profile]
    for directory in args.manifests.secret_dir:
        words += ["--secret-dir", directory]
    for name in args.manifests.allow_env:
        words += ["--allow-env", name]
    return " ".join(shlex.quote(w) for w in words)


def run(args: PlanArgs) -> int:
    from dtsflow.commands.common import check_targets, load, refresh, shaped_plan, use_colour, var_files
    from dtsflow.commands.connect import open_client
    from dtsflow.plan.render import render_plan
    from dtsflow.plan.saved import save_plan

    manifests = load(args.manifests)  # every manifest is valid before any request is sent
    check_targets(manifests, args.shape)
    if args.apply_key_id is not None and (not args.out or not args.apply_key_id.strip()):
        raise ConfigError("--apply-key-id names the key that will apply a saved plan: give it with -o PLAN.json")
    if args.out:
        check_out_path(args.out)  # before any request
        check_recordable_vars(args.manifests.var)
    with open_client(args.api) as client:
        live = refresh(client, manifests)
        origin = (client.endpoint_label, client.key_digest)
    plan = shaped_plan(manifests, live, args.shape)
    if args.out and not plan.errors:
        # Saved before the plan is printed: a file that cannot be written is an error document of its own in the
        # machine formats, never a second document after the plan.
        from dtsflow.client.credentials import access_key_digest
        from dtsflow.manifest.load import parse_var_args
        from dtsflow.plan.model import PlanOrigin

        made_with = PlanOrigin(
            endpoint=origin[0],
            access_key_digest=access_key_digest(args.apply_key_id) if args.apply_key_id else origin[1],
            variables=parse_var_args(args.manifests.var),
            var_files=var_files(args.manifests),  # `--env NAME`'s file included: apply needs no --env
        )
        save_plan(plan.model_copy(update={"origin": made_with}), args.out)
    sys.stdout.write(render_plan(plan, args.format, color=args.format == "text" and use_colour(sys.stdout)))
    sys.stdout.flush()
    if plan.errors:
        names = ", ".join(c.task for c in plan.errors)
        print(for_terminal(f"error: the plan cannot be applied: {names}"), file=sys.stderr)
        return ExitCode.ERROR
    if args.out:
        print(f"Saved the plan to {args.out}; apply it with: {apply_hint(args)}", file=sys.stderr)
    if args.detailed_exitcode and plan.has_changes:
        return ExitCode.CHANGES
    return ExitCode.OK
