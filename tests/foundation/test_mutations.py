"""Mutated examples never crash the loader: the outcome is tasks or a ManifestError, never another exception."""

from __future__ import annotations

import random
from pathlib import Path

from dtsflow.errors import ManifestError
from dtsflow.loader import load_manifests
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
