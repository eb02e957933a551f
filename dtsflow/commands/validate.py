"""`dtsflow validate PATH...`: render, parse and check manifests offline. Imports nothing that talks to a network.

`--format text` (a line for people), `json` (a document: `valid`, counts, `errors` and `warnings`, each located
by file, line, column where known and JSON path) or `github` (workflow commands: annotations on the files of a
pull request). An invalid manifest is printed in the same format by the CLI's error boundary
(`dtsflow.commands.problems.failure_output`), with exit code 1.
"""

from __future__ import annotations

import sys

from dtsflow.commands.args import ValidateArgs
from dtsflow.commands.common import load
from dtsflow.commands.problems import Failure, error_document, problems_of, render_github, render_json


def run(args: ValidateArgs) -> int:
    loaded = load(args.manifests, show_warnings=args.format == "text")
    files = len(loaded.paths)
    tasks = len(loaded.tasks)
    summary = f"{tasks} task{'s' if tasks != 1 else ''} in {files} file{'s' if files != 1 else ''} are valid"
    warnings = problems_of(loaded.warnings)
    if args.format == "json":
        # The failure document's keys (`error`, `errors`, `omitted`) too: one shape for both outcomes.
        document = {
            **error_document(Failure("", ())),
            "error": None,
            "valid": True,
            "files": files,
            "tasks": tasks,
            "warnings": [w.to_dict() for w in warnings],
        }
        sys.stdout.write(render_json(document))
    elif args.format == "github":
        sys.stdout.write(render_github((), warnings))
        print(summary)
    else:
        print(summary)
    return 0
