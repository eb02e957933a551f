"""`dtsflow validate PATH...`: render, parse and check manifests offline. Imports nothing that talks to a network."""

from __future__ import annotations

import argparse

from dtsflow.loader import load_from_args


def run(args: argparse.Namespace) -> int:
    loaded = load_from_args(args)
    files = len(loaded.paths)
    tasks = len(loaded.tasks)
    print(f"{tasks} task{'s' if tasks != 1 else ''} in {files} file{'s' if files != 1 else ''} are valid")
    return 0
