"""Mutated examples never crash the loader: the outcome is tasks or a ManifestError, never another exception."""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dtsflow.errors import ManifestError
from dtsflow.manifest.load import load_manifests
from tests.helpers import REPO

EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
NOISE = ["", "-", ":", "{", "}", "[", "]", "&a", "*a", "!!python/name:os.system", "'", '"', "{{", "}}", "{%", "0755",
         "on", "~", "\t", "  ", "\n", "#", "?", "|", ">", "%", "@", "`", "\x00", "é", "<<: *a"]  # fmt: skip


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        choice = rng.random()
        if choice < 0.3:
            del lines[i]
        elif choice < 0.5:
            lines.insert(i, lines[rng.randrange(len(lines))])
        else:
            line = lines[i]
            at = rng.randrange(len(line) + 1)
            lines[i] = line[:at] + rng.choice(NOISE) + line[at + rng.randint(0, 3) :]
        if not lines:
            break
    return "".join(lines)


def test_mutated_examples_fail_cleanly(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    outcomes = {"valid": 0, "invalid": 0}
    for n in range(300):
        example = EXAMPLES[n % len(EXAMPLES)]
        target = tmp_path / f"m{n}.yaml"
        target.write_text(_mutate(example.read_text(encoding="utf-8"), rng), encoding="utf-8")
        try:
            load_manifests([str(target)])
        except ManifestError as exc:
            assert exc.diagnostics and all(d.message for d in exc.diagnostics)
            outcomes["invalid"] += 1
        else:
            outcomes["valid"] += 1
    assert outcomes["invalid"] > 100  # the mutations do break things; every break was reported, none crashed


# ---- fuzzing the whole `validate` command: arbitrary bytes and structural mutations, under a memory limit ------

SOAK = os.environ.get("DTSFLOW_SOAK", "") not in ("", "0")
FUZZ_INPUTS = 2000 if SOAK else 200
ADDRESS_SPACE = 1 << 30  # 1 GiB: the interpreter and its libraries take ~300 MB; an unbounded allocation fails
HOSTILE = [  # each must be refused by a bound, cleanly, before it allocates or loops
    "x: {{ 'x'.ljust(3000000000) }}\n",
    "x: {{ '{:>3000000000}'.format(1) }}\n",
    "x: {{ ('x' * 100000).replace('x', 'y' * 100000) }}\n",
    "x: {{ 'x'.center(3000000000) }}\n",
    "x: {{ '%03000000000d' % 1 }}\n",
    "x: {% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}\n",
    "x: {{ ((3 ** 64) ** 64) ** 64 }}\n",
    "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
    "[" * 100_000 + "]" * 100_000,
    "{{ " * 5000 + "}}" * 5000,
    "version: 1\ntasks:\n" + "  - name: t\n" * 3,
]
STRUCTURE = [None, True, 0, -1, 1.5e308, "", "x" * 10_000, [], {}, [1, [2, [3]]], {"a": {"b": None}}, "{{ 1/0 }}"]


def _structural(text: str, rng: random.Random) -> str:
    """The example parsed, one value somewhere replaced by a value of another shape, dumped again."""
    try:
        data = yaml.safe_load(text.replace("{{", "").replace("}}", "").replace("{%", "").replace("%}", ""))
    except yaml.YAMLError:
        return text
    node: Any = data
    for _ in range(rng.randint(1, 5)):
        if isinstance(node, dict):
            children: list[tuple[Any, Any]] = list(node.items())
        elif isinstance(node, list):
            children = list(enumerate(node))
        else:
            break
        if not children:
            break
        key, child = rng.choice(children)
        if isinstance(child, dict | list) and child and rng.random() < 0.7:
            node = child  # go deeper
            continue
        node[key] = rng.choice(STRUCTURE)
        break
    return yaml.safe_dump(data, sort_keys=False)


def _fuzz_inputs(rng: random.Random, count: int) -> list[bytes]:
    inputs: list[bytes] = [h.encode() for h in HOSTILE]
    while len(inputs) < count:
        kind = rng.random()
        example = EXAMPLES[rng.randrange(len(EXAMPLES))].read_text(encoding="utf-8")
        if kind < 0.2:
            inputs.append(rng.randbytes(rng.randint(0, 512)))
        elif kind < 0.35:
            alphabet = "abc:-[]{}&*!|>'\"#%\n\t {}\\0123456789.é"
            inputs.append("".join(rng.choices(alphabet, k=rng.randint(0, 400))).encode())
        elif kind < 0.7:
            inputs.append(_mutate(example, rng).encode())
        else:
            inputs.append(_structural(example, rng).encode())
    return inputs


def _check_outcome(name: str, code: object, output: str) -> str:
    """'valid' or 'invalid'; fails on anything else: a crash, a traceback, an unlocated error."""
    assert code in (0, 1), f"{name}: {code}\n{output}"
    assert "Traceback" not in output and "MemoryError" not in output, f"{name}:\n{output}"
    assert "internal error" not in output, f"{name}:\n{output}"
    if code == 0:
        return "valid"
    assert name in output and "error" in output, f"{name}: the error does not name the file:\n{output}"
    return "invalid"


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def test_validate_fuzz_under_an_address_space_limit(tmp_path: Path) -> None:
    """Arbitrary bytes, random text, line mutations and structural mutations of the examples, and known hostile
    inputs, through `dtsflow validate` (in one process for speed) under RLIMIT_AS: exit 0 or a located error."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for n, data in enumerate(_fuzz_inputs(random.Random(20261129), FUZZ_INPUTS)):
        (inputs / f"fuzz-{n:05d}.yaml").write_bytes(data)
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("fuzz_driver.py")), str(inputs)],
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=_limit_address_space,
        env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == FUZZ_INPUTS, result.stderr[-3000:]
    outcomes = [_check_outcome(r["name"], r["code"], r["output"]) for r in lines]
    assert outcomes.count("invalid") > FUZZ_INPUTS // 2
    assert all(outcomes[i] == "invalid" for i in range(len(HOSTILE))), "a hostile input was accepted"


@pytest.mark.parametrize("hostile", [0, 1, 7, 8], ids=["ljust", "format-width", "billion-laughs", "deep-nesting"])
def test_validate_subprocess_under_an_address_space_limit(tmp_path: Path, hostile: int) -> None:
    """A handful through the real console entry point, as CI would run it on a pull request's manifest."""
    manifest = tmp_path / "hostile.yaml"
    manifest.write_text(HOSTILE[hostile])
    result = subprocess.run(
        [sys.executable, "-m", "dtsflow", "validate", str(manifest)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_address_space,
        env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"},
    )
    assert _check_outcome("hostile.yaml", result.returncode, result.stdout + result.stderr) == "invalid"
