"""The module boundaries of DESIGN §6, read from the source with `ast` (and, for what a module drags in, from
`sys.modules` of a fresh interpreter):

- the plan core (planner, transitions, diff, plan, render, wire, rules) is pure: no network library, no client, no
  emulator, no file access, no printing;
- only `dtsflow/client/**` and `dtsflow/connect.py` import httpx; only they and the emulator (a server) touch
  sockets; only the emulator uses sqlite3; only `dtsflow.connect` builds the HTTP client;
- only the modules that own a file read files;
- the emulator is started only by `connect`, the `emulator` command and its options, and needs no pydantic.

`dtsflow --help` importing nothing heavy is checked in tests/foundation/test_secrets_and_imports.py.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import REPO

PACKAGE = REPO / "dtsflow"

PURE = (
    "dtsflow.planner",
    "dtsflow.transitions",
    "dtsflow.diff",
    "dtsflow.plan",
    "dtsflow.render",
    "dtsflow.render.text",
    "dtsflow.render.markdown",
    "dtsflow.render.json",
    "dtsflow.wire",
    "dtsflow.rules",
)
# Nothing that reaches the outside world, directly or through another dtsflow module.
PURE_MAY_NOT_IMPORT = (
    "httpx", "httpcore", "socket", "ssl", "http", "urllib.request", "sqlite3", "subprocess", "os", "io", "pathlib",
    "shutil", "tempfile", "dtsflow.client", "dtsflow.connect", "dtsflow.emulator", "dtsflow.loader",
    "dtsflow.secrets", "dtsflow.savedplan", "dtsflow.journal", "dtsflow.executor", "dtsflow.credentials",
)  # fmt: skip
NETWORK = ("httpx", "httpcore", "socket", "ssl", "http.client", "http.server", "urllib.request", "socketserver")
# Calls that read or write a file's content or a directory listing.
FILE_FUNCTIONS = {"open"}  # builtin open()
FILE_METHODS = {
    "open", "fdopen", "read_text", "read_bytes", "write_text", "write_bytes", "listdir", "scandir", "iterdir",
    "glob", "rglob", "walk",
}  # fmt: skip
FILE_OWNERS = {
    "dtsflow.loader",  # manifests and --var-file
    "dtsflow.yamlsafe",
    "dtsflow.templating",
    "dtsflow.secrets",  # ${secret:file:/path}
    "dtsflow.savedplan",  # plan -o / apply PLAN.json
    "dtsflow.journal",  # .dtsflow/journal
    "dtsflow.applylock",  # .dtsflow/apply.lock
    "dtsflow.credentials",  # ~/.bce/config.json (DESIGN §3)
    "dtsflow.schema",  # the package's own schema file (python -m dtsflow.schema --write)
    "dtsflow.commands.schema",  # prints that file
}
# Single file calls that are not file access, each with its reason.
FILE_CALL_EXCEPTIONS = {("dtsflow.cli", "os.open(os.devnull, os.O_WRONLY)"): "discards stdout after a closed pipe"}
EMULATOR_STARTERS = {"dtsflow.connect", "dtsflow.cli", "dtsflow.commands.emulator"}


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def is_client(self) -> bool:
        return self.name == "dtsflow.client" or self.name.startswith("dtsflow.client.")

    @property
    def is_emulator(self) -> bool:
        return self.name == "dtsflow.emulator" or self.name.startswith("dtsflow.emulator.")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = PACKAGE) -> list[Module]:
    return [
        Module(_module_name(p), p, ast.parse(p.read_text(encoding="utf-8"), str(p))) for p in sorted(root.rglob("*.py"))
    ]


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.name.split(".")
    if module.path.name != "__init__.py":
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: Module) -> Iterator[tuple[str, int]]:
    """Every module name imported anywhere in the file (also inside functions, also via importlib with a literal),
    with its line; `from a import b` yields `a` and `a.b` (b may be a module)."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            yield base, node.lineno
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value, node.lineno


def _is(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def file_calls(module: Module) -> Iterator[tuple[str, int]]:
    """(the call as written, line) of every call that opens, reads, writes or lists files."""
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Call):
            continue
        if (isinstance(node.func, ast.Name) and node.func.id in FILE_FUNCTIONS) or (
            isinstance(node.func, ast.Attribute) and node.func.attr in FILE_METHODS
        ):
            yield ast.unparse(node), node.lineno


ALL = modules()


def test_every_module_was_read() -> None:
    names = {m.name for m in ALL}
    assert set(PURE) | FILE_OWNERS | EMULATOR_STARTERS <= names  # a renamed module must be renamed here too
    assert {"dtsflow.client.http", "dtsflow.emulator.server", "dtsflow.executor"} <= names


@pytest.mark.parametrize("name", PURE)
def test_plan_core_is_pure(name: str) -> None:
    module = next(m for m in ALL if m.name == name)
    bad = [
        f"{module.path.name}:{line}: imports {imported}"
        for imported, line in imports(module)
        if any(_is(imported, forbidden) for forbidden in PURE_MAY_NOT_IMPORT)
    ]
    bad += [f"{module.path.name}:{line}: calls {call}" for call, line in file_calls(module)]
    bad += [
        f"{module.path.name}:{node.lineno}: calls {node.func.id}()"
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("print", "input")
    ]
    assert not bad, bad


def test_plan_core_drags_in_nothing_impure() -> None:
    """What importing the pure modules loads, transitively (a pure module importing an impure helper fails here)."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(PURE)!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(REPO)}, timeout=60
    )
    loaded = json.loads(out.stdout or "null") or []
    forbidden = ("httpx", "jinja2", "yaml", "sqlite3", "dtsflow.client", "dtsflow.connect", "dtsflow.emulator",
                 "dtsflow.loader", "dtsflow.secrets", "dtsflow.journal", "dtsflow.credentials")  # fmt: skip
    assert loaded, out.stderr
    assert [m for m in loaded if any(_is(m, f) for f in forbidden)] == []


def test_only_the_client_and_connect_import_httpx() -> None:
    bad = [
        f"{m.name}:{line}"
        for m in ALL
        if not (m.is_client or m.name == "dtsflow.connect")
        for imported, line in imports(m)
        if _is(imported, "httpx") or _is(imported, "httpcore")
    ]
    assert not bad, bad


def test_only_the_client_connect_and_the_emulator_server_touch_the_network() -> None:
    bad = [
        f"{m.name}:{line}: {imported}"
        for m in ALL
        if not (m.is_client or m.is_emulator or m.name == "dtsflow.connect")
        for imported, line in imports(m)
        if any(_is(imported, lib) for lib in NETWORK)
    ]
    assert not bad, bad


def test_only_connect_builds_the_http_client_and_only_the_emulator_uses_sqlite() -> None:
    http_users = {m.name for m in ALL if not m.is_client for i, _ in imports(m) if _is(i, "dtsflow.client.http")}
    assert http_users == {"dtsflow.connect"}
    sqlite_users = {m.name for m in ALL if any(_is(i, "sqlite3") for i, _ in imports(m))}
    assert sqlite_users and all(name.startswith("dtsflow.emulator.") for name in sqlite_users), sqlite_users


def test_only_file_owners_read_or_write_files() -> None:
    bad = [
        f"{m.name}:{line}: {call}"
        for m in ALL
        if m.name not in FILE_OWNERS and not m.is_emulator
        for call, line in file_calls(m)
        if (m.name, call) not in FILE_CALL_EXCEPTIONS
    ]
    assert not bad, bad


def test_the_emulator_is_started_only_by_connect_and_its_command() -> None:
    starters = {
        m.name for m in ALL if not m.is_emulator for i, _ in imports(m) if _is(i, "dtsflow.emulator")
    }  # fmt: skip
    assert starters <= EMULATOR_STARTERS, starters - EMULATOR_STARTERS


def test_the_emulator_needs_no_pydantic_nor_client() -> None:
    code = (
        "import json, sys\n"
        "import dtsflow.emulator.server, dtsflow.emulator.engine, dtsflow.commands.emulator\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(REPO)}, timeout=60
    )
    loaded = json.loads(out.stdout or "null") or []
    assert loaded, out.stderr
    heavy = ("pydantic", "httpx", "jinja2", "yaml", "jsonschema", "dtsflow.client", "dtsflow.live")
    assert [m for m in loaded if any(_is(m, h) for h in heavy)] == []
