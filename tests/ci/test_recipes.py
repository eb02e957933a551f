"""The CI recipes of examples/ci/: valid YAML, safe triggers, every `dtsflow` command parses with the real parser,
and their script steps, run in order against the emulator and a fake forge, post one plan comment that is
updated (not repeated) and apply the reviewed plan on merge."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dtsflow.cli import build_parser
from dtsflow.client.credentials import Credentials
from dtsflow.client.http import HttpDtsClient
from dtsflow.emulator import RunningEmulator, start_in_thread
from tests.ci.forge import Forge, running_forge
from tests.ci.runner import base_env, run_github_job, run_gitlab_job, tool_bin
from tests.helpers import REPO

CI = REPO / "examples" / "ci"
GITHUB = sorted((CI / "github").glob("*.yml"))
GITLAB = sorted((CI / "gitlab").glob("*.yml"))
RECIPES = GITHUB + GITLAB
READONLY = ("readonly-ak", "readonly-sk-0123456789abcdef")
PASSWORD = "canary-ci-Pa55w0rd-91c2"
MUTATING = ("create", "config", "precheck", "skipPrecheck", "start", "pause", "shutdown", "delete", "resize")
REPO_NAME = "acme/migrations"


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), path
    return document


# --- static checks ------------------------------------------------------------------------------------------


def test_there_are_recipes_for_both_services() -> None:
    assert {p.name for p in GITHUB} == {"dtsflow.yml", "dtsflow-matrix.yml", "dtsflow-drift.yml"}
    assert {p.name for p in GITLAB} == {".gitlab-ci.yml", "matrix.gitlab-ci.yml"}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipes_are_valid_yaml_without_duplicate_keys(path: Path) -> None:
    class Strict(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
            duplicates = {k for k in keys if keys.count(k) > 1}
            assert not duplicates, f"{path.name}:{node.start_mark.line + 1}: duplicate keys {duplicates}"
            return super().construct_mapping(node, deep=deep)

    document = yaml.load(path.read_text(), Loader=Strict)  # noqa: S506 - a SafeLoader subclass
    assert isinstance(document, dict) and document


def _run_scripts(path: Path) -> list[str]:
    document = load(path)
    if path in GITHUB:
        return [s["run"] for job in document["jobs"].values() for s in job["steps"] if "run" in s]
    scripts: list[str] = []
    for job in document.values():
        if isinstance(job, dict):
            scripts += [line for key in ("before_script", "script") for line in job.get(key, [])]
    return scripts


def dtsflow_commands(script: str) -> list[list[str]]:
    """Each `dtsflow ...` command line of a shell script, split as the shell would, up to a redirection or pipe."""
    commands = []
    for line in script.splitlines():
        stripped = line.strip()
        if not stripped.startswith("dtsflow "):
            continue
        lexer = shlex.shlex(stripped, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        for word in lexer:
            if set(word) <= set("<>|&;()"):  # a redirection, pipe or list operator ends the command
                break
            words.append(re.sub(r"\$\{?[A-Z_]+\}?", "manifests/", word))  # "$MANIFESTS" and the like
        if words and words[-1].isdigit():  # `2> file` splits into `2` and `>`
            words.pop()
        commands.append(words[1:])
    return commands


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_dtsflow_command_parses_with_the_real_parser(path: Path) -> None:
    commands = [c for script in _run_scripts(path) for c in dtsflow_commands(script)]
    assert commands, f"{path.name} runs no dtsflow command"
    parser = build_parser()
    for argv in commands:
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{path.name}: `dtsflow {' '.join(argv)}` does not parse")
        assert args.command in ("validate", "plan", "apply"), argv


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.name)
def test_github_recipes_never_run_pull_request_code_with_secrets(path: Path) -> None:
    text = path.read_text()
    assert "pull_request_target" not in text.replace("never `pull_request_target`", "")
    document = load(path)
    triggers = document.get(True) or document.get("on")  # PyYAML reads the key `on` as True
    assert "pull_request_target" not in triggers and "workflow_run" not in triggers
    assert document["permissions"] == {"contents": "read"}  # the default token is read-only
    for name, job in document["jobs"].items():
        env = " ".join(str(v) for v in job.get("env", {}).values())
        uses_secrets = "secrets." in env
        condition = job.get("if", "")
        if name == "validate":
            assert not uses_secrets and "permissions" not in job
        if "pull_request" in condition and uses_secrets:
            # a job that sees secrets on a pull request: same-repository pull requests only, read-only key only
            assert "github.event.pull_request.head.repo.full_name == github.repository" in condition
            assert "READONLY" in env and "DTSFLOW_ACCESS_KEY_ID" not in env
        if "DTSFLOW_ACCESS_KEY_ID" in env:  # the write key: only on a push to main, in the protected environment
            assert condition == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
            assert job["environment"] == "production"
            assert job["concurrency"]["cancel-in-progress"] is False
            assert job["concurrency"]["group"].startswith("dtsflow-apply-")
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), f"{name}: an expression inside a script is an injection risk"


def test_gitlab_recipes_plan_only_same_project_merge_requests_and_apply_in_a_resource_group() -> None:
    for path in GITLAB:
        document = load(path)
        jobs = {k: v for k, v in document.items() if isinstance(v, dict) and "script" in v}
        for name, job in jobs.items():
            variables = " ".join(str(v) for v in job.get("variables", {}).values())
            rules = " ".join(r.get("if", "") for r in job.get("rules", []))
            if "merge_request_event" in rules and "ACCESS_KEY" in variables:
                assert "$CI_MERGE_REQUEST_SOURCE_PROJECT_ID == $CI_MERGE_REQUEST_PROJECT_ID" in rules, name
                assert "READONLY" in variables, name
            if "$DTSFLOW_ACCESS_KEY_ID" in variables:
                assert "merge_request_event" not in rules and "$CI_DEFAULT_BRANCH" in rules, name
                assert job["resource_group"].startswith("dtsflow-"), name


# --- running the recipes ------------------------------------------------------------------------------------


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with start_in_thread(time_scale=0.01, extra_keys=[(*READONLY, None)]) as emu:
        yield emu


@pytest.fixture
def forge() -> Iterator[Forge]:
    with running_forge() as running:
        yield running


def _mutations(emu: RunningEmulator) -> int:
    requests = emu.stats.get("requests", {})
    return sum(int(requests.get(op, 0)) for op in MUTATING)


def _task(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "state": "running",
        "standard": "large",
        "src": {
            "instanceType": "public",
            "dbType": "mysql",
            "region": "bj",
            "host": "10.0.0.12",
            "port": 3306,
            "user": "dts_reader",
            "password": '{{ secret("ORDERS_DB_PASSWORD") }}',
        },
        "dst": {"instanceType": "public", "dbType": "kafka", "region": "bj", "host": "kafka.internal", "port": 9092},
        "dataType": ["schema", "base", "increment"],
        "objects": [{"type": "table", "src": f"shop.{name}"}],
        **extra,
    }


def write_manifest(path: Path, tasks: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"version": 1, "tasks": tasks}, sort_keys=False))


def live_tasks(emu: RunningEmulator) -> dict[str, str]:
    with HttpDtsClient(emu.url, Credentials(emu.access_key, emu.secret_key), trust_env=False) as client:
        return {t.task_name: t.status for t in client.list_tasks() if t.status != "deleted"}


def github_context(emu: RunningEmulator, **extra: str) -> dict[str, str]:
    return {
        "vars.DTSFLOW_ENDPOINT": emu.url,
        "secrets.DTSFLOW_READONLY_ACCESS_KEY_ID": READONLY[0],
        "secrets.DTSFLOW_READONLY_SECRET_ACCESS_KEY": READONLY[1],
        "secrets.DTSFLOW_ACCESS_KEY_ID": emu.access_key,
        "vars.DTSFLOW_APPLY_ACCESS_KEY_ID": emu.access_key,
        "secrets.DTSFLOW_SECRET_ACCESS_KEY": emu.secret_key,
        "secrets.ORDERS_DB_PASSWORD": PASSWORD,
        "github.token": "forge-token",
        "github.event.pull_request.number": "7",
        **extra,
    }


def github_env(tmp: Path, forge: Forge, sha: str, event: str) -> dict[str, str]:
    env = base_env(tool_bin(tmp / "bin"), tmp / "home")
    env.update(
        {
            "GITHUB_API_URL": forge.url,
            "GITHUB_REPOSITORY": REPO_NAME,
            "GITHUB_SHA": sha,
            "GITHUB_EVENT_NAME": event,
            "GITHUB_WORKFLOW_REF": f"{REPO_NAME}/.github/workflows/dtsflow.yml@refs/heads/main",
            "DTSFLOW_POLL_FLOOR": "0.02",
            "DTSFLOW_POLL_CAP": "0.2",
        }
    )
    return env


def test_github_pull_request_plans_one_updated_comment_and_the_merge_applies_the_reviewed_plan(
    tmp_path: Path, emulator: RunningEmulator, forge: Forge
) -> None:
    workflow = load(CI / "github" / "dtsflow.yml")
    repo = tmp_path / "repo"
    write_manifest(repo / "manifests" / "orders.yaml", [_task("ci-users"), _task("ci-orders", dependsOn=["ci-users"])])

    def job(name: str, run_id: str, sha: str, event: str) -> Any:
        result = run_github_job(
            workflow,
            name,
            repo=repo,
            workspace=tmp_path / "work" / f"{name}-{run_id}",
            forge=forge,
            run_id=run_id,
            context=github_context(emulator),
            env=github_env(tmp_path, forge, sha, event),
        )
        assert PASSWORD not in result.log + result.summary
        return result

    # a pull request: validate, then plan with the read-only key; one comment with the diagram
    validated = job("validate", "1001", "a" * 40, "pull_request")
    assert validated.ok, validated.log
    first = job("plan", "1001", "a" * 40, "pull_request")
    assert first.ok, first.log
    forge.runs.append(
        {"id": 1001, "workflow": "dtsflow.yml", "head_sha": "a" * 40, "event": "pull_request", "status": "success"}
    )
    bodies = forge.bodies(f"{REPO_NAME}#7")
    assert len(bodies) == 1 and bodies[0].startswith("<!-- dtsflow-plan:production -->")
    assert "Plan: 2 to create" in bodies[0] and "```mermaid" in bodies[0] and "t0 --> t1" in bodies[0]
    assert "Plan: 2 to create" in first.summary
    assert _mutations(emulator) == 0  # planning changed nothing

    # another push to the pull request: the same comment, updated
    write_manifest(
        repo / "manifests" / "orders.yaml",
        [_task("ci-users"), _task("ci-orders", dependsOn=["ci-users"]), _task("ci-refunds")],
    )
    second = job("plan", "1002", "b" * 40, "pull_request")
    assert second.ok, second.log
    forge.runs.append(
        {"id": 1002, "workflow": "dtsflow.yml", "head_sha": "b" * 40, "event": "pull_request", "status": "success"}
    )
    bodies = forge.bodies(f"{REPO_NAME}#7")
    assert len(bodies) == 1 and "Plan: 3 to create" in bodies[0]
    assert "updated the plan comment" in second.log

    # a commit pushed to main without a pull request applies nothing
    stray = job("apply", "2000", "c" * 40, "push")
    assert not stray.ok and "merged no pull request" in stray.log
    assert _mutations(emulator) == 0

    # the merge: the plan reviewed on the pull request's last commit is applied, and the report kept
    forge.merges["d" * 40] = {"number": 7, "merged_at": "2026-11-29T08:00:00Z", "head": {"sha": "b" * 40}}
    applied = job("apply", "2001", "d" * 40, "push")
    assert applied.ok, applied.log
    assert "applying the plan reviewed in pull request #7 (run 1002)" in applied.log
    assert live_tasks(emulator) == {"ci-users": "running", "ci-orders": "running", "ci-refunds": "running"}
    report = forge.artifacts[("2001", "dtsflow-apply-report")]["apply-report.html"].decode()
    assert "Apply complete: 3 applied" in report


def test_github_plan_failure_is_commented_and_fails_the_job(
    tmp_path: Path, emulator: RunningEmulator, forge: Forge
) -> None:
    workflow = load(CI / "github" / "dtsflow.yml")
    repo = tmp_path / "repo"
    (repo / "manifests").mkdir(parents=True)
    (repo / "manifests" / "bad.yaml").write_text("version: 1\ntasks:\n  - name: ci-bad\n    state: sideways\n")
    result = run_github_job(
        workflow,
        "plan",
        repo=repo,
        workspace=tmp_path / "work",
        forge=forge,
        run_id="1",
        context=github_context(emulator),
        env=github_env(tmp_path, forge, "e" * 40, "pull_request"),
    )
    assert not result.ok
    (body,) = forge.bodies(f"{REPO_NAME}#7")
    assert "dtsflow plan failed" in body and "bad.yaml:4" in body and "state" in body
    assert not [k for k in forge.artifacts if k[0] == "1"]  # no plan to apply


def test_github_matrix_plans_and_applies_each_directory_in_its_own_job(
    tmp_path: Path, emulator: RunningEmulator, forge: Forge
) -> None:
    workflow = load(CI / "github" / "dtsflow-matrix.yml")
    repo = tmp_path / "repo"
    write_manifest(repo / "manifests" / "orders" / "tasks.yaml", [_task("mx-orders")])
    write_manifest(repo / "manifests" / "users" / "tasks.yaml", [_task("mx-users"), _task("mx-users-copy")])

    def job(name: str, run_id: str, sha: str, event: str, **context: str) -> Any:
        return run_github_job(
            workflow,
            name,
            repo=repo,
            workspace=tmp_path / "work" / f"{name}-{run_id}-{context.get('matrix.name', '')}",
            forge=forge,
            run_id=run_id,
            context=github_context(emulator, **context),
            env=github_env(tmp_path, forge, sha, event),
        )

    listing = job("directories", "1", "a" * 40, "pull_request")
    assert listing.ok, listing.log
    names = yaml.safe_load(listing.outputs["list"]["names"])
    assert names == ["orders", "users"]
    for name in names:
        matrix = {"matrix.name": name, "needs.directories.outputs.names": listing.outputs["list"]["names"]}
        assert job("validate", "1", "a" * 40, "pull_request", **matrix).ok
        planned = job("plan", "1", "a" * 40, "pull_request", **matrix)
        assert planned.ok, planned.log
    forge.runs.append(
        {"id": 1, "workflow": "dtsflow.yml", "head_sha": "a" * 40, "event": "pull_request", "status": "success"}
    )
    bodies = forge.bodies(f"{REPO_NAME}#7")
    assert len(bodies) == 2  # one comment per directory
    assert any("<!-- dtsflow-plan:orders -->" in b and "Plan: 1 to create" in b for b in bodies)
    assert any("<!-- dtsflow-plan:users -->" in b and "Plan: 2 to create" in b for b in bodies)

    forge.merges["f" * 40] = {"number": 7, "merged_at": "2026-11-29T08:00:00Z", "head": {"sha": "a" * 40}}
    for name in names:
        applied = job("apply", "2", "f" * 40, "push", **{"matrix.name": name})
        assert applied.ok, applied.log
    assert live_tasks(emulator) == {"mx-orders": "running", "mx-users": "running", "mx-users-copy": "running"}
    concurrency = workflow["jobs"]["apply"]["concurrency"]["group"]
    assert "${{ matrix.name }}" in concurrency  # one apply at a time per directory


def test_github_drift_job_reports_a_task_paused_in_the_console(
    tmp_path: Path, emulator: RunningEmulator, forge: Forge
) -> None:
    workflow = load(CI / "github" / "dtsflow-drift.yml")
    repo = tmp_path / "repo"
    write_manifest(repo / "manifests" / "orders.yaml", [_task("drift-orders")])

    def drift() -> Any:
        return run_github_job(
            workflow,
            "drift",
            repo=repo,
            workspace=tmp_path / "work",
            forge=forge,
            run_id="9",
            context=github_context(emulator),
            env=github_env(tmp_path, forge, "a" * 40, "schedule"),
        )

    from tests.helpers import run_cli

    env = {"BCE_ACCESS_KEY_ID": emulator.access_key, "BCE_SECRET_ACCESS_KEY": emulator.secret_key}
    env |= {"ORDERS_DB_PASSWORD": PASSWORD, "DTSFLOW_POLL_FLOOR": "0.02", "DTSFLOW_POLL_CAP": "0.2"}
    applied = run_cli("apply", "manifests/", "--auto-approve", "--endpoint", emulator.url, cwd=repo, env=env)
    assert applied.returncode == 0, applied.stderr
    clean = drift()
    assert clean.ok and "No drift" in clean.log
    before = _mutations(emulator)
    with HttpDtsClient(emulator.url, Credentials(emulator.access_key, emulator.secret_key), trust_env=False) as c:
        (task,) = [t for t in c.list_tasks() if t.task_name == "drift-orders"]
        c.pause(task.dts_id)  # someone pauses it in the console
    drifted = drift()
    assert not drifted.ok and "(exit 2)" in drifted.log and "dtsflow drift" in drifted.log
    assert "drift-orders" in drifted.summary and "start" in drifted.summary
    assert _mutations(emulator) == before + 1  # only the console's pause: the drift job changed nothing


# --- GitLab ---------------------------------------------------------------------------------------------------


def gitlab_env(tmp: Path, forge: Forge, emu: RunningEmulator, **extra: str) -> dict[str, str]:
    env = base_env(tool_bin(tmp / "bin"), tmp / "home")
    env.update(
        {
            "CI_API_V4_URL": forge.url + "/api/v4",
            "CI_PROJECT_ID": "1",
            "CI_DEFAULT_BRANCH": "main",
            "DTSFLOW_ENDPOINT": emu.url,
            "DTSFLOW_READONLY_ACCESS_KEY_ID": READONLY[0],
            "DTSFLOW_READONLY_SECRET_ACCESS_KEY": READONLY[1],
            "DTSFLOW_GITLAB_TOKEN": "forge-token",
            "DTSFLOW_APPLY_ACCESS_KEY_ID": emu.access_key,
            "DTSFLOW_POLL_FLOOR": "0.02",
            "DTSFLOW_POLL_CAP": "0.2",
            **extra,
        }
    )
    return env


def test_gitlab_merge_request_plans_one_updated_note_and_the_merge_applies_it(
    tmp_path: Path, emulator: RunningEmulator, forge: Forge
) -> None:
    pipeline = load(CI / "gitlab" / ".gitlab-ci.yml")
    repo = tmp_path / "repo"
    write_manifest(repo / "manifests" / "orders.yaml", [_task("gl-orders")])
    mr = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "7"}
    mr |= {"CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "1", "CI_MERGE_REQUEST_PROJECT_ID": "1"}
    ref = ("refs/merge-requests/7/head", "plan")

    def job(name: str, key: tuple[str, str] | None, **env: str) -> Any:
        result = run_gitlab_job(
            pipeline,
            name,
            repo=repo,
            workspace=tmp_path / "work" / name,
            forge=forge,
            artifact_key=key,
            env=gitlab_env(tmp_path, forge, emulator, **env),
        )
        assert PASSWORD not in result.log
        return result

    assert job("validate", None, **mr).ok
    first = job("plan", ref, **mr)
    assert first.ok, first.log
    write_manifest(repo / "manifests" / "orders.yaml", [_task("gl-orders"), _task("gl-users")])
    second = job("plan", ref, **mr)
    assert second.ok, second.log
    (note,) = forge.bodies("gl:1!7")
    assert note.startswith("<!-- dtsflow-plan:production -->") and "Plan: 2 to create" in note and "```mermaid" in note
    assert _mutations(emulator) == 0

    push = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_COMMIT_SHA": "d" * 40}
    write_key = {"DTSFLOW_ACCESS_KEY_ID": emulator.access_key, "DTSFLOW_SECRET_ACCESS_KEY": emulator.secret_key}
    write_key["ORDERS_DB_PASSWORD"] = PASSWORD
    stray = job("apply", ("main", "apply"), **push, **write_key)
    assert not stray.ok and "merged no merge request" in stray.log
    forge.merges["d" * 40] = {"iid": 7, "state": "merged"}
    applied = job("apply", ("main", "apply"), **push, **write_key)
    assert applied.ok, applied.log
    assert live_tasks(emulator) == {"gl-orders": "running", "gl-users": "running"}
    assert "Apply complete: 2 applied" in forge.artifacts[("main", "apply")]["apply-report.html"].decode()

    schedule = {"CI_PIPELINE_SOURCE": "schedule"}
    assert job("drift", None, **schedule).ok  # no drift right after the apply
    assert pipeline["apply"]["resource_group"] == "dtsflow-production"


def test_the_matrix_recipes_run_the_same_scripts_as_the_single_directory_ones() -> None:
    single, matrix = load(CI / "gitlab" / ".gitlab-ci.yml"), load(CI / "gitlab" / "matrix.gitlab-ci.yml")
    for job in ("validate", "plan", "drift"):
        assert single[job]["script"] == matrix[job]["script"], job
    job_line = re.compile(r"\n *job = .*\n")
    assert [job_line.sub("\n", s).replace("?job={job}", "?job=plan") for s in matrix["apply"]["script"]] == single[
        "apply"
    ]["script"]
    gh_single, gh_matrix = load(CI / "github" / "dtsflow.yml"), load(CI / "github" / "dtsflow-matrix.yml")
    steps = {s.get("name"): s.get("run") for s in gh_matrix["jobs"]["plan"]["steps"]}
    single_steps = {s.get("name"): s.get("run") for s in gh_single["jobs"]["plan"]["steps"]}
    assert steps["comment"].replace("\n", "") in single_steps["comment"].replace("\n", "").replace(
        '    print("posted the plan comment")', ""
    ).replace("    print(f\"updated the plan comment {mine['id']}\")", "")


def test_gitlab_matrix_runs_one_job_per_directory(tmp_path: Path, emulator: RunningEmulator, forge: Forge) -> None:
    pipeline = load(CI / "gitlab" / "matrix.gitlab-ci.yml")
    repo = tmp_path / "repo"
    write_manifest(repo / "manifests" / "orders" / "tasks.yaml", [_task("glm-orders")])
    write_manifest(repo / "manifests" / "users" / "tasks.yaml", [_task("glm-users")])
    dirs = pipeline["plan"]["parallel"]["matrix"][0]["DIR"]
    assert dirs == ["orders", "users"]
    assert pipeline["apply"]["resource_group"] == "dtsflow-apply-$DIR"
    mr = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "8"}
    mr |= {"CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "1", "CI_MERGE_REQUEST_PROJECT_ID": "1"}
    for directory in dirs:
        result = run_gitlab_job(
            pipeline,
            "plan",
            repo=repo,
            workspace=tmp_path / "work" / directory,
            forge=forge,
            artifact_key=("refs/merge-requests/8/head", f"plan: [{directory}]"),
            env=gitlab_env(tmp_path, forge, emulator, DIR=directory, **mr),
        )
        assert result.ok, result.log
    notes = forge.bodies("gl:1!8")
    assert len(notes) == 2 and all("Plan: 1 to create" in n for n in notes)
    forge.merges["e" * 40] = {"iid": 8, "state": "merged"}
    push = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_COMMIT_SHA": "e" * 40}
    push |= {"DTSFLOW_ACCESS_KEY_ID": emulator.access_key, "DTSFLOW_SECRET_ACCESS_KEY": emulator.secret_key}
    for directory in dirs:
        result = run_gitlab_job(
            pipeline,
            "apply",
            repo=repo,
            workspace=tmp_path / "work" / f"apply-{directory}",
            forge=forge,
            artifact_key=None,
            env=gitlab_env(
                tmp_path,
                forge,
                emulator,
                DIR=directory,
                CI_JOB_NAME=f"apply: [{directory}]",
                ORDERS_DB_PASSWORD=PASSWORD,
                **push,
            ),
        )
        assert result.ok, result.log
    assert live_tasks(emulator) == {"glm-orders": "running", "glm-users": "running"}
