"""`dtsflow schema`: print the manifest JSON Schema (the shipped file; generated from the models if it is missing)."""

from __future__ import annotations

import sys

from dtsflow.commands.args import SchemaArgs
from dtsflow.manifest.schema import render_schema, schema_file


def run(args: SchemaArgs) -> int:
    path = schema_file()
    sys.stdout.write(path.read_text(encoding="utf-8") if path is not None else render_schema())
    return 0
