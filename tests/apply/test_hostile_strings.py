"""Untrusted strings are escaped where they land: names and messages from manifests and from the service (the
emulator serves them) cannot put control characters or CI workflow commands into the terminal/log, nor images,
links, mentions, HTML or table/code break-outs into the markdown comment."""

from __future__ import annotations

import re

from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from tests.apply.conftest import Env, task
from tests.rawapi import config_body, create_body

HOSTILE = "\x1b[31mX\x1b]0;t\x07\r\n::error file=a::pwned\n##vso[task.setvariable variable=x]1 ![i](http://e.example/p.png) [l](http://e.example) @admin `|` </details><img src=x>"
MARKDOWN_BREAKOUTS = ("![i](", "[l](", "@admin", "<img", "</details><img", "`|`", "::error", "http://e.example")


def _hostile_in_terminal(text: str) -> list[str]:
    problems = [c for c in ("\x1b", "\x07", "\r") if c in text]
    problems += [line for line in text.splitlines() if re.match(r"\s*(::|##\[)", line) or "##vso[" in line]
    return problems


def _hostile_in_markdown(text: str) -> list[str]:
    outside_fences = re.sub(r"```(?:text|mermaid)\n.*?\n```", "", text, flags=re.S)  # code: shown as is
    found = [b for b in MARKDOWN_BREAKOUTS if b in outside_fences]
    return found + _hostile_in_terminal(text)


def test_hostile_names_and_messages_from_the_service(env: Env) -> None:
    # A live task under the prune prefix with a hostile name (another team's, or the service's, text).
    with HttpDtsClient(env.url, Credentials(env.access_key, env.secret_key), trust_env=False) as client:
        dts_id = client.create_task(create_body(), client_token="foreign")
        client.config_task(dts_id, config_body("orders-" + HOSTILE))
    # A manifest task whose host makes the emulator's precheck fail with a message that quotes the host.
    manifest = env.write([task("orders-a", state="prechecked", src_host="unreachable-" + HOSTILE)], prune="orders-")
    applied = env.apply(manifest, "--auto-approve")
    assert applied.returncode == 1  # the precheck failed
    assert "srcMysqlConnect" in applied.stdout
    assert not _hostile_in_terminal(applied.stdout + applied.stderr)

    for fmt in ("text", "markdown"):
        plan = env.cli("plan", manifest, "--prune", "--format", fmt)
        assert plan.returncode in (0, 2), plan.stderr
        assert "pwned" in plan.stdout  # the strings are shown, escaped
        problems = _hostile_in_markdown(plan.stdout) if fmt == "markdown" else _hostile_in_terminal(plan.stdout)
        assert not problems, (fmt, problems)
    status = env.cli("status", manifest)
    assert "srcMysqlConnect" in status.stdout
    assert not _hostile_in_terminal(status.stdout + status.stderr)
