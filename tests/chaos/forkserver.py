"""`python tests/chaos/forkserver.py`: a warm, single-threaded parent that forks one `dtsflow` process per request.

Each line on stdin is a JSON request `{"argv": [...], "cwd": DIR, "env": {...}, "out": FILE}`. The server forks a
child that runs `dtsflow ARGV` exactly as the console script does (`cli.main`), in DIR with that environment and
its stdout and stderr written to FILE; it prints `pid N` at once, then `exit N CODE` (CODE is negative for a
signal) when the child ends. The test sends SIGKILL to the child's pid at the point it chose. Forking from a
process that has already imported everything makes a real, killable `dtsflow apply` process cost a few
milliseconds instead of an interpreter start-up, which is what lets the chaos suite run hundreds of them.

Two things are tuned for speed, neither changes what a run does: the client's retry pause starts at 20 ms rather
than 300 ms (how many retries happen, and what they do, is unchanged), and httpx's default TLS context (the CA
bundle, about 50 ms of CPU per client) is built once here and shared by the children instead of once in each.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import dtsflow.apply.executor
import dtsflow.client.http
import dtsflow.commands.apply
import dtsflow.commands.connect
import dtsflow.manifest.load
import dtsflow.plan.planner
import dtsflow.plan.refresh
import dtsflow.plan.render
from dtsflow import cli

_preloaded = (
    dtsflow.apply.executor,
    dtsflow.commands.apply,
    dtsflow.commands.connect,
    dtsflow.manifest.load,
    dtsflow.plan.planner,
    dtsflow.plan.refresh,
    dtsflow.plan.render,
)
RETRY_BASE_S = 0.02


def _child(request: dict[str, object]) -> None:
    """In the forked child: run the command, never return."""
    code = 70
    try:
        out = os.open(str(request["out"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})  # type: ignore[call-overload]
        defaults = dtsflow.client.http.HttpDtsClient.__init__.__kwdefaults__
        assert defaults is not None
        defaults["backoff_base"] = RETRY_BASE_S
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        code = cli.main([str(a) for a in list(request["argv"])])  # type: ignore[call-overload]
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # a crash must show in the output file, and still end the child
        import traceback

        traceback.print_exc()
        code = 99
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _share_default_tls_context() -> None:
    """httpx builds its default SSL context (loading the CA bundle) for every client: build it once, here."""
    try:
        from httpx._transports import default as transport
    except ImportError:  # another httpx layout: the children build their own, only slower
        return
    build = transport.create_ssl_context
    shared = build(verify=True, cert=None, trust_env=False)

    def create_ssl_context(verify: object = True, cert: object = None, trust_env: bool = True) -> object:
        if verify is True and cert is None:
            return shared
        return build(verify=verify, cert=cert, trust_env=trust_env)  # type: ignore[arg-type]

    transport.create_ssl_context = create_ssl_context  # type: ignore[assignment]


def main() -> None:
    _share_default_tls_context()
    print("ready", flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        print(f"exit {pid} {code}", flush=True)


if __name__ == "__main__":
    main()
