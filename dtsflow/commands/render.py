"""`dtsflow render PATH...`: the rendered manifest text with line numbers (secrets appear as their references)."""

from __future__ import annotations

import argparse
import sys

from dtsflow.errors import ManifestError
from dtsflow.loader import expand_paths, load_var_files, parse_var_args, read_text
from dtsflow.templating import RenderError, redact_line, render


def number_lines(text: str) -> str:
    lines = text.splitlines()
    width = max(len(str(len(lines))), 3)
    return "".join(f"{n:>{width}} | {redact_line(line)}\n" for n, line in enumerate(lines, start=1))


def run(args: argparse.Namespace) -> int:
    context = load_var_files(args.var_file or [])
    context.update(parse_var_args(args.var or []))
    files, problems = expand_paths(args.paths)
    if problems:
        raise ManifestError(problems)
    out = sys.stdout
    for index, file in enumerate(files):
        try:
            rendered = render(read_text(file), file, context)
        except RenderError as exc:
            raise ManifestError([exc.diagnostic]) from None
        if len(files) > 1:
            out.write(("\n" if index else "") + f"==> {file} <==\n")
        out.write(number_lines(rendered))
    return 0
