"""The module boundaries, stated by package and read from the source with `ast` (and, for what a package drags
in, from `sys.modules` of a fresh interpreter). docs/architecture.md lists each rule with its test:

- `dtsflow.plan` does no I/O (`saved` owns plan files; `refresh` calls the client it is given), and neither do the
  shared pure helpers (client.wire, manifest.rules, manifest.grammar);
- only `dtsflow.client` talks to the network (and `dtsflow.commands.connect` builds the client); the emulator is the
  other end; only the emulator uses sqlite3;
- `dtsflow.apply` does not read manifests, and reads plans through `dtsflow.plan.model` only;
- the emulator imports, of the product, only the shared standard-library vocabulary;
- only the modules that own a file read files; only the CLI reads an argparse namespace;
- each package says its job and its imports; docs/architecture.md lists every module.

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

PLAN = "dtsflow.plan"
PLAN_IO_EXCEPTIONS = {
    "dtsflow.plan.saved": ("os", "pathlib"),  # the plan-file owner: writes `plan -o` files (0600), reads saved plans
}
"""What a plan module may import that is otherwise I/O, with the reason. (`dtsflow.plan.refresh` needs no entry: it
calls the `DtsClient` it is given, and imports only the protocol.)"""
SHARED_PURE = ("dtsflow.client.wire", "dtsflow.manifest.rules", "dtsflow.manifest.grammar")
# Nothing that reaches the outside world, directly or through another dtsflow module.
IO_IMPORTS = (
    "httpx", "httpcore", "socket", "ssl", "http", "urllib.request", "sqlite3", "subprocess", "os", "io", "pathlib",
    "shutil", "tempfile", "dtsflow.client.http", "dtsflow.client.auth", "dtsflow.client.retry",
    "dtsflow.client.credentials", "dtsflow.commands", "dtsflow.emulator", "dtsflow.manifest.load",
    "dtsflow.manifest.secrets", "dtsflow.manifest.templating", "dtsflow.manifest.yamlsafe", "dtsflow.manifest.envvars",
    "dtsflow.manifest.schema", "dtsflow.apply",
)  # fmt: skip
# Of the product, what the emulator may import: standard-library modules that both ends of a request must read alike.
EMULATOR_MAY_IMPORT = {
    "dtsflow.client.signing": "the signer: the emulator verifies with the functions the client signs with",
    "dtsflow.client.statuses": "the status vocabulary (names only; the emulator's allowed-from rules stay its own)",
    "dtsflow.client.reverse": "the cutover choices the documentation leaves open, read alike by both ends",
    "dtsflow.client.loopback": "which clients the admin endpoints answer, by the client's own loopback rule",
    "dtsflow.clock": "the injectable clock of the task timelines",
    "dtsflow.errors": "a bad state file is a user error, reported like any other",
}
# Of dtsflow.manifest and dtsflow.plan, what apply may import: data and grammar, no reader and no planning logic.
APPLY_MAY_IMPORT = {"dtsflow.manifest.model", "dtsflow.manifest.grammar", "dtsflow.plan.model"}
NETWORK = ("httpx", "httpcore", "socket", "ssl", "http.client", "http.server", "urllib.request", "socketserver")
# Calls that read or write a file's content or a directory listing.
FILE_FUNCTIONS = {"open"}  # builtin open()
FILE_METHODS = {
    "open", "fdopen", "read_text", "read_bytes", "write_text", "write_bytes", "listdir", "scandir", "iterdir",
    "glob", "rglob", "walk",
}  # fmt: skip
FILE_OWNERS = {
    "dtsflow.manifest.load",  # manifests and --var-file
    "dtsflow.manifest.yamlsafe",
    "dtsflow.manifest.templating",
    "dtsflow.manifest.secrets",  # ${secret:file:/path}
    "dtsflow.plan.saved",  # plan -o / apply PLAN.json
    "dtsflow.apply.journal",  # .dtsflow/journal
    "dtsflow.apply.lock",  # .dtsflow/apply.lock
    "dtsflow.apply.statedir",  # opens .dtsflow/ state files without following links
    "dtsflow.apply.report_file",  # apply --report FILE.html
    "dtsflow.client.credentials",  # ~/.bce/config.json (docs/client.md)
    "dtsflow.manifest.schema",  # the package's own schema file (python -m dtsflow.manifest.schema --write)
    "dtsflow.commands.schema",  # prints that file
}
# Single file calls that are not file access, each with its reason.
FILE_CALL_EXCEPTIONS = {("dtsflow.cli", "os.open(os.devnull, os.O_WRONLY)"): "discards stdout after a closed pipe"}
EMULATOR_STARTERS = {"dtsflow.commands.connect", "dtsflow.cli", "dtsflow.commands.emulator"}


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
    named = set(SHARED_PURE) | set(PLAN_IO_EXCEPTIONS) | set(EMULATOR_MAY_IMPORT) | APPLY_MAY_IMPORT
    assert named | FILE_OWNERS | EMULATOR_STARTERS <= names  # a renamed module must be renamed here too
    assert {"dtsflow.client.http", "dtsflow.emulator.server", "dtsflow.apply.executor"} <= names


def _io_problems(module: Module, allowed: tuple[str, ...] = ()) -> list[str]:
    bad = [
        f"{module.path.relative_to(REPO)}:{line}: imports {imported}"
        for imported, line in imports(module)
        if any(_is(imported, forbidden) for forbidden in IO_IMPORTS) and not any(_is(imported, a) for a in allowed)
    ]
    if not allowed:  # an owner of files may call file functions
        bad += [f"{module.path.relative_to(REPO)}:{line}: calls {call}" for call, line in file_calls(module)]
    bad += [
        f"{module.path.relative_to(REPO)}:{node.lineno}: calls {node.func.id}()"
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("print", "input")
    ]
    return bad


PLAN_MODULES = [m for m in ALL if _is(m.name, PLAN)]


@pytest.mark.parametrize("module", PLAN_MODULES, ids=lambda m: m.name)
def test_the_plan_package_does_no_io(module: Module) -> None:
    assert not _io_problems(module, PLAN_IO_EXCEPTIONS.get(module.name, ())), _io_problems(
        module, PLAN_IO_EXCEPTIONS.get(module.name, ())
    )


@pytest.mark.parametrize("name", SHARED_PURE)
def test_shared_helpers_are_pure(name: str) -> None:
    module = next(m for m in ALL if m.name == name)
    assert not _io_problems(module), _io_problems(module)


def test_the_plan_package_drags_in_nothing_impure() -> None:
    """What importing the plan package loads, transitively (a plan module importing an impure helper fails here)."""
    names = [m.name for m in PLAN_MODULES if m.name not in PLAN_IO_EXCEPTIONS] + list(SHARED_PURE)
    code = (
        "import importlib, json, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(REPO)}, timeout=60
    )
    loaded = json.loads(out.stdout or "null") or []
    forbidden = ("httpx", "jinja2", "yaml", "sqlite3", "dtsflow.client.http", "dtsflow.client.auth",
                 "dtsflow.client.retry", "dtsflow.client.credentials", "dtsflow.commands", "dtsflow.emulator",
                 "dtsflow.manifest.load", "dtsflow.manifest.secrets", "dtsflow.manifest.templating", "dtsflow.apply")  # fmt: skip
    assert loaded, out.stderr
    assert [m for m in loaded if any(_is(m, f) for f in forbidden)] == []


def test_apply_reads_no_manifest_and_no_plan_logic() -> None:
    bad = [
        f"{m.path.relative_to(REPO)}:{line}: imports {imported}"
        for m in ALL
        if _is(m.name, "dtsflow.apply")
        for imported, line in imports(m)
        if any(_is(imported, p) for p in ("dtsflow.manifest", "dtsflow.plan", "dtsflow.commands", "dtsflow.emulator"))
        and imported not in ("dtsflow.manifest", "dtsflow.plan")  # `from dtsflow.plan import model` names the package
        and not any(_is(imported, allowed) for allowed in APPLY_MAY_IMPORT)
    ]
    assert not bad, bad


def test_the_emulator_imports_only_the_shared_vocabulary() -> None:
    bad = [
        f"{m.path.relative_to(REPO)}:{line}: imports {imported}"
        for m in ALL
        if m.is_emulator
        for imported, line in imports(m)
        if _is(imported, "dtsflow")
        and not _is(imported, "dtsflow.emulator")
        and imported not in ("dtsflow", "dtsflow.client")  # `from dtsflow.client import signing` names the package
        and not any(_is(imported, allowed) for allowed in EMULATOR_MAY_IMPORT)
    ]
    assert not bad, bad


def test_only_the_client_and_connect_import_httpx() -> None:
    bad = [
        f"{m.name}:{line}"
        for m in ALL
        if not (m.is_client or m.name == "dtsflow.commands.connect")
        for imported, line in imports(m)
        if _is(imported, "httpx") or _is(imported, "httpcore")
    ]
    assert not bad, bad


def test_only_the_client_connect_and_the_emulator_server_touch_the_network() -> None:
    bad = [
        f"{m.name}:{line}: {imported}"
        for m in ALL
        if not (m.is_client or m.is_emulator or m.name == "dtsflow.commands.connect")
        for imported, line in imports(m)
        if any(_is(imported, lib) for lib in NETWORK)
    ]
    assert not bad, bad


def test_only_connect_builds_the_http_client_and_only_the_emulator_uses_sqlite() -> None:
    http_users = {m.name for m in ALL if not m.is_client for i, _ in imports(m) if _is(i, "dtsflow.client.http")}
    assert http_users == {"dtsflow.commands.connect"}
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
    # The client package's light modules only: the signer, the status vocabulary and the loopback rule.
    allowed = {
        "dtsflow.client", "dtsflow.client.signing", "dtsflow.client.statuses", "dtsflow.client.reverse",
        "dtsflow.client.loopback",
    }  # fmt: skip
    heavy = ("pydantic", "httpx", "jinja2", "yaml", "jsonschema", "dtsflow.client")
    loaded = [m for m in loaded if m not in allowed]
    assert [m for m in loaded if any(_is(m, h) for h in heavy)] == []


def test_only_the_cli_reads_an_argparse_namespace() -> None:
    """Commands and library functions take frozen arguments (`dtsflow.commands.args`), never a namespace."""
    found = []
    for module in modules():
        if module.name == "dtsflow.cli":
            continue
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.arg)
                and node.annotation is not None
                and "Namespace" in ast.unparse(node.annotation)
            ):
                found.append(
                    f"{module.path.relative_to(REPO)}:{node.lineno}: {node.arg}: {ast.unparse(node.annotation)}"
                )
    assert not found, "\n".join(found)


PACKAGES = ("manifest", "plan", "plan/render", "apply", "client", "commands", "emulator")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_says_its_job_and_imports(package: str) -> None:
    init = PACKAGE / package / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    assert doc, f"{init.relative_to(REPO)} has no docstring"
    assert "may import" in doc, f"{init.relative_to(REPO)} does not say what it may import"


def test_every_module_is_on_the_map() -> None:
    """docs/architecture.md names every module of the package (as `dtsflow/.../name.py`)."""
    page = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [str(m.path.relative_to(REPO)) for m in ALL if f"`{m.path.relative_to(REPO)}`" not in page]
    assert not missing, f"modules docs/architecture.md does not list: {missing}"
