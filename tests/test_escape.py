"""The sink functions of `dtsflow.escape`, each with hostile strings (the CLI tests drive them end to end)."""

from __future__ import annotations

import html

import pytest

from dtsflow.escape import for_html, for_markdown, for_markdown_code, for_terminal, for_terminal_lines

HOSTILE = [
    "\x1b[2J\x1b[31mred\x1b[0m",
    "a\nb\r\nc\u2028d\u202eevil",
    "::error file=x::pwned",
    "  ::add-mask::x",
    "##[error]boom",
    "ok ##vso[task.setvariable variable=x]1",
    "![img](http://evil.example/x.png)",
    "[click](javascript:alert(1))",
    "@org/team please look",
    "www.evil.example",
    "`code` | cell | ```",
    "<script>alert(1)</script></details>",
    "1. a list",
    "- a list",
    "# heading",
    "\x00\x7f\x9b",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_terminal_sink(text: str) -> None:
    out = for_terminal(text)
    assert not any(ch in out for ch in "\x00\x1b\n\r\x7f\x9b\u2028\u202e")
    assert not out.lstrip().startswith(("::", "##["))
    assert "##vso[" not in out


def test_terminal_lines_keep_dtsflows_own_newlines() -> None:
    out = for_terminal_lines("error one\n::error::two\x1b[0m")
    assert out.split("\n")[0] == "error one" and not out.split("\n")[1].startswith("::")


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_sink(text: str) -> None:
    for out in (for_markdown(text), for_markdown_code(text).removeprefix("<code>").removesuffix("</code>")):
        assert not any(s in out for s in ("![", "](", "[", "@", "<", "`", "|", "\n", "\x1b", "www.", "::"))
        assert not out.startswith(("1.", "-", "#"))
        assert html.unescape(out).replace(" ", "") == "".join(  # shows exactly the text (controls as spaces)
            " " if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u202e" else c for c in text
        ).replace(" ", "")


@pytest.mark.parametrize("text", HOSTILE)
def test_html_sink(text: str) -> None:
    out = for_html(text)
    assert "<" not in out and ">" not in out and '"' not in out and "\x1b" not in out


def test_github_workflow_command_escaping() -> None:
    from dtsflow.commands.problems import Problem, workflow_command
    from dtsflow.escape import for_workflow_message, for_workflow_property

    hostile = "50% done\r\n::error file=a.yaml::pwned %0A\x1b[31m"
    assert for_workflow_message(hostile) == "50%25 done%0D%0A::error file=a.yaml::pwned %250A\\x1b[31m"
    assert for_workflow_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    line = workflow_command("error", Problem(hostile, file="x,line=1::y.yaml", line=3, column=7, path="$.k"))
    assert line == (
        "::error file=x%2Cline=1%3A%3Ay.yaml,line=3,col=7,title=dtsflow::"
        "$.k: 50%25 done%0D%0A::error file=a.yaml::pwned %250A\\x1b[31m\n"
    )
    assert line.count("\n") == 1 and "\r" not in line
