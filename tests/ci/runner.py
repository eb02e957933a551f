"""Run a CI recipe's jobs as the CI service would, closely enough to test them: steps in order, in bash, with
the job's environment, step outputs, artifacts, and the service's predefined variables.

GitHub Actions: `${{ ... }}` in `env:`/`with:` values is replaced from a context the test gives (an unknown
expression fails the test, so a recipe cannot use one the test did not think about); `run:` steps run in
`bash --noprofile --norc -eo pipefail` as on GitHub's runners; `uses:` steps are played by small stand-ins
(checkout copies the repository, upload/download-artifact go through the fake forge's store). The step with
`id: install-dtsflow` is replaced by putting this checkout's `dtsflow` on PATH (the tests run offline).
GitLab CI: `before_script` + `script` lines of a job (with `extends`) run in one bash with `set -eo pipefail`,
its `variables` expanded against the environment, and `artifacts.paths` kept.

Job-level `if:`/`rules:` are not evaluated here: the tests pick the jobs an event runs and check the conditions
as text.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.ci.forge import Forge, read_files
from tests.helpers import REPO

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
INSTALL_STEP = "install-dtsflow"


@dataclass
class JobResult:
    ok: bool
    log: str
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    summary: str = ""
    workspace: Path = Path()


def tool_bin(directory: Path) -> Path:
    """A bin directory with `dtsflow` (this checkout) and `python3` (this interpreter)."""
    directory.mkdir(parents=True, exist_ok=True)
    wrapper = directory / "dtsflow"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m dtsflow "$@"\n')
    wrapper.chmod(0o755)
    python = directory / "python3"
    if not python.exists():
        python.symlink_to(sys.executable)
    return directory


def base_env(bin_dir: Path, home: Path) -> dict[str, str]:
    return {"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "CI": "true"}


def substitute(text: str, context: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression not in context:
            raise KeyError(f"the test gives no value for ${{{{ {expression} }}}}")
        return context[expression]

    return EXPRESSION.sub(value, text)


def _bash(script: str, cwd: Path, env: Mapping[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_github_job(
    workflow: dict[str, Any],
    job_name: str,
    *,
    repo: Path,
    workspace: Path,
    forge: Forge,
    run_id: str,
    context: Mapping[str, str],
    env: Mapping[str, str],
) -> JobResult:
    """Run one job of a workflow; `context` holds the `${{ }}` values (secrets.X, vars.X, github.X, matrix.X)."""
    job = workflow["jobs"][job_name]
    if workspace.exists():
        shutil.rmtree(workspace)
    workspace.mkdir(parents=True)
    runner_temp = workspace.parent / f"{workspace.name}-runner"
    runner_temp.mkdir(exist_ok=True)
    summary = runner_temp / "summary.md"
    summary.touch()
    ctx: dict[str, str] = dict(context)
    job_env: dict[str, str] = dict(env)
    job_env["GITHUB_STEP_SUMMARY"] = str(summary)
    for key, raw in {**workflow.get("env", {}), **job.get("env", {})}.items():
        job_env[key] = substitute(str(raw), ctx)
        ctx[f"env.{key}"] = job_env[key]
    outputs: dict[str, dict[str, str]] = {}
    log: list[str] = []
    failed = False
    for number, step in enumerate(job["steps"], 1):
        condition = step.get("if")
        if condition not in (None, "always()"):
            raise AssertionError(f"{job_name} step {number}: the runner does not evaluate if: {condition}")
        if failed and condition != "always()":
            continue
        step_env = dict(job_env)
        for key, raw in step.get("env", {}).items():
            step_env[key] = substitute(str(raw), ctx)
        with_ = {k: substitute(str(v), ctx) for k, v in step.get("with", {}).items()}
        name = step.get("name") or step.get("id") or step.get("uses") or f"step {number}"
        if "uses" in step:
            ok, text = _uses(step["uses"], with_, repo=repo, workspace=workspace, forge=forge, run_id=run_id)
        elif step.get("id") == INSTALL_STEP:
            ok, text = True, "dtsflow from this checkout is on PATH"
        else:
            output_file = runner_temp / f"output-{number}"
            output_file.write_text("")
            step_env["GITHUB_OUTPUT"] = str(output_file)
            result = _bash(step["run"], workspace, step_env)
            ok, text = result.returncode == 0, result.stdout + result.stderr + f"\n(exit {result.returncode})"
            values = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)
            if step.get("id"):
                outputs[step["id"]] = values
                for key, value in values.items():
                    ctx[f"steps.{step['id']}.outputs.{key}"] = value
        log.append(f"--- {name}: {'ok' if ok else 'FAILED'}\n{text}")
        failed = failed or not ok
    return JobResult(not failed, "\n".join(log), outputs, summary.read_text(), workspace)


def _uses(
    action: str, with_: Mapping[str, str], *, repo: Path, workspace: Path, forge: Forge, run_id: str
) -> tuple[bool, str]:
    name = action.split("@")[0]
    if name == "actions/checkout":
        shutil.copytree(repo, workspace, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
        return True, "checked out"
    if name == "actions/setup-python":
        return True, "python3 is on PATH"
    if name == "actions/upload-artifact":
        files = read_files(workspace, [with_["path"]])
        if not files:
            return with_.get("if-no-files-found") != "error", f"no file at {with_['path']}"
        forge.store((run_id, with_["name"]), files)
        return True, f"uploaded {with_['name']}"
    if name == "actions/download-artifact":
        source = with_.get("run-id") or run_id
        files = forge.artifacts.get((source, with_["name"]))
        if files is None:
            return False, f"no artifact {with_['name']} in run {source}"
        for path, data in files.items():
            (workspace / Path(path).name).write_bytes(data)
        return True, f"downloaded {with_['name']} from run {source}"
    raise AssertionError(f"the runner has no stand-in for {action}")


def _expand(value: str, env: Mapping[str, str]) -> str:
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), ""), value)


def run_gitlab_job(
    pipeline: dict[str, Any],
    job_name: str,
    *,
    repo: Path,
    workspace: Path,
    forge: Forge,
    artifact_key: tuple[str, str] | None,
    env: Mapping[str, str],
) -> JobResult:
    """Run one job: `artifact_key` is where its artifacts go in the forge ((ref, job name)), or None."""
    job = dict(pipeline[job_name])
    base = pipeline.get(job.get("extends", ""), {})
    variables = {**pipeline.get("variables", {}), **base.get("variables", {}), **job.get("variables", {})}
    job = {**base, **job}
    if workspace.exists():
        shutil.rmtree(workspace)
    shutil.copytree(repo, workspace, ignore=shutil.ignore_patterns(".git"))
    job_env = dict(env)
    for key, raw in variables.items():
        job_env[key] = _expand(str(raw), job_env)
    before = list(job.get("before_script", []))
    install = 'python -m pip install --quiet "$DTSFLOW_PACKAGE"'
    assert before == [install], before  # played by this checkout's dtsflow on PATH (offline)
    lines = list(job["script"])
    result = _bash("\n".join(lines), workspace, job_env)
    ok = result.returncode == 0
    artifacts = job.get("artifacts", {})
    if artifact_key is not None and artifacts and (ok or artifacts.get("when") == "always"):
        forge.store(artifact_key, read_files(workspace, list(artifacts.get("paths", []))))
    return JobResult(ok, result.stdout + result.stderr + f"\n(exit {result.returncode})", workspace=workspace)
