"""`python tests/apply/warm_apply.py ARGS...`: import the CLI and everything apply needs, print `ready`, wait
for one line on stdin, then run `dtsflow ARGS...` — so a crash test can start a run at a precise moment
without paying the interpreter's start-up inside its timing window (and overlap that start-up with other work).
"""

from __future__ import annotations

import sys

import dtsflow.apply.executor
import dtsflow.client.http
import dtsflow.commands.connect
import dtsflow.manifest.load
import dtsflow.manifest.secrets
import dtsflow.plan.planner
import dtsflow.plan.refresh
import dtsflow.plan.render
from dtsflow import cli

_preloaded = (
    dtsflow.client.http,
    dtsflow.commands.connect,
    dtsflow.apply.executor,
    dtsflow.manifest.load,
    dtsflow.plan.planner,
)
_preloaded_too = (dtsflow.plan.refresh, dtsflow.plan.render, dtsflow.manifest.secrets)

if __name__ == "__main__":
    print("ready", flush=True)
    sys.stdin.readline()
    sys.exit(cli.main(sys.argv[1:]))
