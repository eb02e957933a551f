"""`python tests/apply/warm_apply.py ARGS...`: import the CLI and everything apply needs, print `ready`, wait
for one line on stdin, then run `dtsflow ARGS...` — so a crash test can start a run at a precise moment
without paying the interpreter's start-up inside its timing window (and overlap that start-up with other work).
"""

from __future__ import annotations

import sys

import dtsflow.client.http
import dtsflow.connect
import dtsflow.executor
import dtsflow.loader
import dtsflow.planner
import dtsflow.refresh
import dtsflow.render
import dtsflow.secrets
from dtsflow import cli

_preloaded = (dtsflow.client.http, dtsflow.connect, dtsflow.executor, dtsflow.loader, dtsflow.planner)
_preloaded_too = (dtsflow.refresh, dtsflow.render, dtsflow.secrets)

if __name__ == "__main__":
    print("ready", flush=True)
    sys.stdin.readline()
    sys.exit(cli.main(sys.argv[1:]))
