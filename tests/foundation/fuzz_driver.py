"""`python tests/foundation/fuzz_driver.py DIR`: `dtsflow validate` on every file of DIR, one after the other, in
this one process (run by test_mutations.py under an address-space limit). One JSON line per file:
`{"name", "code", "output"}`; `code` is "crash: <exception>" when anything escaped the command's own boundary.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

from dtsflow import cli


def main(directory: str) -> None:
    for path in sorted(Path(directory).iterdir()):
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                code: object = cli.main(["validate", str(path)])
        except BaseException as exc:  # MemoryError, RecursionError, SystemExit: all are findings here
            code = f"crash: {type(exc).__name__}"
        print(json.dumps({"name": path.name, "code": code, "output": out.getvalue()[:3000]}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
