"""Whole-file Jinja2 rendering of a manifest, sandboxed and bounded (DESIGN.md §2).

The template sees plain data (`--var`, `--var-file`) and two functions:
  env(NAME, default=...)   a plain value from the environment (credential-looking names are refused)
  secret(NAME)             the *reference* `${secret:NAME}`; `secret('file:/path')` -> `${secret:file:/path}`
The secret value itself is never read here: the client resolves references when it builds a request.

Jinja's sandbox blocks attribute escapes but does not bound work (`range(10**5)` nested twice, `'a' * 10**8`,
`s ~ s` doubled in a loop). We bound it ourselves, inside the render, without threads or subprocesses:
  * every `for` loop iterates through a guard that checks the deadline every 256 items (the code generator wraps
    each loop's iterable), and every call, attribute/item access and intercepted operator checks it too;
  * `*`, `**`, `+`, `%` and `~` are checked before they build a value: no string or list longer than the output
    cap can be built, and `str % ...` is refused (its width spec is a memory bomb);
  * output is streamed and counted; rendering stops at MAX_OUTPUT_BYTES;
  * filters are an allowlist, each guarded the same way; `lipsum` is not offered; there is no loader, so
    `include`/`import`/`extends` find nothing.
"""

from __future__ import annotations

import os
import re
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jinja2 import BaseLoader, StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.environment import Environment
from jinja2.exceptions import SecurityError, TemplateNotFound, UndefinedError
from jinja2.filters import FILTERS
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from dtsflow.errors import Diagnostic

MAX_RENDER_SECONDS = 2.0
MAX_OUTPUT_BYTES = 2 * 1024 * 1024
MAX_RANGE = 100_000
_CHECK_EVERY = 256

# A secret name is an environment variable name; a file reference is an absolute or relative path that cannot
# break out of the `${secret:...}` reference or a YAML scalar.
_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FORBIDDEN_IN_PATH = re.compile(r"[\"'\\\n\r}\x00]")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# env() hands out plain values, which end up in task names, plans and pull-request comments: names that look like
# credentials are refused, so a manifest in a pull request cannot print the CI's keys.
_CREDENTIAL_NAME = re.compile(r"^(BCE_|DTSFLOW_|AWS_)|SECRET|PASSW|TOKEN|CREDENTIAL|KEY|AUTH", re.IGNORECASE)

_ALLOWED_FILTERS = (
    "abs", "capitalize", "count", "d", "default", "dictsort", "first", "float", "int", "items", "join", "last",
    "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round",
    "select", "selectattr", "sort", "string", "sum", "title", "tojson", "trim", "unique", "upper",
)  # fmt: skip


class RenderLimitError(SecurityError):
    """The template went over the time or size bound."""


class _Guard:
    """The deadline and size bounds of one render."""

    def __init__(self, seconds: float, max_bytes: int) -> None:
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds
        self.max_bytes = max_bytes

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderLimitError(f"rendering took longer than {self.seconds:g}s (loops too large?)")

    def size(self, n: int, what: str) -> None:
        if n > self.max_bytes:
            raise RenderLimitError(f"{what} would be larger than {self.max_bytes // 1024} KiB")


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple | dict) else 0


class _GuardedCodeGenerator(CodeGenerator):
    """Emits guarded `~` concatenation and wraps every `for` loop's iterable in the environment's guard."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        for loop in node.find_all(nodes.For):
            guard = nodes.EnvironmentAttribute("dtsflow_guard_iter", lineno=loop.lineno)
            loop.iter = nodes.Call(guard, [loop.iter], [], None, None, lineno=loop.lineno)
        super().visit_Template(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.dtsflow_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _SourceLoader(BaseLoader):
    """Serves exactly one template (the manifest); `include`/`import` of anything else finds nothing."""

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool]]:
        if template != self.name:
            raise TemplateNotFound(template)
        return self.source, self.name, lambda: True


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with time and size bounds (see the module docstring)."""

    code_generator_class = _GuardedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, guard: _Guard, loader: BaseLoader) -> None:
        super().__init__(
            loader=loader,
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            auto_reload=False,
            cache_size=0,
        )
        self.guard = guard
        self.globals.pop("lipsum", None)
        self.globals["range"] = self._range
        self.filters = {name: self._guard_filter(FILTERS[name]) for name in _ALLOWED_FILTERS}
        self.filters["replace"] = self._replace
        self.filters["join"] = self._guard_filter(self._join)

    # hooks called by the compiled template -------------------------------------------------------------------
    def dtsflow_guard_iter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        guard = self.guard
        for i, item in enumerate(iterable):
            if i % _CHECK_EVERY == 0:
                guard.tick()
            yield item

    def dtsflow_concat(self, parts: tuple[Any, ...]) -> str:
        self.guard.tick()
        texts = [str(p) for p in parts]
        self.guard.size(sum(len(t) for t in texts), "a joined string (~)")
        return "".join(texts)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        __self.guard.tick()
        result = super().call(__context, __obj, *args, **kwargs)
        __self.guard.size(_length(result), "a call's result")
        return result

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.guard.tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.guard.tick()
        return super().getitem(obj, argument)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        self.guard.tick()
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(n, int) and _length(seq):
                    self.guard.size(_length(seq) * max(n, 0), "a repeated string or list (*)")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 64:
                raise RenderLimitError("an exponent above 64 is not allowed (**)")
        elif operator == "+":
            self.guard.size(_length(left) + _length(right), "a concatenation (+)")
        elif operator == "%" and isinstance(left, str):
            raise SecurityError("string % formatting is not allowed in manifests; use ~ to join strings")
        return super().call_binop(context, operator, left, right)

    # guarded helpers ------------------------------------------------------------------------------------------
    def _range(self, *args: int) -> range:
        rng = range(*args)
        if len(rng) > MAX_RANGE:
            raise RenderLimitError(f"range() of more than {MAX_RANGE} items")
        return rng

    def _replace(self, value: Any, old: str, new: str, count: int | None = None) -> str:
        text = str(value)
        hits = text.count(str(old)) if count is None else min(count, text.count(str(old)))
        self.guard.size(len(text) + hits * max(len(str(new)) - len(str(old)), 0), "replace()'s result")
        return text.replace(str(old), str(new), -1 if count is None else count)

    def _join(self, value: Iterable[Any], d: str = "", attribute: str | int | None = None) -> str:
        items = [self.getitem(v, attribute) if attribute is not None else v for v in value]
        texts = [str(v) for v in items]
        self.guard.size(sum(len(t) for t in texts) + len(str(d)) * max(len(texts) - 1, 0), "join()'s result")
        return str(d).join(texts)

    def _guard_filter(self, func: Callable[..., Any]) -> Callable[..., Any]:
        guard = self.guard

        def guarded(*args: Any, **kwargs: Any) -> Any:
            guard.tick()
            result = func(*args, **kwargs)
            guard.size(_length(result), "a filter's result")
            return result

        # Jinja passes the environment/context to filters marked with these attributes; keep the marks.
        for mark in ("jinja_pass_arg",):
            if hasattr(func, mark):
                setattr(guarded, mark, getattr(func, mark))
        return guarded


# --- template functions ---------------------------------------------------------------------------------------


def secret_reference(name: str) -> str:
    """`secret('NAME')` -> `${secret:NAME}`, `secret('file:/path')` -> `${secret:file:/path}`; never the value."""
    if not isinstance(name, str) or not name:
        raise ValueError("secret() needs a name, such as secret('DB_PASSWORD') or secret('file:/path')")
    if name.startswith("file:"):
        path = name[len("file:") :]
        if not path or _FORBIDDEN_IN_PATH.search(path):
            raise ValueError("secret('file:...') needs a path without quotes, backslashes, newlines or '}'")
        return "${secret:file:" + path + "}"
    if not _SECRET_NAME.fullmatch(name):
        raise ValueError("secret() names an environment variable: letters, digits and '_', not starting with a digit")
    return "${secret:" + name + "}"


_NO_DEFAULT = object()


def env_value(name: str, default: Any = _NO_DEFAULT) -> Any:
    """`env('NAME', default=...)`: a plain value from the environment; credential-looking names are refused."""
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
        raise ValueError("env() needs an environment variable name")
    if _CREDENTIAL_NAME.search(name):
        raise ValueError(f"env({name!r}) is refused: the name looks like a credential; use secret({name!r})")
    value = os.environ.get(name)
    if value is None:
        if default is _NO_DEFAULT:
            raise ValueError(f"environment variable {name} is not set (give env({name!r}, default=...))")
        return default
    return value


class TemplateFunctionError(Exception):
    """A template function refused its arguments; its message never holds a secret value."""


def _wrap(func: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValueError as exc:
            raise TemplateFunctionError(str(exc)) from None

    return call


# --- rendering --------------------------------------------------------------------------------------------------


# A line that sets a password-like key to something other than a secret reference: its value is never shown.
_SECRET_LINE = re.compile(
    r"""(?P<key>[\w-]*(?:pass|pwd|secret|token|credential)[\w-]*["']?\s*:\s*)(?P<value>.*)$""", re.IGNORECASE
)
_REFERENCE_VALUE = re.compile(r"""^["']?(\$\{secret:[^}]*\}|\{\{\s*secret\([^)]*\)\s*\}\})["']?[\s,}\]]*(#.*)?$|^$""")


def redact_line(line: str) -> str:
    """`password: hunter2` -> `password: <redacted>`; secret references and template calls are kept."""
    match = _SECRET_LINE.search(line)
    if match is None or _REFERENCE_VALUE.match(match.group("value").strip()):
        return line
    return line[: match.start("value")] + "<redacted>"


def excerpt(text: str, line: int | None, *, context: int = 2) -> str | None:
    """A few numbered lines around `line` (1-based), the line itself marked with `>`."""
    if not line:
        return None
    lines = text.splitlines()
    if not lines:
        return None
    line = min(max(line, 1), len(lines))
    start, end = max(1, line - context), min(len(lines), line + context)
    width = len(str(end))
    out = []
    for n in range(start, end + 1):
        mark = ">" if n == line else " "
        body = redact_line(lines[n - 1])
        if len(body) > 160:
            body = body[:157] + "..."
        out.append(f"  {mark} {n:>{width}} | {body}")
    return "\n".join(out)


def _template_line(exc: BaseException, name: str) -> int | None:
    """The template line of a runtime error: Jinja rewrites tracebacks so that frames carry the template name."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == name and frame.lineno:
            line = frame.lineno
    return line


class RenderError(Exception):
    """Rendering failed; carries the diagnostic (file, line, message, excerpt)."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic
        super().__init__(str(diagnostic))


def render(
    source: str,
    file: str,
    variables: Mapping[str, Any] | None = None,
    *,
    max_seconds: float = MAX_RENDER_SECONDS,
    max_bytes: int = MAX_OUTPUT_BYTES,
) -> str:
    """Render one manifest file; raises RenderError with file:line and an excerpt."""
    guard = _Guard(max_seconds, max_bytes)
    sandbox = BoundedSandbox(guard, _SourceLoader(file, source))
    context: dict[str, Any] = dict(variables or {})
    context["env"] = _wrap(env_value)
    context["secret"] = _wrap(secret_reference)

    def fail(message: str, line: int | None) -> RenderError:
        return RenderError(Diagnostic(file, line, "", message, excerpt(source, line)))

    try:
        template = sandbox.get_template(file)
    except TemplateSyntaxError as exc:
        raise fail(f"template syntax error: {exc.message}", exc.lineno) from None
    except RecursionError:
        raise fail("template nested too deeply", None) from None
    chunks: list[str] = []
    size = 0
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            guard.size(size, "the rendered manifest")
            guard.tick()
            chunks.append(chunk)
    except RenderLimitError as exc:
        raise fail(f"template limit: {exc}", _template_line(exc, file)) from None
    except SecurityError as exc:
        raise fail(f"template sandbox violation: {exc}", _template_line(exc, file)) from None
    except UndefinedError as exc:
        raise fail(f"undefined template variable: {exc.message}", _template_line(exc, file)) from None
    except TemplateFunctionError as exc:
        raise fail(str(exc), _template_line(exc, file)) from None
    except TemplateNotFound as exc:
        raise fail(f"templates cannot include other files ({exc.name!r})", _template_line(exc, file)) from None
    except TemplateError as exc:
        raise fail(f"template error: {exc.message}", _template_line(exc, file)) from None
    except RecursionError as exc:
        raise fail("template recursion too deep", _template_line(exc, file)) from None
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError, MemoryError) as exc:
        # Values here come from the template's own data; the message names the kind of error only.
        raise fail(f"template error: {type(exc).__name__}", _template_line(exc, file)) from None
    return "".join(chunks)
