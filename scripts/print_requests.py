"""Print every request dtsflow makes to bring one task of each instance type to `running`.

    python scripts/print_requests.py            # the listing docs/client.md shows ("Every request dtsflow makes")
    python scripts/print_requests.py --update-docs   # ... and write it into docs/client.md

It serves the emulator in this process, writes a manifest with one task per instance type of the manifest
(`bcerds`, `bcedocdb`, ..., `bcegateway`; each to a self-built MySQL), runs the real `dtsflow apply` against it in
a subprocess (one task at a time) and prints what the emulator received: method, path, query and body, with every
password masked (`***`). Task ids are shown as `{dtsId}`, since the emulator draws them at random. Requests that
serve the whole run (the task list that refresh and the waits read) are printed once, before the tasks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dtsflow.emulator import start_in_thread  # noqa: E402
from dtsflow.manifest.model import CLOUD_INSTANCE_TYPES  # noqa: E402

INSTANCE_TYPES = [
    "bcerds", "bcedocdb", "bcescs", "bceddc", "bcegaiadb",
    "public", "bceet", "bcebcc", "bcebbc", "bcedcc", "bcegateway",
]  # fmt: skip
PASSWORD = "print-requests-password"  # masked in the output (a test checks it never shows)


def manifest() -> str:
    lines = ["version: 1", "tasks:"]
    for kind in INSTANCE_TYPES:
        where = "instanceId: inst-1" if kind in CLOUD_INSTANCE_TYPES else "host: 10.0.0.1, port: 3306"
        lines += [
            f"  - name: from-{kind}",
            "    standard: large",
            "    dataType: [schema, base, increment]",
            f"    src: {{instanceType: {kind}, dbType: mysql, region: bj, {where}, user: reader,"
            " password: \"{{ secret('DB_PASS') }}\"}",
            "    dst: {instanceType: public, dbType: mysql, region: gz, host: 10.0.0.2, port: 3306}",
            "    objects: [{type: table, src: shop.orders}]",
        ]
        if kind == "public":  # one task shows how the modelled filters go on the wire
            lines += [
                "    columns: {include: {shop.orders: [id, total]}}",
                "    dml: [insert, update]",
                "    ignoreDdl: [drop, truncate]",
            ]
    return "\n".join(lines) + "\n"


def _line(request: dict[str, Any]) -> str:
    path = request["path"].replace(request["dtsId"], "{dtsId}") if request["dtsId"] else request["path"]
    query = f"?{request['query']}" if request["query"] else ""
    body = "" if request["body"] is None else " " + json.dumps(request["body"], sort_keys=True, separators=(",", ":"))
    return f"{request['method']} {path}{query}{body}"


def listing(recorded: list[dict[str, Any]], names: dict[str, str]) -> str:
    shared: list[str] = []
    per_task: dict[str, list[str]] = {name: [] for name in names.values()}
    for request in recorded:
        line = _line(request)
        owner = names.get(request["dtsId"])
        target = per_task[owner] if owner else shared
        if line not in target[-1:]:  # a wait's repeated reads show once
            target.append(line)
    # Sorted: the lists of the other task types run beside the migration list, so their order is the threads'.
    out = ["# run-wide", *sorted(set(shared))]
    for kind in INSTANCE_TYPES:
        name = f"from-{kind}"
        out += ["", f"# {name}", *per_task.get(name, [])]
    return "\n".join(out) + "\n"


def main() -> int:
    with tempfile.TemporaryDirectory() as cwd, start_in_thread(time_scale=0.002) as emulator:
        (Path(cwd) / "tasks.yaml").write_text(manifest())
        recorded = emulator.record_requests()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
        env.update(
            PYTHONPATH=str(REPO),
            BCE_ACCESS_KEY_ID=emulator.access_key,
            BCE_SECRET_ACCESS_KEY=emulator.secret_key,
            DB_PASS=PASSWORD,
            DTSFLOW_POLL_FLOOR="0.01",
            DTSFLOW_POLL_CAP="0.05",
            NO_COLOR="1",
        )
        command = [sys.executable, "-m", "dtsflow", "apply", "tasks.yaml", "--endpoint", emulator.url]
        done = subprocess.run(
            [*command, "--auto-approve", "--parallelism", "1"], cwd=cwd, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            return 1
        names = {str(t["dtsId"]): str(t["taskName"]) for t in emulator.engine.dump()}
        text = listing(list(recorded), names)
    assert PASSWORD not in text
    sys.stdout.write(text)
    if "--update-docs" in sys.argv[1:]:
        doc = REPO / "docs" / "client.md"
        head, begin, rest = doc.read_text(encoding="utf-8").partition("<!-- print_requests:begin -->\n")
        _, end, tail = rest.partition("<!-- print_requests:end -->")
        if not begin or not end:
            sys.stderr.write("docs/client.md has no print_requests block\n")
            return 1
        doc.write_text(f"{head}{begin}```text\n{text}```\n{end}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
