"""The docs that are generated or checked against the code: the manifest reference, and links between pages."""

from __future__ import annotations

import os
import re
import subprocess

from dtsflow.manifest.reference import reference_markdown, type_text
from dtsflow.manifest.schema import manifest_schema
from tests.helpers import REPO

REFERENCE = REPO / "docs" / "manifest-reference.md"


def test_the_manifest_reference_is_generated_from_the_current_schema() -> None:
    text = reference_markdown(manifest_schema())
    if os.environ.get("UPDATE_GOLDEN") == "1":
        REFERENCE.write_text(text, encoding="utf-8")
    assert REFERENCE.read_text(encoding="utf-8") == text, "regenerate docs/manifest-reference.md: UPDATE_GOLDEN=1"


def test_the_reference_names_every_field_of_a_task_and_an_endpoint() -> None:
    schema = manifest_schema()
    text = REFERENCE.read_text(encoding="utf-8")
    for definition in ("TaskSpec", "Endpoint", "PrecheckPolicy", "ObjectMapping", "Prune"):
        section = text.split(f"## {definition}\n", 1)[1].split("\n## ", 1)[0]
        for field in schema["$defs"][definition]["properties"]:
            assert f"| `{field}` |" in section, (definition, field)


def test_type_text_reads_the_schema_shapes() -> None:
    assert type_text({"type": "integer", "minimum": 1, "maximum": 65535}) == "integer 1..65535"
    assert type_text({"anyOf": [{"$ref": "#/$defs/LagGate"}, {"type": "null"}]}) == "[LagGate](#laggate)"
    assert type_text({"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 1}) == (
        "list of one of `a`, `b`, at least 1"
    )


NEW_USER_PAGES = [
    "README.md",
    "docs/ci.md",
    "docs/cookbook.md",
    "docs/troubleshooting.md",
    "docs/manifest-reference.md",
]


def test_links_on_a_new_users_path_point_at_pages_that_exist() -> None:
    for page in [REPO / name for name in NEW_USER_PAGES]:
        for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if target.startswith("http"):
                continue
            assert (page.parent / target).is_file(), f"{page.name} links to missing {target}"


# What the project's files must not cite: notes and references outside the repository, and issue numbers. Users
# have only the repository, so its docs, schemas, docstrings and comments say what they need in their own words.
OUTSIDE_CITATION = re.compile(r"DESIGN(\.md)?( §|\b)|dts-api\.md|\.\./shared|\b[Ii]ssues? #?[0-9]+")


def test_no_file_cites_notes_outside_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    offending = []
    for name in tracked.split():
        path = REPO / name
        if name == "tests/test_docs.py" or path.suffix not in {".py", ".md", ".json", ".yaml", ".yml", ".toml", ""}:
            continue
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE_CITATION.search(line):
                offending.append(f"{name}:{number}: {line.strip()}")
    assert not offending, "\n".join(offending)
