"""`dtsflow completion bash|zsh`: the generated script, run by bash's own completion machinery on a few words."""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from dtsflow.cli import build_parser
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = run_cli("completion", "bash")
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp("completion") / "dtsflow.bash"
    path.write_text(result.stdout)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "orders.yaml").write_text("version: 1\n")
    (tmp_path / "orders.yaml").write_text("version: 1\n")
    (tmp_path / "users.yml").write_text("version: 1\n")
    (tmp_path / "notes.txt").write_text("not a manifest\n")
    (tmp_path / "plan.json").write_text("{}\n")
    return tmp_path


def complete(script: Path, cwd: Path, line: str) -> list[str]:
    """What bash offers for `line` (the last word is the one being completed; a trailing space = a new word)."""
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    program = (
        f"source {shlex.quote(str(script))}\n"
        "spec=$(complete -p dtsflow) || exit 3\n"
        "fn=${spec#*-F }; fn=${fn%% *}\n"
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        f"COMP_LINE={shlex.quote(line)}; COMP_POINT=${{#COMP_LINE}}\n"
        '"$fn" dtsflow "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return sorted(w for w in result.stdout.splitlines() if w)


def _commands() -> list[str]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


def test_it_registers_a_function_for_dtsflow(bash_script: Path, project: Path) -> None:
    result = subprocess.run(
        ["bash", "--norc", "-c", f"source {shlex.quote(str(bash_script))}; complete -p dtsflow"],
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "complete -F _dtsflow dtsflow"


def test_commands_come_from_the_real_parser(bash_script: Path, project: Path) -> None:
    assert complete(bash_script, project, "dtsflow ") == _commands()
    assert complete(bash_script, project, "dtsflow pl") == ["plan"]
    assert complete(bash_script, project, "dtsflow --debug st") == ["status"]
    assert complete(bash_script, project, "dtsflow --ver") == ["--version"]


def test_flags_and_their_values(bash_script: Path, project: Path) -> None:
    assert complete(bash_script, project, "dtsflow plan --form") == ["--format"]
    assert complete(bash_script, project, "dtsflow plan --format ") == ["json", "markdown", "text"]
    assert complete(bash_script, project, "dtsflow apply --format ") == ["json", "text"]
    assert complete(bash_script, project, "dtsflow apply --rep") == ["--report"]
    assert complete(bash_script, project, "dtsflow completion ") == ["bash", "zsh"]
    assert complete(bash_script, project, "dtsflow plan --reconfigure ") == []  # a task name: nothing to guess
    every_plan_flag = {o for a in _sub("plan")._actions for o in a.option_strings if a.help != argparse.SUPPRESS}
    assert set(complete(bash_script, project, "dtsflow plan -")) == every_plan_flag


def _sub(name: str) -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def test_manifest_paths(bash_script: Path, project: Path) -> None:
    assert complete(bash_script, project, "dtsflow plan ") == ["manifests", "orders.yaml", "users.yml"]
    assert complete(bash_script, project, "dtsflow validate orders.yaml o") == ["orders.yaml"]
    assert complete(bash_script, project, "dtsflow plan manifests/") == ["manifests/orders.yaml"]
    assert complete(bash_script, project, "dtsflow apply ") == ["manifests", "orders.yaml", "plan.json", "users.yml"]
    assert complete(bash_script, project, "dtsflow show ") == ["manifests", "plan.json"]
    # a file flag completes any file; here, after `--var-file`
    assert "notes.txt" in complete(bash_script, project, "dtsflow plan --var-file ")
    assert complete(bash_script, project, "dtsflow plan --format json ") == ["manifests", "orders.yaml", "users.yml"]


def test_zsh_script_is_valid_zsh_and_names_every_command(tmp_path: Path) -> None:
    result = run_cli("completion", "zsh")
    assert result.returncode == 0 and result.stdout.startswith("#compdef dtsflow\n")
    for command in _commands():
        assert f"'{command}:" in result.stdout and f"        {command}) _arguments" in result.stdout
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("zsh is not installed: syntax not checked")
    script = tmp_path / "_dtsflow"
    script.write_text(result.stdout)
    check = subprocess.run([zsh, "-n", str(script)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_an_unknown_shell_is_a_usage_error() -> None:
    result = run_cli("completion", "fish")
    assert result.returncode == 1 and "invalid choice" in result.stderr
