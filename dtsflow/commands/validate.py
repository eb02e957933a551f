"""`dtsflow validate PATH...`: render, parse and check manifests offline. Imports nothing that talks to a network."""

from __future__ import annotations

from dtsflow.commands.args import ValidateArgs
from dtsflow.commands.common import load


def run(args: ValidateArgs) -> int:
    loaded = load(args.manifests)
    files = len(loaded.paths)
    tasks = len(loaded.tasks)
    print(f"{tasks} task{'s' if tasks != 1 else ''} in {files} file{'s' if files != 1 else ''} are valid")
    return 0
