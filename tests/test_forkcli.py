"""tests/forkcli.py: a forked run is a process as a new `python -m dtsflow` would be, but for the start-up."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests import forkcli
from tests.helpers import REPO, run_cli


def probe() -> int:
    """Run inside a forked child (`entry`): what the process looks like from inside."""
    handlers = {
        name: repr(signal.getsignal(getattr(signal, name))) for name in ("SIGINT", "SIGTERM", "SIGPIPE", "SIGCHLD")
    }
    report = {
        "argv": sys.argv,
        "cwd": os.getcwd(),
        "umask": oct(os.umask(0)),
        "env": dict(os.environ),
        "stdin": sys.stdin.read(),
        "isatty": [sys.stdin.isatty(), sys.stdout.isatty(), sys.stderr.isatty()],
        "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
        "blocked": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, set())),
        "handlers": handlers,
        "encoding": [sys.stdout.encoding, sys.stdout.errors, sys.stderr.errors],
    }
    print(json.dumps(report))
    print("to stderr", file=sys.stderr)
    return 3


def run_probe(tmp_path: Path, **kwargs: object) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    env = {"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", ""), "ONLY": "this"}
    result = forkcli.run(
        ["a", "b c"], cwd=tmp_path, env=env, input="typed\n", timeout=60, entry="tests.test_forkcli:probe", **kwargs
    )  # type: ignore[arg-type]
    return result, json.loads(result.stdout)


def test_a_forked_run_is_its_own_process(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        result, seen = run_probe(tmp_path)
    finally:
        os.umask(old)
    assert seen["umask"] == oct(0o027)
    assert result.returncode == 3
    assert result.stderr == "to stderr\n"
    assert result.args == [sys.executable, "-m", "dtsflow", "a", "b c"]
    assert seen["argv"] == [str(REPO / "dtsflow" / "__main__.py"), "a", "b c"]
    assert seen["cwd"] == str(tmp_path)
    assert seen["env"] == {"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", ""), "ONLY": "this"}
    assert seen["stdin"] == "typed\n"
    assert seen["isatty"] == [False, False, False]
    assert seen["fds"] == [0, 1, 2, 3]  # 3: the listing's own descriptor
    assert seen["blocked"] == []
    fresh = subprocess.run(
        [sys.executable, "-c", PROBE_NEW],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "ONLY": "this"},
    )
    assert [seen["handlers"], seen["encoding"]] == json.loads(fresh.stdout)


PROBE_NEW = """import json, signal, sys
names = ("SIGINT", "SIGTERM", "SIGPIPE", "SIGCHLD")
handlers = {n: repr(signal.getsignal(getattr(signal, n))) for n in names}
print(json.dumps([handlers, [sys.stdout.encoding, sys.stdout.errors, sys.stderr.errors]]))
"""


def test_without_input_stdin_is_empty(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(REPO), "ONLY": "this"}
    result = forkcli.run(["x"], cwd=tmp_path, env=env, input=None, timeout=60, entry="tests.test_forkcli:probe")
    assert json.loads(result.stdout)["stdin"] == ""


def sleeper() -> int:
    import time

    time.sleep(60)
    return 0


def test_a_run_past_its_timeout_is_killed(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(REPO)}
    with pytest.raises(subprocess.TimeoutExpired):
        forkcli.run(["x"], cwd=tmp_path, env=env, input=None, timeout=0.5, entry="tests.test_forkcli:sleeper")


def test_the_cli_forked_and_new_agree(tmp_path: Path) -> None:
    """The same commands, forked and in a new interpreter: same exit code, same output."""
    (tmp_path / "bad.yaml").write_text("version: 1\ntasks:\n  - name: x\n    standard: huge\n")
    for args in (["--version"], ["validate", "bad.yaml"], ["plan"], ["bogus"]):
        forked, new = (run_cli(*args, cwd=tmp_path, fork=fork) for fork in (True, False))
        assert (forked.returncode, forked.stdout, forked.stderr) == (new.returncode, new.stdout, new.stderr), args


def _module_level_environ_reads(tree: ast.Module) -> list[int]:
    """Lines reading an environment variable outside any function (so at import time, which a fork does not redo).
    Naming `os.environ` itself is no read: it is the live mapping of the process that runs."""
    lines: list[int] = []

    def is_environ(node: ast.AST) -> bool:
        return isinstance(node, ast.Attribute) and node.attr in ("environ", "environb")

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return
        reads = (
            (isinstance(node, ast.Attribute) and node.attr == "getenv")
            or (isinstance(node, ast.Attribute) and is_environ(node.value))  # os.environ.get / .copy / ...
            or (isinstance(node, ast.Subscript) and is_environ(node.value))
            or (isinstance(node, ast.Compare) and any(is_environ(c) for c in node.comparators))
        )
        if reads:
            lines.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return lines


def test_the_environment_check_sees_reads() -> None:
    code = "import os\nA = os.environ.get('A')\nB = os.getenv('B')\nC = 'C' in os.environ\nD = os.environ['D']\n"
    quiet = "import os\nE = os.environ\ndef f():\n    return os.environ.get('F')\n"
    assert _module_level_environ_reads(ast.parse(code)) == [2, 3, 4, 5]
    assert _module_level_environ_reads(ast.parse(quiet)) == []


def test_dtsflow_reads_no_environment_at_import_time() -> None:
    """Forked runs share the server's imports: a value read from the environment while importing would be the
    server's, not the run's. (Field default factories are functions: they read at call time.)"""
    found = {
        str(path.relative_to(REPO)): lines
        for path in sorted((REPO / "dtsflow").rglob("*.py"))
        if (lines := _module_level_environ_reads(ast.parse(path.read_text())))
    }
    assert found == {}
