"""Every invalid manifest of the corpus, through the real CLI: exit 1, the expected file:line: $.path: message,
no traceback, no network attempt, and never the canary secret.

Expectations live in the case files themselves:
  `# expect-here: $.json.path: message`  on the line the error must point at (`-` when there is no JSON path)
  `# expect-file: message`               for an error about the whole file (no line)
"""

from __future__ import annotations

import re
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.foundation.conftest import CANARY, HERE, assert_nobody_connected, guarded_cli

CASES = HERE / "cases" / "invalid"
_HERE_MARK = re.compile(r"#\s*expect-here:\s*(?P<path>\S+):\s(?P<message>.*?)\s*$")
_FILE_MARK = re.compile(r"#\s*expect-file:\s*(?P<message>.*?)\s*$")


def expectations(case: Path) -> list[tuple[str, int | None, str, str]]:
    """(file as the CLI prints it, line, JSON path, message) for every marker of a case."""
    files = sorted(case.iterdir()) if case.is_dir() else [case]
    found = []
    for file in files:
        shown = str(file.relative_to(CASES))
        for number, line in enumerate(file.read_bytes().decode("utf-8", "replace").splitlines(), start=1):
            if m := _HERE_MARK.search(line):
                path = "" if m["path"] == "-" else m["path"]
                found.append((shown, number, path, m["message"]))
            elif m := _FILE_MARK.search(line):
                found.append((shown, None, "", m["message"]))
    return found


ALL_CASES = sorted(p.name for p in CASES.iterdir())
EXCERPTED = ("YAML syntax error", "template sandbox violation", "undefined template variable", "template syntax error")


def test_corpus_is_large_enough() -> None:
    assert len(ALL_CASES) >= 30
    for name in ALL_CASES:
        assert expectations(CASES / name), f"{name} has no expect marker"


@pytest.fixture(scope="module")
def corpus_results(watched_endpoint: tuple[str, socket.socket]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case through the CLI, a few processes at a time (each is still its own `dtsflow validate` run)."""
    endpoint, _ = watched_endpoint
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = {name: pool.submit(guarded_cli, "validate", name, endpoint=endpoint, cwd=CASES) for name in ALL_CASES}
        return {name: future.result() for name, future in runs.items()}


@pytest.mark.parametrize("name", ALL_CASES)
def test_invalid_manifest(
    name: str,
    corpus_results: dict[str, subprocess.CompletedProcess[str]],
    watched_endpoint: tuple[str, socket.socket],
) -> None:
    _, server = watched_endpoint
    result = corpus_results[name]
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    assert "NETWORK ATTEMPT" not in output
    assert CANARY not in output
    assert "internal error" not in output
    heads = [line for line in result.stderr.splitlines() if not line.startswith(" ")]
    for file, line, path, message in expectations(CASES / name):
        where = f"{file}:{line}: " if line else f"{file}: "
        prefix = where + (f"{path}: " if path else "")
        hits = [h for h in heads if h.startswith(prefix) and message in h[len(prefix) :]]
        assert hits, f"expected `{prefix}... {message}` in:\n{result.stderr}"
        if line and message.startswith(EXCERPTED):  # template and YAML syntax errors show the lines around
            assert re.search(rf"^\s+> +{line} \| ", result.stderr, re.MULTILINE), result.stderr
    assert_nobody_connected(server)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("zero.yaml", b"", "the file is empty"),
        ("bom.yaml", b"\xef\xbb\xbfversion: 1\ntasks: []\n", "byte-order mark (BOM)"),
        ("utf16.yaml", "version: 1\n".encode("utf-16"), "UTF-16"),
        ("nul.yaml", b"version: 1\x00\n", "YAML"),
    ],
)
def test_generated_bad_bytes(
    tmp_path: Path, filename: str, data: bytes, message: str, watched_endpoint: tuple[str, socket.socket]
) -> None:
    endpoint, server = watched_endpoint
    path = _write(tmp_path / filename, data)
    result = guarded_cli("validate", str(path), endpoint=endpoint)
    assert result.returncode == 1
    assert f"{path}:" in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert_nobody_connected(server)


def test_fifty_megabyte_file_is_refused_before_reading(
    tmp_path: Path, watched_endpoint: tuple[str, socket.socket]
) -> None:
    endpoint, server = watched_endpoint
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:  # sparse: 50 MB of size without writing 50 MB
        handle.write(b"version: 1\n")
        handle.truncate(50 * 1024 * 1024)
    result = guarded_cli("validate", str(big), endpoint=endpoint)
    assert result.returncode == 1
    assert f"{big}: file is larger than 5 MiB (52428800 bytes); refused" in result.stderr
    assert "Traceback" not in result.stderr
    assert_nobody_connected(server)


def test_all_problems_of_a_file_are_reported_at_once(
    watched_endpoint: tuple[str, socket.socket], tmp_path: Path
) -> None:
    endpoint, _ = watched_endpoint
    manifest = tmp_path / "many.yaml"
    manifest.write_text(
        "version: 1\n"
        "tasks:\n"
        "  - name: a\n"
        "    standrd: large\n"
        "    src: {instanceType: public, dbType: mysql, region: bj, host: h, port: 1}\n"
        "    dst: {instanceType: nope, dbType: mysql, region: bj, host: h, port: 1}\n"
        "    dataType: [schema]\n"
        "    granularity: instance\n"
        "  - name: b\n"
        "    standard: tiny\n"
    )
    result = guarded_cli("validate", str(manifest), endpoint=endpoint)
    assert result.returncode == 1
    for expected in (
        f"{manifest}:4: $.tasks[0].standrd: unknown key",
        f"{manifest}:3: $.tasks[0].standard: required field is missing",
        f"{manifest}:6: $.tasks[0].dst.instanceType: must be",
        f"{manifest}:10: $.tasks[1].standard: standard must be one of",
        f"{manifest}:9: $.tasks[1].src: required field is missing",
    ):
        assert expected in result.stderr, result.stderr
    assert "invalid manifests (" in result.stderr
