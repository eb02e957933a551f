"""Real `dtsflow` processes without an interpreter start-up each: a warm fork server per test process.

Why: most end-to-end tests run the CLI as a process (exit code, stdout, stderr, environment, working directory, as
a user would). A fresh `python -m dtsflow` costs about 0.3 s of CPU before `main` runs (interpreter start-up, the
imports, httpx's default TLS context), which made process start-up the largest cost of the whole suite. Here a
single-threaded server (this file run as a script) imports dtsflow once and forks one child per run: the child is
a real process with its own pid, argv, working directory, environment, stdin/stdout/stderr files, signal
dispositions and exit code (negative when a signal ended it); it runs what `python -m dtsflow` runs
(`raise SystemExit(cli.main())`, then the `atexit` handlers and the flush of stdout/stderr an interpreter does
at exit). Only the interpreter start-up is skipped.

What a fork inherits and a new interpreter would not have, and how each is handled:
- file descriptors: the child closes every descriptor above 2; stdin is its own file (the input text, or
  /dev/null as `subprocess.run` without `input` under pytest), stdout and stderr are files (not terminals, as
  the pipes of `capture_output`, so colour detection sees the same);
- signals: every handler is reset to a new interpreter's (SIGINT raises KeyboardInterrupt, SIGPIPE and SIGXFSZ
  ignored, all others default) and nothing is blocked;
- `sys.argv` is what `python -m dtsflow ARGS` sets; `sys.stdin/stdout/stderr` are rebuilt on the new descriptors
  with the interpreter's encoding, error handlers and buffering;
- the working directory and the umask are the test process's at the time of the call (or `cwd`);
- the environment is replaced as a whole; dtsflow reads none at import time (tests/test_forkcli.py checks);
- what the interpreter reads at start-up (PYTHON* variables, PYTHONPATH with the network guard's
  sitecustomize, the locale) is fixed per server: one server per distinct start-up environment;
- the string hash seed is shared by the children of one server (a new interpreter draws its own).

Kept on real processes (`run_cli(..., fork=False)` or their own `subprocess` calls): the CLI contract tests
(tests/test_cli_contract.py: `python -m dtsflow` itself, exit codes, Ctrl-C), the README walkthrough, the
completion tests' shells, and the signal/crash tests that need a process group or a process started
mid-run (`Env.popen_apply`).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MAIN = str(REPO / "dtsflow" / "__main__.py")  # `sys.argv[0]` under `python -m dtsflow`
# What an interpreter reads while it starts (before dtsflow is imported): one server per distinct set of these.
_STARTUP_PREFIXES = ("PYTHON", "LC_", "LANG")


# -- the server (this file run as a script) -------------------------------------------------------------------------
def _serve() -> None:
    import dtsflow.apply.executor
    import dtsflow.client.http
    import dtsflow.commands.apply
    import dtsflow.commands.connect
    import dtsflow.commands.plan
    import dtsflow.commands.status
    import dtsflow.commands.validate
    import dtsflow.manifest.load
    import dtsflow.plan.planner
    import dtsflow.plan.refresh
    import dtsflow.plan.render
    from dtsflow import cli

    preloaded = (dtsflow.apply.executor, dtsflow.commands, dtsflow.manifest.load, dtsflow.plan, dtsflow.client.http)
    del preloaded
    _share_default_tls_context()
    children: dict[int, tuple[int, int]] = {}  # pidfd -> (request id, pid)
    buffer = b""
    reading = True
    os.write(1, b"ready\n")
    while reading or children:
        watched = [*children, 0] if reading else list(children)
        ready, _, _ = select.select(watched, [], [])
        for fd in ready:
            if fd == 0:
                chunk = os.read(0, 1 << 16)
                if not chunk:  # the test process is done: nothing of ours outlives it
                    reading = False
                    for _, pid in children.values():
                        _kill(pid)
                    continue
                buffer += chunk
                while b"\n" in buffer:
                    line, _, buffer = buffer.partition(b"\n")
                    if line.strip():
                        request = json.loads(line)
                        pid = os.fork()
                        if pid == 0:
                            _child(request, cli.main)
                        children[os.pidfd_open(pid)] = (int(request["id"]), pid)
                        os.write(1, f"pid {request['id']} {pid}\n".encode())
            else:
                rid, pid = children.pop(fd)
                os.close(fd)
                _, status = os.waitpid(pid, 0)
                os.write(1, f"exit {rid} {os.waitstatus_to_exitcode(status)}\n".encode())


def _entry(name: str) -> Any:
    """`module:function`, for tests of this file: what a child sees, probed from inside it."""
    import importlib

    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _share_default_tls_context() -> None:
    """httpx builds its default SSL context (loading the CA bundle, ~50 ms of CPU) for every client: build it once
    here; the children share it. A context with other settings is still built as asked."""
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


def _child(request: dict[str, Any], main: Any) -> None:
    """In the forked child: become `python -m dtsflow ARGV` and never return."""
    code = 70
    try:
        _own_descriptors(request)
        _fresh_signals()
        os.chdir(str(request["cwd"]))
        os.umask(int(request["umask"]))
        sys.path[0] = os.getcwd()  # as `python -m` puts it first (dtsflow itself is imported already)
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})
        sys.argv = [MAIN, *(str(a) for a in request["argv"])]
        _fresh_stdio()
        if request.get("retry_base_s") is not None:
            import dtsflow.client.http

            defaults = dtsflow.client.http.HttpDtsClient.__init__.__kwdefaults__
            assert defaults is not None
            defaults["backoff_base"] = float(request["retry_base_s"])
        if request.get("entry") is not None:
            main = _entry(str(request["entry"]))
        code = _run_as_main(main)
    except BaseException:  # a defect of this file: shown in the child's stderr, and still the child ends
        import traceback

        traceback.print_exc()
        code = 70
    finally:
        os._exit(code)


def _own_descriptors(request: dict[str, Any]) -> None:
    stdin = os.open(request["stdin"] or os.devnull, os.O_RDONLY)
    out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = out
    if request["stderr"] != request["stdout"]:
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for fd, target in ((stdin, 0), (out, 1), (err, 2)):
        os.dup2(fd, target)
    for name in os.listdir("/proc/self/fd"):  # the server's pipes, other children's pidfds: as close_fds=True
        if int(name) > 2:
            try:
                os.close(int(name))
            except OSError:  # the descriptor of the listing itself, closed already
                pass


def _fresh_signals() -> None:
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):  # signals Python may not set (e.g. those the C library reserves)
            pass
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _fresh_stdio() -> None:
    import io

    def stream(fd: int, like: Any, mode: str) -> io.TextIOWrapper:
        raw = io.FileIO(fd, mode, closefd=False)
        buffered: Any = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
        return io.TextIOWrapper(
            buffered, encoding=like.encoding, errors=like.errors, newline="\n", line_buffering=fd == 2 or raw.isatty()
        )

    sys.stdin = sys.__stdin__ = stream(0, sys.__stdin__, "r")
    sys.stdout = sys.__stdout__ = stream(1, sys.__stdout__, "w")
    sys.stderr = sys.__stderr__ = stream(2, sys.__stderr__, "w")


def _run_as_main(main: Any) -> int:
    """`raise SystemExit(main())` as the interpreter runs it: exit code, uncaught errors, atexit, final flush."""
    import atexit
    import traceback

    code = 0
    try:
        raise SystemExit(main())
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:  # an interpreter ends by SIGINT then
        traceback.print_exc()
        _flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    if not _flush() and code == 0:
        code = 120  # as the interpreter: stdout could not be flushed at exit
    return code & 0xFF


def _flush() -> bool:
    ok = True
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            ok = False
    return ok


# -- the test side --------------------------------------------------------------------------------------------------
class Child:
    """One forked run: its pid, and its exit code once it ended."""

    def __init__(self, server: ForkServer, rid: int, pid: int) -> None:
        self.server = server
        self.rid = rid
        self.pid = pid

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code (negative: ended by that signal), or None if it still runs after `timeout` seconds."""
        return self.server._wait_exit(self.rid, timeout)

    def kill(self) -> None:
        _kill(self.pid)


class ForkServer:
    """This file as a subprocess; thread-safe: runs may overlap (the server waits on each child's pidfd)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=dict(env),
            cwd=REPO,
        )
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._next = 0
        self._pids: dict[int, int] = {}
        self._exits: dict[int, int] = {}
        self._ended = False
        assert self.proc.stdout is not None
        if self.proc.stdout.readline() != b"ready\n":
            raise RuntimeError("the fork server did not start")
        self._reader = threading.Thread(target=self._read, name="forkcli-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            kind, rid, value = line.decode().split()
            with self._changed:
                (self._pids if kind == "pid" else self._exits)[int(rid)] = int(value)
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def start(
        self,
        argv: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str],
        stdin: str | None,
        stdout: str,
        stderr: str,
        retry_base_s: float | None = None,
        entry: str | None = None,
    ) -> Child:
        """Fork `dtsflow ARGV`; `stdin` is a file to read (None: /dev/null), `stdout`/`stderr` files (may be one)."""
        request = {
            "argv": list(argv),
            "cwd": cwd,
            "env": dict(env),
            "stdin": stdin,
            "stdout": stdout,
            "stderr": stderr,
            "retry_base_s": retry_base_s,
            "entry": entry,
            "umask": _umask(),
        }
        with self._changed:
            self._next += 1
            rid = request["id"] = self._next
            assert self.proc.stdin is not None
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
            while rid not in self._pids:
                if self._ended or not self._changed.wait(60):
                    raise RuntimeError("the fork server did not answer")
            return Child(self, rid, self._pids.pop(rid))

    def _wait_exit(self, rid: int, timeout: float | None) -> int | None:
        with self._changed:
            if not self._changed.wait_for(lambda: rid in self._exits or self._ended, timeout):
                return None
            if rid not in self._exits:
                raise RuntimeError("the fork server ended")
            return self._exits.pop(rid)

    def close(self) -> None:
        """End the server (it kills any child still running) and reap it."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()  # no ResourceWarning (the suite turns warnings into errors)


def _umask() -> int:
    """This process's umask, which a new process would inherit (read without changing it, unlike `os.umask`)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    raise RuntimeError("no Umask in /proc/self/status")


_servers: dict[tuple[tuple[str, str], ...], ForkServer] = {}
_servers_lock = threading.Lock()
_scratch = tempfile.mkdtemp(prefix="forkcli-")


def startup_key(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in env.items() if k.startswith(_STARTUP_PREFIXES)))


def server_for(env: Mapping[str, str]) -> ForkServer:
    """The server of this test process for `env`'s start-up environment, started on first use."""
    key = startup_key(env)
    with _servers_lock:
        if key not in _servers:
            _servers[key] = ForkServer(env)
        return _servers[key]


def close_all() -> None:
    with _servers_lock:
        for server in _servers.values():
            server.close()
        _servers.clear()
    shutil.rmtree(_scratch, ignore_errors=True)


def run(
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None,
    env: Mapping[str, str],
    input: str | None,
    timeout: float | None,
    entry: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """As `subprocess.run([python, -m, dtsflow, *args], capture_output=True, text=True, ...)`, forked."""
    import locale
    import uuid

    cmd = [sys.executable, "-m", "dtsflow", *args]
    os.makedirs(_scratch, exist_ok=True)
    base = os.path.join(_scratch, uuid.uuid4().hex)
    encoding = locale.getpreferredencoding(False)
    stdin = None
    if input is not None:
        stdin = base + ".in"
        Path(stdin).write_bytes(input.encode(encoding))
    out, err = base + ".out", base + ".err"
    child = server_for(env).start(
        args,
        cwd=os.fspath(cwd) if cwd is not None else os.getcwd(),
        env=env,
        stdin=stdin,
        stdout=out,
        stderr=err,
        entry=entry,
    )
    code = child.wait(timeout)
    timed_out = code is None
    if code is None:
        child.kill()
        code = child.wait(60)
    try:
        stdout, stderr = (_text(Path(p).read_bytes(), encoding) for p in (out, err))
    finally:
        for path in (stdin, out, err):
            if path is not None:
                Path(path).unlink(missing_ok=True)
    if timed_out:
        raise subprocess.TimeoutExpired(cmd, timeout or 0, output=stdout, stderr=stderr)
    assert code is not None
    return subprocess.CompletedProcess(cmd, code, stdout, stderr)


def _text(data: bytes, encoding: str) -> str:
    """As `subprocess` decodes a text-mode pipe (universal newlines)."""
    return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


if __name__ == "__main__":
    sys.path[0] = str(REPO)  # not tests/ (where this script lies): its package names must not shadow anything
    _serve()
