"""The README's "first hour" walkthrough, run line by line as a new user would type it, in a copy of the examples.

The one line not run as written is the install (`pip install -e .` needs a package index): this checkout's
`dtsflow` is put on PATH instead. Everything else — validate, the markdown plan with its diagram, apply with an
HTML report, status, the pause and its report — runs on the embedded emulator, at its normal speed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

MARKER = "<!-- walkthrough:"


def walkthrough_lines() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split(MARKER, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_the_readme_walkthrough_runs_from_a_fresh_copy(tmp_path: Path) -> None:
    lines = walkthrough_lines()
    assert lines[0].startswith("python3 -m venv .venv") and "pip install" in lines[0]
    work = tmp_path / "dtsflow"
    shutil.copytree(REPO / "examples", work / "examples")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dtsflow").write_text(f'#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m dtsflow "$@"\n')
    (bin_dir / "dtsflow").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
    env.update({"PATH": f"{bin_dir}{os.pathsep}{env['PATH']}", "HOME": str(tmp_path / "home"), "NO_COLOR": "1"})
    outputs: list[str] = []
    for line in lines[1:]:
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", f"set -eo pipefail\n{_exports(lines)}\n{line}"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
        assert "change-me" not in result.stdout + result.stderr
        outputs.append(result.stdout)
    by_command = dict(zip(lines[1:], outputs, strict=True))

    plan = (work / "plan.md").read_text()
    assert "Plan: 2 to create" in plan and "```mermaid" in plan and "t0 --> t1" in plan
    report = (work / "apply-report.html").read_text()
    assert "Apply complete: 2 applied, 0 failed" in report and "<svg" in report
    statuses = [out for cmd, out in by_command.items() if cmd.startswith("dtsflow status")]
    assert len(statuses) == 2
    assert statuses[0].count("running") >= 2 and statuses[1].count("stopped") >= 2
    paused_plan = next(out for cmd, out in by_command.items() if cmd.startswith("dtsflow plan --emulator paused"))
    assert re.search(r"pause\s+wait for stopped", paused_plan)
    assert "Apply complete: 2 applied" in (work / "pause-report.html").read_text()


def _exports(lines: list[str]) -> str:
    """Every `export` line before the current one, since each line runs in its own shell here."""
    return "\n".join(line for line in lines if line.startswith("export "))


def test_the_emulator_state_is_private_so_a_second_emulator_run_trusts_it(tmp_path: Path) -> None:
    """`--emulator` twice in one directory: the first run's state file must be 0600, which the second one requires
    (it was created with the umask, 0644, and every second run failed)."""
    from tests.helpers import run_cli

    manifest = str(REPO / "examples" / "quickstart.yaml")
    old = os.umask(0o022)
    try:
        for _ in range(2):
            result = run_cli(
                "plan", "--emulator", manifest, cwd=tmp_path, env={"QUICKSTART_DB_PASSWORD": "x"}, fork=False
            )
            assert result.returncode == 0, result.stderr
    finally:
        os.umask(old)
    mode = (tmp_path / ".dtsflow" / "emulator.sqlite3").stat().st_mode & 0o777
    assert mode == 0o600, oct(mode)
