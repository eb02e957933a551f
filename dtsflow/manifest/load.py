"""The only reader of manifest files: paths -> validated tasks, or one ManifestError with every problem.

Pipeline per file: size check (stat, before reading) -> bytes -> strict UTF-8 -> Jinja render (sandboxed, bounded)
-> safe YAML with a source map -> `defaults` deep-merged into each task -> pydantic models -> semantic rules.
Then across files: unique task names, `dependsOn` targets and cycles, `prune.prefix`.

Line numbers refer to the rendered text (what `dtsflow render` prints); for a file whose rendering changes the
number of lines (loops), each diagnostic carries an excerpt of the rendered text.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dtsflow.errors import ConfigError, Diagnostic, ManifestError, collapse_repeats
from dtsflow.manifest.envvars import EnvPolicy
from dtsflow.manifest.grammar import IDENTIFIER_RE, SECRET_MARK
from dtsflow.manifest.messages import json_path, message_for
from dtsflow.manifest.model import ManifestFile, TaskSpec
from dtsflow.manifest.rules import api_warnings, check_task, find_cycles, unknown_dependency_message
from dtsflow.manifest.secrets import SecretPolicy, is_secret_ref
from dtsflow.manifest.templating import RenderError, excerpt, render
from dtsflow.manifest.yamlsafe import YamlError, load_yaml

MAX_FILE_BYTES = 5 * 1024 * 1024
MANIFEST_SUFFIXES = (".yaml", ".yml")
_RESERVED_VARS = frozenset({"env", "secret", "range", "dict", "cycler", "joiner", "namespace"})
# The only fields whose secret references the client resolves; anywhere else the API would get the reference text.
_SECRET_FIELDS = re.compile(r"^\$\.(?:tasks\[\d+\]|defaults)\.(?:src|dst)\.password$")


@dataclass
class LoadedManifests:
    """Every task of one run, in file order, with where each came from."""

    tasks: dict[str, TaskSpec] = field(default_factory=dict)
    prune_prefixes: list[str] = field(default_factory=list)
    digest: str = ""
    paths: list[str] = field(default_factory=list)
    locations: dict[str, tuple[str, int]] = field(default_factory=dict)
    warnings: list[Diagnostic] = field(default_factory=list)
    """Not errors, but worth a look (e.g. an `api:` key the API does not document)."""


# --- files ---------------------------------------------------------------------------------------------------


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def escapes_worktree(path: str) -> bool:
    """A symbolic link that leads out of the directory dtsflow runs in (the work tree a pull request can change).

    A path that is itself a link, or that lies inside the work tree but resolves outside it (a linked parent
    directory), is refused: a pull request could otherwise point `vars/prod.yaml` at `~/.bce/config.json`. A path
    outside the work tree that the operator names directly, without a link, is theirs to name.
    """
    work = os.path.realpath(os.getcwd())
    real = os.path.realpath(path)
    if _inside(real, work):
        return False
    return os.path.islink(path) or _inside(os.path.abspath(path), work)


def _link_problem(path: str, what: str = "") -> Diagnostic:
    return Diagnostic(
        path,
        None,
        "",
        f"{what}is a symbolic link that leads outside the directory dtsflow runs in ({os.getcwd()}); refused",
    )


def expand_paths(paths: Iterable[str]) -> tuple[list[str], list[Diagnostic]]:
    """Files as given; directories -> their `*.yaml`/`*.yml` files (not recursive), sorted by name.

    Links out of the work tree are refused (`escapes_worktree`), for the paths given and for directory entries.
    """
    files: list[str] = []
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    for path in paths:
        if escapes_worktree(path):
            problems.append(_link_problem(path))
            continue
        if os.path.isdir(path):
            found, refused = [], len(problems)
            for name in sorted(os.listdir(path)):
                entry = os.path.join(path, name)
                if not name.endswith(MANIFEST_SUFFIXES):
                    continue
                if escapes_worktree(entry):
                    problems.append(_link_problem(entry))
                elif os.path.isfile(entry):
                    found.append(entry)
            if not found and len(problems) == refused:
                problems.append(Diagnostic(path, None, "", "directory holds no *.yaml or *.yml manifest"))
        elif os.path.exists(path):
            found = [path]
        else:
            problems.append(Diagnostic(path, None, "", "no such file or directory"))
            continue
        for file in found:
            real = os.path.realpath(file)
            if real not in seen:
                seen.add(real)
                files.append(file)
    return files, problems


def read_text(path: str, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The file's text: refused before reading if too large; strict UTF-8 without a byte-order mark."""

    def fail(message: str, line: int | None = None) -> ManifestError:
        return ManifestError([Diagnostic(path, line, "", message)])

    if escapes_worktree(path):
        raise ManifestError([_link_problem(path)])
    # Opened without blocking (a FIFO must not hang the run) and, once resolved, without following a link planted
    # since the check; fstat then says what was opened.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(os.path.realpath(path), flags)
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or type(exc).__name__}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise fail("not a regular file")
        if info.st_size > max_bytes:
            raise fail(f"file is larger than {max_bytes // (1024 * 1024)} MiB ({info.st_size} bytes); refused")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or type(exc).__name__}") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # grew after stat
        raise fail(f"file is larger than {max_bytes // (1024 * 1024)} MiB; refused")
    if data.startswith(b"\xef\xbb\xbf"):
        raise fail("file starts with a UTF-8 byte-order mark (BOM); save it as UTF-8 without BOM", 1)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise fail("file is UTF-16 (byte-order mark found); manifests must be UTF-8", 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise fail(f"not valid UTF-8: byte 0x{data[exc.start]:02x} at line {line}, column {column}", line) from None


# --- variables -------------------------------------------------------------------------------------------------


def parse_var_args(items: Iterable[str]) -> dict[str, str]:
    """`--var KEY=VALUE` arguments -> {KEY: VALUE} (values are strings)."""
    variables: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not IDENTIFIER_RE.fullmatch(key):
            raise ConfigError(f"--var needs KEY=VALUE with KEY a name (letters, digits, _), got {key!r}")
        if key in _RESERVED_VARS:
            raise ConfigError(f"--var {key}: {key!r} is a template function name; choose another name")
        variables[key] = value
    return variables


def load_var_files(paths: Iterable[str]) -> dict[str, Any]:
    """`--var-file FILE.yaml`: a mapping of names to plain data (safe YAML, not rendered)."""
    variables: dict[str, Any] = {}
    for path in paths:
        if escapes_worktree(path):
            raise ManifestError([_link_problem(path, "--var-file ")])
        if not os.path.exists(path):
            raise ManifestError([Diagnostic(path, None, "", "--var-file: no such file")])
        text = read_text(path)
        try:
            data, lines = load_yaml(text, path)
        except YamlError as exc:
            raise ManifestError(exc.diagnostics) from None
        if not isinstance(data, dict):
            raise ManifestError([Diagnostic(path, 1, "$", "a variables file must be a mapping of names to values")])
        for key in data:
            if not IDENTIFIER_RE.fullmatch(key) or key in _RESERVED_VARS:
                line = lines.get(f"$.{key}") or lines.get(f"$[{key!r}]")
                raise ManifestError([Diagnostic(path, line, "$", f"{key!r} cannot be a template variable name")])
        variables.update(data)
    return variables


# `--env NAME`: the variables file of a named environment, `vars/NAME.yaml` in the first PATH's directory (the PATH
# itself when it is a directory, else the directory holding it), read exactly as a `--var-file` given first.
ENV_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
ENV_SUFFIXES = (".yaml", ".yml")


def vars_dir(paths: tuple[str, ...] | list[str]) -> Path:
    """Where `--env` looks: `vars/` in the first PATH (a directory) or in the directory holding it (a file)."""
    first = Path(paths[0]) if paths else Path(".")
    return (first if first.is_dir() else first.parent) / "vars"


def _environments(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    return sorted({p.stem for p in directory.iterdir() if p.suffix in ENV_SUFFIXES and p.is_file()})


def env_var_file(paths: tuple[str, ...] | list[str], name: str) -> str:
    """The variables file of environment `name` (a path as the user would write it); `ConfigError` naming the
    environments there are when it has none."""
    if not ENV_NAME_RE.fullmatch(name) or name.strip(".") != name:
        raise ConfigError(f"--env expects an environment name such as prod or staging, got {name!r}")
    directory = vars_dir(paths)
    for suffix in ENV_SUFFIXES:
        candidate = directory / f"{name}{suffix}"
        if candidate.is_file():
            return str(candidate)
    known = _environments(directory)
    if known:
        listed = ", ".join(known)
    else:
        listed = f"none: {directory} holds no *.yaml file" if directory.is_dir() else f"none: no directory {directory}"
    raise ConfigError(f"--env {name}: there is no {directory / name}.yaml (environments: {listed})")


def merge_defaults(defaults: Mapping[str, Any], task: Mapping[str, Any]) -> dict[str, Any]:
    """`defaults` deep-merged under `task`: mappings merge, the task's own values win, lists are replaced.

    Values are shared, not copied: parsed manifest data is never mutated.
    """
    merged = dict(defaults)
    for key, value in task.items():
        base = merged.get(key)
        merged[key] = merge_defaults(base, value) if isinstance(value, dict) and isinstance(base, dict) else value
    return merged


# --- one file --------------------------------------------------------------------------------------------------


@dataclass
class _FileResult:
    tasks: list[tuple[TaskSpec, int, str]] = field(default_factory=list)  # spec, line, JSON path of the task
    lines: dict[str, int] = field(default_factory=dict)
    raw_names: list[tuple[str, int, str]] = field(default_factory=list)  # every task's name, line, path
    prune_prefix: tuple[str, int] | None = None
    problems: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    source: str = ""  # the file as written: a rendered value is echoed in a message only if it appears here

    def literal(self, value: str) -> bool:
        """The user wrote this text (so a message may echo it); otherwise the template rendered it."""
        return bool(value) and value in self.source


def error_loc(error: Any) -> tuple[Any, ...]:
    """A pydantic error's location, without the `[key]` marker of an error in a mapping's key (the key is the path)."""
    loc = tuple(error["loc"])
    return loc[:-1] if loc and loc[-1] == "[key]" else loc


def _nearest_line(lines: Mapping[str, int], path: str) -> int | None:
    """The line of `path`, or of its closest ancestor in the source map."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return lines.get("$")


class _FileChecker:
    def __init__(
        self, file: str, source: str, rendered: str, lines: dict[str, int], shifted: bool, secrets: SecretPolicy
    ) -> None:
        self.file = file
        self.secrets = secrets
        self.rendered = rendered
        self.lines = lines
        self.shifted = shifted  # rendering changed line numbers: show the rendered context
        self.result = _FileResult(lines=lines, source=source)
        self.defaults_errors: set[str] = set()  # JSON paths under $.defaults already reported

    def report(self, path: str, message: str, *, line_path: str | None = None) -> None:
        line = _nearest_line(self.lines, line_path or path)
        shown = excerpt(self.rendered, line, context=2) if self.shifted else None
        self.result.problems.append(Diagnostic(self.file, line, path, message, shown))

    def report_error(self, base: str, error: Any, model: Any, *, line_path: str | None = None, note: str = "") -> None:
        """A pydantic error; an unknown key the template rendered is not echoed (nor is the rendered excerpt)."""
        loc = error_loc(error)
        path = json_path(base, loc)
        if error["type"] == "extra_forbidden" and not self.result.literal(str(loc[-1])):
            where = json_path(base, loc[:-1]) + ".<rendered key>"
            line = _nearest_line(self.lines, line_path or path)
            message = "unknown key rendered by the template (its text is not shown)" + note
            self.result.problems.append(Diagnostic(self.file, line, where, message))
            return
        self.report(path, message_for(dict(error), model) + note, line_path=line_path)

    def _task_line_path(self, index: int, raw: dict[str, Any], defaults: Any, loc: Sequence[str | int]) -> str:
        """Source-map path for `loc` inside task `index`: the task's own key, else the `defaults:` key it came from."""
        node: Any = raw
        for depth, part in enumerate(loc):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                in_defaults: Any = defaults
                for sub in loc[: depth + 1]:
                    if isinstance(in_defaults, dict) and sub in in_defaults:
                        in_defaults = in_defaults[sub]
                    else:
                        return json_path(f"$.tasks[{index}]", loc[:depth])
                return json_path("$.defaults", loc)
        return json_path(f"$.tasks[{index}]", loc)

    def _reported_in_defaults(self, line_path: str) -> bool:
        """A task error caused by a `defaults:` value that was already reported there (reported once, not per task)."""
        return line_path.startswith("$.defaults") and any(
            line_path == p or line_path.startswith((p + ".", p + "[")) for p in self.defaults_errors
        )

    def check_secret_references(self, node: Any, path: str = "$") -> None:
        """`secret()` only in a password field, and only a secret the operator's policy allows."""
        if isinstance(node, dict):
            for key, value in node.items():
                self.check_secret_references(value, json_path(path, (str(key),)))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                self.check_secret_references(value, f"{path}[{index}]")
        elif isinstance(node, str) and SECRET_MARK in node:
            if not _SECRET_FIELDS.match(path):
                self.report(
                    path,
                    "secret() belongs only in src.password or dst.password: anywhere else the API would receive "
                    "the reference text, not the secret",
                )
                return
            refused = self.secrets.problem(node) if is_secret_ref(node) else None
            if refused is not None:
                self.report(path, refused)

    def check(self, data: Any) -> _FileResult:
        if not isinstance(data, dict):
            self.report("$", "the top level must be a mapping (version, defaults, tasks, prune)")
            return self.result
        self.check_secret_references(data)
        envelope = {k: v for k, v in data.items() if k != "tasks"}
        try:
            ManifestFile.model_validate(envelope)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                path = json_path("$", error_loc(error))
                if path.startswith("$.defaults"):
                    self.defaults_errors.add(path)
                self.report_error("$", error, ManifestFile)
        raw_defaults = data.get("defaults")
        defaults = raw_defaults if isinstance(raw_defaults, dict) else {}
        prune = data.get("prune")
        if isinstance(prune, dict) and isinstance(prune.get("prefix"), str):
            self.result.prune_prefix = (prune["prefix"], self.lines.get("$.prune.prefix", 0))
        tasks = data.get("tasks")
        if tasks is None:
            return self.result
        if not isinstance(tasks, list):
            self.report("$.tasks", "must be a list of tasks")
            return self.result
        for index, raw in enumerate(tasks):
            self._check_task(index, raw, defaults)
        return self.result

    def _check_task(self, index: int, raw: Any, defaults: dict[str, Any]) -> None:
        base = f"$.tasks[{index}]"
        line = self.lines.get(base, 0)
        if not isinstance(raw, dict):
            self.report(base, "each task must be a mapping with name, src, dst, ...")
            return
        if isinstance(raw.get("name"), str):
            self.result.raw_names.append((raw["name"], line, f"{base}.name"))
        merged = merge_defaults(defaults, raw)
        try:
            spec = TaskSpec.model_validate(merged)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                loc = error_loc(error)
                line_path = self._task_line_path(index, raw, defaults, loc)
                if self._reported_in_defaults(line_path):
                    continue
                note = " (value from defaults)" if line_path.startswith("$.defaults") else ""
                self.report_error(base, error, TaskSpec, line_path=line_path, note=note)
            return
        for loc, message, line_loc in check_task(spec):
            self.report(json_path(base, loc), message, line_path=self._task_line_path(index, raw, defaults, line_loc))
        for loc, message in api_warnings(spec):
            at = _nearest_line(self.lines, self._task_line_path(index, raw, defaults, loc))
            self.result.warnings.append(Diagnostic(self.file, at, json_path(base, loc), message))
        self.result.tasks.append((spec, line, base))


# --- the run ---------------------------------------------------------------------------------------------------


def load_manifests(
    paths: list[str],
    *,
    variables: dict[str, str] | None = None,
    var_files: Sequence[str] = (),
    secrets: SecretPolicy | None = None,
    env: EnvPolicy | None = None,
) -> LoadedManifests:
    """Load, render, parse and validate every manifest of a run; raise one ManifestError listing every problem.

    `secrets` is the operator's secret policy (default: from the environment); a reference it refuses is an error.
    `env` says which environment variables `env()` may read (default: `DTSFLOW_VAR_*` only).
    """
    secrets = secrets or SecretPolicy.from_operator()
    context: dict[str, Any] = load_var_files(var_files)
    context.update(variables or {})
    files, problems = expand_paths(paths)
    digest = hashlib.sha256()
    results: list[tuple[str, _FileResult]] = []
    unreadable = bool(problems)
    for file in files:
        try:
            text = read_text(file)
        except ManifestError as exc:
            problems.extend(exc.diagnostics)
            unreadable = True
            continue
        try:
            rendered = render(text, file, context, env_policy=env)
            data, lines = load_yaml(rendered, file)
        except RenderError as exc:
            problems.append(exc.diagnostic)
            unreadable = True
            continue
        except YamlError as exc:
            problems.extend(_with_excerpt(exc.diagnostics, rendered))
            unreadable = True
            continue
        encoded = rendered.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
        shifted = rendered.count("\n") != text.count("\n")
        result = _FileChecker(file, text, rendered, lines, shifted, secrets).check(data)
        results.append((file, result))
    loaded = LoadedManifests(paths=files, digest=digest.hexdigest())
    problems.extend(_check_run(results, loaded, check_dependencies=not unreadable))
    if problems:
        raise ManifestError(problems)
    return loaded


def _with_excerpt(diagnostics: list[Diagnostic], rendered: str) -> list[Diagnostic]:
    return [replace(d, excerpt=d.excerpt or excerpt(rendered, d.line)) for d in diagnostics]


def _check_run(
    results: list[tuple[str, _FileResult]], loaded: LoadedManifests, *, check_dependencies: bool
) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    first_seen: dict[str, tuple[str, int]] = {}
    all_names: set[str] = set()
    where: dict[str, tuple[str, str, _FileResult]] = {}  # task -> file, JSON path, its file's result
    for file, result in results:
        file_problems = list(result.problems)
        for name, line, path in result.raw_names:
            all_names.add(name)
            if name in first_seen:
                other_file, other_line = first_seen[name]
                shown = repr(name) if result.literal(name) else "(rendered by the template; not shown)"
                file_problems.append(
                    Diagnostic(
                        file, line, path, f"duplicate task name {shown} (also defined at {other_file}:{other_line})"
                    )
                )
            else:
                first_seen[name] = (file, line)
        for spec, line, path in result.tasks:
            if first_seen.get(spec.name) == (file, line):
                loaded.tasks[spec.name] = spec
                loaded.locations[spec.name] = (file, line)
                where[spec.name] = (file, path, result)
        loaded.warnings.extend(collapse_repeats(result.warnings))  # as errors are: once per loop body
        if result.prune_prefix is not None and result.prune_prefix[0] not in loaded.prune_prefixes:
            loaded.prune_prefixes.append(result.prune_prefix[0])
        problems.extend(sorted(file_problems, key=lambda d: d.line or 0))
    if check_dependencies:
        problems.extend(_check_dependencies(loaded, all_names, where))
    return problems


def _check_previous_names(
    loaded: LoadedManifests, all_names: set[str], where: dict[str, tuple[str, str, _FileResult]]
) -> list[Diagnostic]:
    """A previous name must be free: not a task of the run (its own included), not claimed by another task."""
    problems: list[Diagnostic] = []
    claimed: dict[str, str] = {}
    for name, spec in loaded.tasks.items():
        file, base, result = where[name]
        for i, old in enumerate(spec.previous_names):
            path = f"{base}.previousNames[{i}]"
            shown = repr(old) if result.literal(old) else "(rendered by the template; not shown)"
            if old in all_names:
                message = f"previous name {shown} is the name of a task of this run; a previous name must be free"
            elif old in claimed and claimed[old] != name:
                message = f"previous name {shown} is also a previous name of another task; it can rename only one"
            else:
                claimed[old] = name
                continue
            problems.append(Diagnostic(file, _nearest_line(result.lines, path), path, message))
    return problems


def _check_dependencies(
    loaded: LoadedManifests, all_names: set[str], where: dict[str, tuple[str, str, _FileResult]]
) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    for name, spec in loaded.tasks.items():
        file, base, result = where[name]
        for i, dep in enumerate(spec.depends_on):
            if dep not in all_names:
                path = f"{base}.dependsOn[{i}]"
                message = (
                    unknown_dependency_message(dep, all_names)
                    if result.literal(dep)
                    else "depends on a task name rendered by the template (not shown), which no manifest of this run "
                    "defines"
                )
                problems.append(Diagnostic(file, _nearest_line(result.lines, path), path, message))
    problems.extend(_check_previous_names(loaded, all_names, where))
    graph = {name: list(spec.depends_on) for name, spec in loaded.tasks.items()}
    for cycle in find_cycles(graph):
        file, base, result = where[cycle[0]]
        path = f"{base}.dependsOn"
        problems.append(
            Diagnostic(file, _nearest_line(result.lines, path), path, "dependency cycle: " + " -> ".join(cycle))
        )
    return problems
