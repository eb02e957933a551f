"""One escaping function per sink, for strings dtsflow does not control: what manifests say (task names, hosts,
check names) and what the service answers (task names, statuses, precheck names and messages, `errmsg`, ids).

    for_terminal(line)   a terminal or CI log: no ANSI escape or other control character (shown as `\\xNN`), no
                         newline (so nothing can start a line of its own), no bidirectional override, and a line
                         that would start a CI workflow command (`::error::`, `##[error]`, `##vso[`) is defused
    for_markdown(text)   a pull-request comment: every character markdown or HTML gives a meaning to (links,
                         images, emphasis, tables, code spans, `@mentions`, `#refs`, autolinks) as an HTML entity
    for_markdown_code(text)  the same, shown in code style (`<code>`, since a backtick code span cannot hold a
                         backtick safely and shows entities literally)
    for_workflow_message(text)   the message of a GitHub workflow command (`::error ...::MESSAGE`): `%`, CR and
                         LF as `%25`, `%0D`, `%0A` (GitHub's own escaping: the runner decodes them, so nothing in
                         the text can end the command or start another), other control characters made visible
    for_workflow_property(text)  a property value of one (`file=`, `title=`): the same, plus `:` and `,` as `%3A`
                         and `%2C` (they would end the value)
    for_html(text)       an HTML page: `html.escape` (quotes included) after removing control characters
    mermaid_label(text)  a mermaid diagram label: lives in `dtsflow.plan.render.mermaid`, same contract

Standard library only: every layer may import it. The renderers and printers apply these where a string lands;
tests feed hostile strings from manifests and from the emulator through the CLI.
"""

from __future__ import annotations

import html
import re

# C0 controls, DEL, C1 controls, line/paragraph separators and bidirectional formatting characters.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# Lines a CI runner reads as commands: GitHub Actions (`::name ...::`), Azure Pipelines (`##vso[...]`, `##[...]`).
_WORKFLOW_START = re.compile(r"^(\s*)(::|##\[)")
_AZURE_ANYWHERE = re.compile(r"##vso\[", re.IGNORECASE)
_ZWSP = "\u200b"

# Characters with a meaning anywhere in a line; `-`, `+`, `.`, `=` only matter where a text starts (lists, headings
# underlines) and `.` after `www` (an autolink).
_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()<>#!|~@:&\"'$")
_MARKDOWN_LEADING = frozenset("-+.=")
_ORDERED_ITEM = re.compile(r"^(\d+)\.")
_AUTOLINK_WWW = re.compile(r"(?i)(www)\.")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(line: str) -> str:
    """One line of terminal or CI-log text (see the module docstring)."""
    text = _CONTROL.sub(_visible, str(line))
    text = _AZURE_ANYWHERE.sub("##" + _ZWSP + "vso[", text)
    return _WORKFLOW_START.sub(lambda m: m.group(1) + _ZWSP + m.group(2), text)


def for_terminal_lines(text: str) -> str:
    """Several lines (an error message dtsflow composed): each line through `for_terminal`."""
    return "\n".join(for_terminal(line) for line in str(text).split("\n"))


def for_markdown(text: str) -> str:
    """Inline markdown text (also safe in a table cell) that renders as exactly these characters."""
    out = []
    for index, ch in enumerate(_CONTROL.sub(" ", str(text))):
        special = ch in _MARKDOWN_SPECIAL or (index == 0 and ch in _MARKDOWN_LEADING)
        out.append(f"&#{ord(ch)};" if special else ch)
    return _ORDERED_ITEM.sub(r"\1&#46;", _AUTOLINK_WWW.sub(r"\1&#46;", "".join(out)))


def for_markdown_code(text: str) -> str:
    return f"<code>{for_markdown(text)}</code>"


def for_html(text: str) -> str:
    return html.escape(_CONTROL.sub(" ", str(text)), quote=True)


def for_workflow_message(text: str) -> str:
    """The data of a GitHub workflow command (see the module docstring)."""
    escaped = str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return _CONTROL.sub(_visible, escaped)


def for_workflow_property(text: str) -> str:
    """A property value of a GitHub workflow command (see the module docstring)."""
    return for_workflow_message(text).replace(":", "%3A").replace(",", "%2C")
