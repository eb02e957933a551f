"""`dtsflow render PATH...`: the rendered manifest text with line numbers (secrets appear as their references)."""

from __future__ import annotations

import sys

from dtsflow.commands.args import RenderArgs
from dtsflow.commands.common import env_policy, var_files
from dtsflow.errors import ManifestError
from dtsflow.manifest.load import expand_paths, load_var_files, parse_var_args, read_text
from dtsflow.manifest.templating import RenderError, redact_line, render


def number_lines(text: str) -> str:
    lines = text.splitlines()
    width = max(len(str(len(lines))), 3)
    return "".join(f"{n:>{width}} | {redact_line(line)}\n" for n, line in enumerate(lines, start=1))


def run(args: RenderArgs) -> int:
    options = args.manifests
    context = load_var_files(var_files(options))
    context.update(parse_var_args(options.var))
    files, problems = expand_paths(list(options.paths))
    if problems:
        raise ManifestError(problems)
    out = sys.stdout
    for index, file in enumerate(files):
        try:
            rendered = render(read_text(file), file, context, env_policy=env_policy(options))
        except RenderError as exc:
            raise ManifestError([exc.diagnostic]) from None
        if len(files) > 1:
            out.write(("\n" if index else "") + f"==> {file} <==\n")
        out.write(number_lines(rendered))
    return 0
