"""`.pre-commit-hooks.yaml`: the hooks dtsflow offers, run with `pre-commit try-repo` on a sample manifest repository.

Offline: try-repo clones this checkout (uncommitted changes included), and the hook it runs here is
`dtsflow-validate-system`, which uses the dtsflow on PATH; the network is poisoned (proxies to a closed port, no
package index) so that any attempt to reach it fails the test. The `language: python` hook
(`dtsflow-validate`) would need a package index to build its environment; pre-commit still loads and checks its
definition in every run below, and `validate-manifest` checks the file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO

HOOKS = REPO / ".pre-commit-hooks.yaml"
VALID = """version: 1
tasks:
  - name: hook-orders
    state: running
    standard: large
    src: {instanceType: public, dbType: mysql, region: bj, host: 10.0.0.12, port: 3306, user: dts_reader,
          password: "{{ secret('ORDERS_DB_PASSWORD') }}"}
    dst: {instanceType: public, dbType: kafka, region: bj, host: kafka.internal, port: 9092}
    dataType: [schema, base, increment]
    objects: [{type: table, src: shop.orders}]
"""
DEPENDENT = VALID.replace("hook-orders", "hook-refunds").replace("shop.orders", "shop.refunds").rstrip() + (
    "\n    dependsOn: [hook-orders]\n"
)


def pre_commit() -> str:
    found = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    if found is None:
        pytest.skip("pre-commit is not installed (it is in the test extra: pip install -e '.[test]')")
    return found


def offline_env(tmp: Path) -> dict[str, str]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "dtsflow"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m dtsflow "$@"\n')
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_", "PIP_", "PRE_COMMIT"))}
    closed = "http://127.0.0.1:9"  # nothing listens on the discard port: any fetch fails at once
    env.update(
        {
            "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
            "PRE_COMMIT_HOME": str(tmp / "pre-commit-home"),
            "HOME": str(tmp / "home"),
            "http_proxy": closed,
            "https_proxy": closed,
            "HTTP_PROXY": closed,
            "HTTPS_PROXY": closed,
            "PIP_NO_INDEX": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "NO_COLOR": "1",
        }
    )
    return env


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    repo = tmp_path / "manifest-repo"
    (repo / "manifests").mkdir(parents=True)
    (repo / "manifests" / "orders.yaml").write_text(VALID)
    (repo / "manifests" / "refunds.yaml").write_text(DEPENDENT)  # valid only together with orders.yaml
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: {}\n")  # YAML, not a manifest
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    return repo


def try_repo(repo: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [pre_commit(), "try-repo", str(REPO), "dtsflow-validate-system", "--verbose", *extra],
        cwd=repo,
        env=offline_env(tmp),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_hooks_file_is_a_valid_pre_commit_manifest(tmp_path: Path) -> None:
    result = subprocess.run(
        [pre_commit(), "validate-manifest", str(HOOKS)], env=offline_env(tmp_path), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text())}
    assert set(hooks) == {"dtsflow-validate", "dtsflow-validate-system"}
    for hook in hooks.values():
        assert hook["entry"] == "dtsflow validate" and hook["pass_filenames"] is False
    assert (
        hooks["dtsflow-validate"]["language"] == "python" and hooks["dtsflow-validate-system"]["language"] == "system"
    )


def test_valid_manifests_pass_offline(sample: Path, tmp_path: Path) -> None:
    result = try_repo(sample, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "dtsflow validate (installed dtsflow)" in output and "Passed" in output
    assert "2 tasks in 2 files are valid" in output


def test_an_invalid_manifest_fails_the_commit_with_its_file_and_line(sample: Path, tmp_path: Path) -> None:
    (sample / "manifests" / "refunds.yaml").write_text(DEPENDENT.replace("state: running", "state: sideways"))
    subprocess.run(["git", "-C", str(sample), "add", "-A"], check=True)
    result = try_repo(sample, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Failed" in output and "manifests/refunds.yaml:4: $.tasks[0].state: must be one of" in output


def test_only_a_change_under_manifests_runs_the_hook(sample: Path, tmp_path: Path) -> None:
    subprocess.run(["git", "-C", str(sample), "reset", "-q"], check=True)  # nothing staged ...
    (sample / ".github" / "workflows" / "ci.yml").write_text("on: [push]\njobs: {}\n")
    subprocess.run(["git", "-C", str(sample), "add", ".github"], check=True)  # ... but a workflow
    result = try_repo(sample, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "(no files to check)Skipped" in output.replace(".", "")
