"""Command-line options of `dtsflow emulator` (argparse only, so that `dtsflow --help` stays fast)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8470)
    p.add_argument("--state", default=".dtsflow/emulator.sqlite3", metavar="FILE", help="state file")
    p.add_argument("--access-key", default=None, metavar="ID")
    p.add_argument("--secret-key", default=None, metavar="KEY")
