"""Whole-file Jinja2 rendering of a manifest, sandboxed and bounded (docs/manifest.md).

The template sees plain data (`--var`, `--var-file`) and two functions:
  env(NAME, default=...)   a plain value from an environment variable the operator allows (see envvars.py)
  secret(NAME)             the *reference* `${secret:NAME}`; `secret('file:/path')` -> `${secret:file:/path}`
The secret value itself is never read here: references are resolved only when a request body is built (`dtsflow.client.wire`).

Jinja's sandbox blocks attribute escapes but does not bound work (`range(10**5)` nested twice, `'a' * 10**8`,
`s ~ s` doubled in a loop). We bound it ourselves, inside the render, without threads or subprocesses:
  * every `for` loop iterates through a guard that checks the deadline every 256 items (the code generator wraps
    each loop's iterable), and every call, attribute/item access and intercepted operator checks it too;
  * everything that builds a value from a width, count or repetition checks the size it *would* build before
    building it: `*`, `+`, `~`, `%` (printf widths), `**` and `*` on integers (bits), `str.format`/`format_map`
    (each field's width and precision), the string methods of `_SIZED_METHODS` (`ljust`, `center`, `zfill`,
    `expandtabs`, `replace`, `join`, `translate`, `to_bytes`, ...) and every filter, whose input is measured
    first (a list holding the same 1 MB string a thousand times is small in memory and a gigabyte once printed);
  * every value built counts against a budget for the whole render (MAX_ALLOCATED_BYTES), so values kept in
    variables cannot add up to gigabytes either;
  * output is streamed and counted; rendering stops at MAX_OUTPUT_BYTES;
  * filters are an allowlist, each guarded the same way; `lipsum` is not offered; there is no loader, so
    `include`/`import`/`extends` find nothing, not even the manifest itself;
  * compiling the template counts against the deadline: the lexer's tokens and the code generator's nodes are
    counted and the deadline checked every 256 of each, so a huge template stops early, not after seconds.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, cast

from jinja2 import BaseLoader, StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, TemplateNotFound, UndefinedError
from jinja2.filters import FILTERS
from jinja2.lexer import Token, TokenStream
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter

from dtsflow.errors import Diagnostic
from dtsflow.manifest.envvars import EnvPolicy
from dtsflow.manifest.grammar import IDENTIFIER_RE, SECRET_MARK, SECRET_PATH_FORBIDDEN

MAX_RENDER_SECONDS = 2.0
MAX_OUTPUT_BYTES = 2 * 1024 * 1024
MAX_RANGE = 100_000
MAX_ALLOCATED_BYTES = 128 * MAX_OUTPUT_BYTES
"""Every string or list a render builds counts against this, freed or not: what variables can hold is bounded."""
MAX_INT_BITS = 65_536
"""Integer arithmetic past this size (about 20,000 digits) is refused before it runs."""
_CHECK_EVERY = 256

# A secret name is an environment variable name; a file reference is an absolute or relative path that cannot
# break out of the `${secret:...}` reference or a YAML scalar.
_FORBIDDEN_IN_PATH = re.compile(f"[{SECRET_PATH_FORBIDDEN}\\x00]")  # NUL too: no file name holds one

_ALLOWED_FILTERS = (
    "abs", "capitalize", "count", "d", "default", "dictsort", "first", "float", "int", "items", "join", "last",
    "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round",
    "select", "selectattr", "sort", "string", "sum", "title", "tojson", "trim", "unique", "upper", "format",
)  # fmt: skip
_PADDING_HINT = "for zero-padded numbers write '%03d' % i, '%03d'|format(i) or '{:03d}'.format(i)"


class RenderLimitError(SecurityError):
    """The template went over the time or size bound."""


class _Guard:
    """The deadline and size bounds of one render."""

    def __init__(self, seconds: float, max_bytes: int, max_allocated: int = MAX_ALLOCATED_BYTES) -> None:
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.max_allocated = max_allocated
        self.allocated = 0
        self._sizes: dict[int, tuple[object, int]] = {}  # id -> (the container, kept alive; its printed size)

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderLimitError(f"rendering took longer than {self.seconds:g}s (loops too large?)")

    def size(self, n: int, what: str) -> None:
        if n > self.max_bytes:
            raise RenderLimitError(f"{what} would be larger than {self.max_bytes // 1024} KiB")

    def alloc(self, n: int, what: str) -> None:
        """`n` bytes are about to be built: within the per-value cap and the render's whole budget."""
        self.size(n, what)
        self.allocated += n
        if self.allocated > self.max_allocated:
            raise RenderLimitError(
                f"the template built more than {self.max_allocated // (1024 * 1024)} MiB of values in all"
            )

    def printed(self, value: Any, what: str) -> int:
        """The length of `str(value)` or its JSON, estimated from above without building it; over the cap: refused."""
        n = self._printed(value, 0)
        self.size(n, what)
        return n

    def _printed(self, value: Any, depth: int) -> int:
        if isinstance(value, str):
            return len(value) + 2  # quotes inside a list; escapes may add a few times more, still bounded
        if isinstance(value, bytes):
            return len(value) * 4 + 3
        if isinstance(value, bool) or value is None:
            return 5
        if isinstance(value, int):
            return value.bit_length() // 3 + 2
        if isinstance(value, float):
            return 24
        if not isinstance(value, list | tuple | dict | set | frozenset) or depth > 64:
            return 256  # an object's repr: the sandbox offers few, none large
        known = self._sizes.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        total = 2
        items = value.items() if isinstance(value, dict) else value
        for i, item in enumerate(items):
            if i % _CHECK_EVERY == 0:
                self.tick()
            if isinstance(item, tuple) and isinstance(value, dict):
                total += self._printed(item[0], depth + 1) + self._printed(item[1], depth + 1) + 4
            else:
                total += self._printed(item, depth + 1) + 2
            if total > self.max_bytes:
                break  # over the cap already: no need to measure the rest
        self._sizes[id(value)] = (value, total)
        return total


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple | dict) else 0


def _width(value: Any, guard: _Guard, what: str) -> int:
    """A width, count or length argument, checked before anything is built with it."""
    if isinstance(value, bool) or not isinstance(value, int):
        return 0  # the call itself will refuse it
    guard.size(value, what)
    return max(value, 0)


_SPEC_NUMBER = re.compile(r"\d+")


def _spec_widths(spec: str, guard: _Guard, what: str) -> int:
    """The widths and precisions in a format spec (`>10`, `03d`, `.2f`): each within the cap; their sum."""
    total = 0
    for number in _SPEC_NUMBER.findall(spec):
        if len(number) > 9:
            guard.size(guard.max_bytes + 1, what)
        total += _width(int(number), guard, what)
    return total


class _BoundedFormatter(SandboxedFormatter):
    """`str.format`/`format_map` with each field's width, precision and value checked before it is formatted,
    and the running length of the result counted."""

    def __init__(self, env: BoundedSandbox) -> None:
        super().__init__(env)
        self._guard = env.guard
        self._built = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        guard = self._guard
        guard.tick()
        n = _spec_widths(format_spec, guard, "a format() width") + guard.printed(value, "a format() field")
        self._built += n
        guard.alloc(n, "format()'s result")
        guard.size(self._built, "format()'s result")
        return super().format_field(value, format_spec)


_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?(.)", re.DOTALL)


def _printf(guard: _Guard, template: str, args: Any) -> str:
    """`template % args` with every width and precision checked first; `*` widths are refused."""
    guard.tick()
    total = len(template) + guard.printed(args, "a % argument")
    for match in _PRINTF_SPEC.finditer(template):
        width, precision = match.group(1), match.group(2) or ""
        if "*" in (width, precision):
            raise SecurityError(f"a '*' width in % formatting is not allowed; {_PADDING_HINT}")
        total += _spec_widths(width + "." + precision, guard, "a % width")
    guard.alloc(total, "a % formatted string")
    return str(template % args)


def _checked_call(guard: _Guard, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Bound a builtin method's result from its arguments before it runs (see _SIZED_METHODS)."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if isinstance(owner, int) and not isinstance(owner, bool) and name == "to_bytes":
        length = args[0] if args else kwargs.get("length", 1)
        guard.alloc(_width(length, guard, "to_bytes()'s length"), "to_bytes()'s result")
        return
    if not isinstance(owner, str | bytes):
        return
    what = f"{name}()'s result"
    n = len(owner)
    if name in ("ljust", "rjust", "center", "zfill"):
        width = args[0] if args else kwargs.get("width", 0)
        guard.alloc(max(n, _width(width, guard, what)), what)
    elif name == "expandtabs":
        tab = args[0] if args else kwargs.get("tabsize", 8)
        tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
        guard.alloc(n + tabs * _width(tab, guard, what), what)
    elif name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        if isinstance(old, str | bytes) and isinstance(new, str | bytes):
            hits = owner.count(old) if old else n + 1  # type: ignore[arg-type]
            if isinstance(count, int) and count >= 0:
                hits = min(hits, count)
            guard.alloc(n + hits * max(len(new) - len(old), 0), what)
    elif name == "join" and args:
        items = args[0]
        if isinstance(items, str | bytes):
            guard.alloc(len(items) * (n + 1), what)
        elif isinstance(items, list | tuple):
            guard.alloc(guard.printed(items, what) + n * len(items), what)
        else:
            raise SecurityError("join() takes a list in manifests; write (...)|list first")
    elif name == "translate" and args and isinstance(args[0], dict):
        widest = max((len(v) for v in args[0].values() if isinstance(v, str | bytes)), default=1)
        guard.alloc(n * max(widest, 1), what)
    elif name in ("upper", "lower", "casefold", "swapcase", "title", "capitalize", "encode"):
        guard.alloc(n * 4, what)  # case mappings and UTF-8 grow a string at most ~3-4x


_SIZED_METHODS = ("ljust", "rjust", "center", "zfill", "expandtabs", "replace", "join", "translate", "to_bytes")
"""Methods whose result can be far larger than their object: bounded from their arguments (`_checked_call`).
Every other str/bytes method returns at most a small multiple of its object, which is itself bounded."""


def _int_bits(guard: _Guard, what: str, bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise RenderLimitError(f"{what} would be an integer of more than {MAX_INT_BITS} bits")
    guard.tick()


class _GuardedCodeGenerator(CodeGenerator):
    """Emits guarded `~` concatenation and wraps every `for` loop's iterable in the environment's guard."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        for loop in node.find_all(nodes.For):
            guard = nodes.EnvironmentAttribute("dtsflow_guard_iter", lineno=loop.lineno)
            loop.iter = nodes.Call(guard, [loop.iter], [], None, None, lineno=loop.lineno)
        super().visit_Template(node, frame)

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        # Compiling counts against the deadline: a file of many thousand statements takes seconds to generate.
        self._visits = getattr(self, "_visits", 0) + 1
        if self._visits % _CHECK_EVERY == 0:
            cast("BoundedSandbox", self.environment).guard.tick()
        return super().visit(node, *args, **kwargs)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.dtsflow_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with time and size bounds (see the module docstring)."""

    code_generator_class = _GuardedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, guard: _Guard) -> None:
        super().__init__(
            loader=BaseLoader(),  # finds nothing: `include`, `import` and `extends` fail, even of the manifest
            finalize=self._finalize,
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
        self.filters["format"] = self._format_filter

    def _tokenize(
        self, source: str, name: str | None, filename: str | None = None, state: str | None = None
    ) -> TokenStream:
        """The lexer's tokens, checking the deadline as they are read: parsing counts against it too."""
        stream = super()._tokenize(source, name, filename, state)
        return TokenStream(self._ticking(stream), name, filename)

    def _ticking(self, tokens: Iterable[Token]) -> Iterator[Token]:
        guard = self.guard
        for i, token in enumerate(tokens):
            if i % _CHECK_EVERY == 0:
                guard.tick()
            yield token

    # hooks called by the compiled template -------------------------------------------------------------------
    def dtsflow_guard_iter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        guard = self.guard
        for i, item in enumerate(iterable):
            if i % _CHECK_EVERY == 0:
                guard.tick()
            yield item

    def dtsflow_concat(self, parts: tuple[Any, ...]) -> str:
        self.guard.tick()
        self.guard.alloc(sum(self.guard.printed(p, "a joined string (~)") for p in parts), "a joined string (~)")
        return "".join(str(p) for p in parts)

    def _finalize(self, value: Any) -> Any:
        """Every `{{ ... }}` value: measured before it is turned into text."""
        if not isinstance(value, str):
            self.guard.printed(value, "a printed value")
        return value

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        __self.guard.tick()
        _checked_call(__self.guard, __obj, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        __self.guard.size(_length(result), "a call's result")
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        template: str = value.__self__
        is_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                return str(_BoundedFormatter(self).vformat(template, (), args[0]))
            return str(_BoundedFormatter(self).vformat(template, args, kwargs))

        return bounded

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.guard.tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.guard.tick()
        return super().getitem(obj, argument)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        guard = self.guard
        guard.tick()
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (left, right))
        if operator == "*":
            if ints:
                _int_bits(guard, "a product (*)", left.bit_length() + right.bit_length())
            for seq, n in ((left, right), (right, left)):
                if isinstance(n, int) and _length(seq):
                    what = "a repeated string or list (*)"
                    guard.size(_length(seq) * max(n, 0), what)
                    guard.alloc(self._built(seq, what) * max(n, 0), what)
        elif operator == "**":
            if ints and abs(left) > 1 and right > 0:
                _int_bits(guard, "a power (**)", abs(left).bit_length() * right)
        elif operator == "+":
            what = "a concatenation (+)"
            guard.size(_length(left) + _length(right), what)
            if _length(left) or _length(right):
                guard.alloc(self._built(left, what) + self._built(right, what), what)
        elif operator == "%" and isinstance(left, str):
            return _printf(guard, left, right)
        return super().call_binop(context, operator, left, right)

    def _built(self, value: Any, what: str) -> int:
        """What building from `value` costs: a string's length; a container's printed size (it may be printed)."""
        return len(value) if isinstance(value, str | bytes) else self.guard.printed(value, what)

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

    def _format_filter(self, value: Any, *args: Any, **kwargs: Any) -> str:
        """`'%03d'|format(i)`: Jinja's printf-style `format` filter, with the same bounds as `%`."""
        if args and kwargs:
            raise SecurityError("format() takes positional or keyword arguments, not both")
        return _printf(self.guard, str(value), kwargs or args)

    def _join(self, value: Iterable[Any], d: str = "", attribute: str | int | None = None) -> str:
        items = [self.getitem(v, attribute) if attribute is not None else v for v in value]
        texts = [str(v) for v in items]
        self.guard.size(sum(len(t) for t in texts) + len(str(d)) * max(len(texts) - 1, 0), "join()'s result")
        return str(d).join(texts)

    def _guard_filter(self, func: Callable[..., Any]) -> Callable[..., Any]:
        guard = self.guard

        def guarded(*args: Any, **kwargs: Any) -> Any:
            guard.tick()
            # A filter's input is measured first: many filters print it (`string`, `upper`, `tojson`) or add its
            # items up (`sum` of lists), and a list may hold one large string many times.
            for arg in args:
                if isinstance(arg, str | list | tuple | dict):
                    guard.alloc(guard.printed(arg, "a filter's input"), "a filter's input")
            for arg in kwargs.values():
                if isinstance(arg, list | tuple | dict):
                    guard.printed(arg, "a filter's argument")
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
        return SECRET_MARK + "file:" + path + "}"
    if not IDENTIFIER_RE.fullmatch(name):
        raise ValueError("secret() names an environment variable: letters, digits and '_', not starting with a digit")
    return SECRET_MARK + name + "}"


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


# A line that sets a credential-like key (`key: value`, `key = value`, `"key": value`, `export KEY=value`) to
# something other than a secret reference: its value is never shown.
_SECRET_KEY = (
    r"(?:[\w.-]*(?:pass|pwd|secret|token|credential|key|auth|session|jwt|cookie|private|signature)[\w.-]*"
    r"|\b[as]k\b)"
)
_SECRET_LINE = re.compile(rf"""(?P<key>{_SECRET_KEY}["']?\s*[:=]\s*)(?P<value>.*)$""", re.IGNORECASE)
_REFERENCE_VALUE = re.compile(r"""^["']?(\$\{secret:[^}]*\}|\{\{\s*secret\([^)]*\)\s*\}\})["']?[\s,}\]]*(#.*)?$|^$""")
# Other credential-looking text, wherever it stands: a private key block, a bearer token, a URL's user:password,
# and long runs of key-like characters (letters and digits mixed, 32 or more, as access keys and tokens are).
_PEM_LINE = re.compile(r"-----(BEGIN|END)[A-Z ]*-----|^[A-Za-z0-9+/=]{40,}$")
_CREDENTIAL_TEXT = re.compile(
    r"(?P<bearer>\b(?:bearer|basic)\s+)\S+"
    r"|(?P<scheme>://)[^/\s:@]+:[^/\s@]+@"
    r"|\b(?=[A-Za-z0-9+/=]{32,})(?=[A-Za-z0-9+/=]*\d)(?=[A-Za-z0-9+/=]*[A-Za-z])[A-Za-z0-9+/=]{32,}",
    re.IGNORECASE,
)
MAX_EXCERPT_LINE = 160


def _redact_text(match: re.Match[str]) -> str:
    if match.group("bearer"):
        return match.group("bearer") + "<redacted>"
    if match.group("scheme"):
        return "://<redacted>@"
    return "<redacted>"


def redact_line(line: str) -> str:
    """`password: hunter2`, `token = x` -> `...: <redacted>`; also key blocks, bearer tokens, URL passwords and
    long key-like strings. Secret references and template calls are kept."""
    if _PEM_LINE.search(line.strip()):
        return "<redacted>"
    match = _SECRET_LINE.search(line)
    if match is not None and not _REFERENCE_VALUE.match(match.group("value").strip()):
        return line[: match.start("value")] + "<redacted>"
    return _CREDENTIAL_TEXT.sub(_redact_text, line)


def excerpt(text: str, line: int | None, *, context: int = 0) -> str | None:
    """Numbered lines around `line` (1-based), the line itself marked with `>`, each redacted.

    The default shows only the line itself: for a file that failed to parse (which may not be a manifest at all),
    nothing beyond what locates the error. A parsed manifest's diagnostics ask for context.
    """
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
        if len(body) > MAX_EXCERPT_LINE:
            body = body[: MAX_EXCERPT_LINE - 3] + "..."
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
    env_policy: EnvPolicy | None = None,
) -> str:
    """Render one manifest file; raises RenderError with file:line and an excerpt. `env()` follows `env_policy`."""
    guard = _Guard(max_seconds, max_bytes)
    sandbox = BoundedSandbox(guard)
    context: dict[str, Any] = dict(variables or {})
    context["env"] = _wrap((env_policy or EnvPolicy()).read)
    context["secret"] = _wrap(secret_reference)

    def fail(message: str, line: int | None) -> RenderError:
        return RenderError(Diagnostic(file, line, "", message, excerpt(source, line)))

    try:
        code = sandbox.compile(source, name=file, filename=file)
        template = sandbox.template_class.from_code(sandbox, code, sandbox.make_globals(None), None)
        guard.tick()  # compiling counts against the deadline
    except TemplateSyntaxError as exc:
        raise fail(f"template syntax error: {exc.message}", exc.lineno) from None
    except RecursionError:
        raise fail("template nested too deeply", None) from None
    except RenderLimitError as exc:
        raise fail(f"template limit: {exc}", None) from None
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
    except MemoryError as exc:  # a bound missed something: say so plainly, never as a crash
        raise fail(
            "template limit: the template needs more memory than this machine allows", _template_line(exc, file)
        ) from None
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
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        # Values here come from the template's own data; the message names the kind of error only.
        raise fail(f"template error: {type(exc).__name__}", _template_line(exc, file)) from None
    return "".join(chunks)
