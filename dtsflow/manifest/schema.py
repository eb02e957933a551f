"""The manifest JSON Schema, generated from the pydantic models (docs/manifest.md).

`python -m dtsflow.manifest.schema --write` regenerates `schemas/manifest.schema.json`; a test fails when the file and the
models disagree. The wheel ships the file as `dtsflow/schemas/manifest.schema.json`; a checkout has it in
`schemas/` at the top, and `schema_file()` finds either.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

SCHEMA_NAME = "manifest.schema.json"


def manifest_schema() -> dict[str, Any]:
    from dtsflow.manifest.model import ManifestFile

    body = ManifestFile.model_json_schema(by_alias=True)
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "dtsflow manifest v1",
    }
    schema.update({k: v for k, v in body.items() if k != "title"})
    # In a file, a task may leave any field but `name` to `defaults:` (merged by the loader, which then checks
    # the merged task), so the schema must not flag those as missing in an editor.
    defs = schema["$defs"]
    defs["TaskSpec"]["required"] = ["name"]
    defs["Endpoint"].pop("required", None)
    defs["TaskSpec"]["description"] += (
        " Fields other than `name` may come from `defaults`. `standard`, `src`, `dst` and `dataType` are required"
        " unless `state: absent`: a task to delete needs only its `name` (what it does give is still checked)."
    )
    return schema


def render_schema() -> str:
    return json.dumps(manifest_schema(), indent=2, ensure_ascii=False) + "\n"


def schema_file() -> Path | None:
    """The shipped schema: inside the installed package, else in the checkout's `schemas/`."""
    here = Path(__file__).resolve().parent.parent  # dtsflow/
    for candidate in (here / "schemas" / SCHEMA_NAME, here.parent / "schemas" / SCHEMA_NAME):
        if candidate.is_file():
            return candidate
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dtsflow.manifest.schema", description=__doc__)
    parser.add_argument("--write", action="store_true", help="write schemas/manifest.schema.json of this checkout")
    args = parser.parse_args(argv)
    text = render_schema()
    if args.write:
        target = (
            Path(__file__).resolve().parent.parent.parent / "schemas" / SCHEMA_NAME
        )  # the checkout, beside dtsflow/
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
