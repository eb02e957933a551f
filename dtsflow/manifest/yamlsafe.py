"""Safe, bounded YAML for manifests: data plus a source map `{json_path: line}`.

We read the event stream of libyaml (`CSafeLoader`; pure-Python `SafeLoader` if libyaml is missing) and build
plain data ourselves, which gives us every rule in one pass with no recursion:
  * no tags beyond str/int/float/bool/null/map/seq (so `!!python/object` is an error, not a constructor);
  * duplicate keys are errors naming both lines; `<<` merge keys are refused (use `defaults:`);
  * aliases are bounded by what they expand to: each alias adds its anchor's node count (aliases inside that
    anchor included), and the load stops as soon as the nodes added by aliases pass MAX_ALIAS_NODES or the
    expanded depth passes MAX_DEPTH, so a billion-laughs file fails after a few hundred events with bounded memory
    (aliases share the built value, nothing is copied). Plain nodes are not counted against a bound: the file-size
    and rendered-size caps already bound them, and a generated manifest of thousands of tasks is plain;
  * plain scalars are resolved by our own rules (YAML 1.2 core, roughly): only true/false are booleans,
    `on`/`yes`/`no`/`off` and dates stay strings, integers and floats are numbers. The manifest models are strict,
    so `password: 0755` is an error ("must be a string"), never a silently retyped value;
  * one document per file; an empty file is an error.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from dtsflow.errors import Diagnostic

try:  # libyaml's C parser is 3-4x faster
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

# Nodes that aliases may add, counted as if expanded: about what the largest plain file can hold (2 MiB rendered,
# at least 2 bytes a node), so aliases at most double the work a file can ask for. 100,000 refused a generated file
# of ~4,200 tasks whose ends are aliases of one anchored pair (24 nodes a task).
MAX_ALIAS_NODES = 1_000_000
MAX_DEPTH = 64

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT_DEC = re.compile(r"[-+]?[0-9]+")
_INT_HEX = re.compile(r"0x[0-9a-fA-F]+")
_INT_OCT = re.compile(r"0o[0-7]+")
_FLOAT_RE = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class YamlError(Exception):
    """The text is not an acceptable manifest document; holds one diagnostic per problem."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


_MAYBE_NOT_STRING = frozenset("0123456789+-.~nNtTfF")


def resolve_plain(text: str) -> Any:
    """Our resolution of an unquoted scalar (see module docstring)."""
    if text and text[0] not in _MAYBE_NOT_STRING:
        return text  # the common case: a name, host or word
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if _INT_DEC.fullmatch(text):
        return int(text, 10)
    if _INT_HEX.fullmatch(text):
        return int(text[2:], 16)
    if _INT_OCT.fullmatch(text):
        return int(text[2:], 8)
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.fullmatch(text):
        return float("nan")
    return text


def key_path(parent: str, key: str) -> str:
    return f"{parent}.{key}" if _IDENT.fullmatch(key) else f"{parent}[{key!r}]"


class _Collection:
    """A mapping or sequence being built, with what is needed to bound and locate it."""

    __slots__ = ("value", "path", "line", "anchor", "start_count", "height", "pending_key", "key_lines")

    def __init__(self, value: dict[str, Any] | list[Any], path: str, line: int, anchor: str | None, count: int):
        self.value = value
        self.path = path
        self.line = line
        self.anchor = anchor
        self.start_count = count
        self.height = 1
        self.pending_key: tuple[str, int] | None = None  # a mapping's key waiting for its value
        self.key_lines: dict[str, int] = {}


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[str, int] = {}
        self.anchors: dict[str, tuple[Any, int, int]] = {}  # anchor -> (value, expanded nodes, height)
        self.open_anchors: set[str] = set()
        self.count = 0  # nodes so far, aliases counted as expanded (sizes anchors)
        self.aliased = 0  # of which added by aliases (bounded)
        self.stack: list[_Collection] = []
        self.root: Any = None
        self.have_root = False

    def fail(self, line: int, path: str, message: str) -> YamlError:
        return YamlError([Diagnostic(self.file, line, path, message)])

    def _grow(self, nodes: int, height: int, line: int, path: str, *, aliased: bool = False) -> None:
        self.count += nodes
        if aliased:
            self.aliased += nodes
            if self.aliased > MAX_ALIAS_NODES:
                raise self.fail(
                    line, path, f"aliases expand to too much: more than {MAX_ALIAS_NODES} nodes once expanded"
                )
        if len(self.stack) + height > MAX_DEPTH:
            raise self.fail(line, path, f"document nested deeper than {MAX_DEPTH} levels (aliases included)")

    def _child_path(self, line: int) -> str:
        """The JSON path of the next value, or raise if a mapping key is expected."""
        if not self.stack:
            return "$"
        top = self.stack[-1]
        if isinstance(top.value, list):
            return f"{top.path}[{len(top.value)}]"
        assert top.pending_key is not None
        return key_path(top.path, top.pending_key[0])

    def _place(self, value: Any, line: int, height: int) -> None:
        """Put a finished value into its parent (as a key or a value)."""
        if not self.stack:
            self.root, self.have_root = value, True
            return
        top = self.stack[-1]
        top.height = max(top.height, height + 1)
        if isinstance(top.value, list):
            self.lines.setdefault(f"{top.path}[{len(top.value)}]", line)
            top.value.append(value)
            return
        if top.pending_key is None:
            self._take_key(top, value, line)
            return
        key, key_line = top.pending_key
        top.pending_key = None
        top.value[key] = value
        self.lines[key_path(top.path, key)] = key_line

    def _take_key(self, top: _Collection, key: Any, line: int) -> None:
        if not isinstance(key, str):
            raise self.fail(line, top.path, "mapping keys must be strings")
        if key == "<<":
            raise self.fail(line, top.path, "merge keys (<<) are not supported; use `defaults:` instead")
        if key in top.key_lines:
            raise self.fail(
                line, key_path(top.path, key), f"duplicate key {key!r} (first defined on line {top.key_lines[key]})"
            )
        top.key_lines[key] = line
        top.pending_key = (key, line)

    def is_key_position(self) -> bool:
        top = self.stack[-1] if self.stack else None
        return top is not None and isinstance(top.value, dict) and top.pending_key is None

    def scalar(self, event: yaml.ScalarEvent) -> None:
        line = _line(event)
        path = "$" if not self.stack or self.is_key_position() else self._child_path(line)
        value = self._scalar_value(event, line, path)
        self._grow(1, 1, line, path)
        if event.anchor:
            self.anchors[event.anchor] = (value, 1, 1)
        self._place(value, line, 1)

    def _scalar_value(self, event: yaml.ScalarEvent, line: int, path: str) -> Any:
        tag, text = event.tag, event.value
        if tag is None or tag == "!":
            return resolve_plain(text) if tag is None and event.implicit[0] else text
        if tag == _STR:
            return text
        if tag in (_INT, _FLOAT, _BOOL, _NULL):
            value = resolve_plain(text)
            wanted = {_INT: int, _FLOAT: float, _BOOL: bool, _NULL: type(None)}[tag]
            if tag == _FLOAT and type(value) is int:
                return float(value)
            if type(value) is not wanted:
                raise self.fail(line, path, f"value does not match its tag {tag.rsplit(':', 1)[-1]}")
            return value
        raise self.fail(line, path, f"tag {_short_tag(tag)} is not allowed (only plain YAML data)")

    def start(self, event: yaml.CollectionStartEvent, value: dict[str, Any] | list[Any], wanted_tag: str) -> None:
        line = _line(event)
        if self.is_key_position():
            raise self.fail(line, self.stack[-1].path, "mapping keys must be strings")
        path = self._child_path(line)
        if event.tag not in (None, "!", wanted_tag):
            raise self.fail(line, path, f"tag {_short_tag(event.tag)} is not allowed (only plain YAML data)")
        self._grow(1, 1, line, path)
        if self.stack:
            parent = self.stack[-1]
            if isinstance(parent.value, list):
                self.lines.setdefault(path, line)
        else:
            self.lines["$"] = line
        if event.anchor:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Collection(value, path, line, event.anchor, self.count - 1))

    def end(self) -> None:
        top = self.stack.pop()
        if top.anchor:
            self.open_anchors.discard(top.anchor)
            self.anchors[top.anchor] = (top.value, self.count - top.start_count, top.height)
        self._place(top.value, top.line, top.height)

    def alias(self, event: yaml.AliasEvent) -> None:
        line = _line(event)
        name = event.anchor
        path = "$" if not self.stack or self.is_key_position() else self._child_path(line)
        if name in self.open_anchors:
            raise self.fail(line, path, f"recursive alias *{name} (refers to a collection that contains it)")
        if name not in self.anchors:
            raise self.fail(line, path, f"undefined alias *{name}")
        value, nodes, height = self.anchors[name]
        self._grow(nodes, height, line, path, aliased=True)
        self._place(value, line, height)


def _line(event: yaml.Event) -> int:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 0


def _short_tag(tag: str | None) -> str:
    if tag and tag.startswith("tag:yaml.org,2002:"):
        return "!!" + tag[len("tag:yaml.org,2002:") :]
    return str(tag)


def load_yaml(text: str, file: str) -> tuple[Any, dict[str, int]]:
    """Parse one manifest document -> (data, {json_path: line}); raises YamlError."""
    builder = _Builder(file)
    loader = _Loader(text)
    documents = 0
    try:
        while loader.check_event():
            event = loader.get_event()  # type: ignore[no-untyped-call]
            if isinstance(event, yaml.ScalarEvent):
                builder.scalar(event)
            elif isinstance(event, yaml.MappingStartEvent):
                builder.start(event, {}, _MAP)
            elif isinstance(event, yaml.SequenceStartEvent):
                builder.start(event, [], _SEQ)
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                builder.end()
            elif isinstance(event, yaml.AliasEvent):
                builder.alias(event)
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise builder.fail(
                        _line(event), "", "more than one YAML document (---) in one file; use one file each"
                    )

    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        error_line = mark.line + 1 if mark else None
        problem = exc.problem or "invalid YAML"
        context = f" {exc.context}" if exc.context else ""
        message = f"YAML syntax error: {problem}{context}"
        column = mark.column + 1 if mark else None
        raise YamlError([Diagnostic(file, error_line, "", message, column=column)]) from None
    except yaml.YAMLError as exc:
        raise YamlError([Diagnostic(file, None, "", f"YAML error: {type(exc).__name__}")]) from None
    finally:
        loader.dispose()
    if not builder.have_root or builder.root is None:
        raise YamlError([Diagnostic(file, None, "", "the file is empty (a manifest needs at least `version: 1`)")])
    return builder.root, builder.lines
