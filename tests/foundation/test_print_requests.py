"""`scripts/print_requests.py` prints the requests dtsflow makes; docs/client.md shows its output, kept current here,
and the listing follows the API's field tables (top-level instance types, orderInfo, connections, no password)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from tests.helpers import REPO

DOC = REPO / "docs" / "client.md"


def _run() -> str:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "print_requests.py")], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_docs_show_the_current_listing_and_it_follows_the_field_tables() -> None:
    output = _run()
    shown = re.search(
        r"<!-- print_requests:begin -->\n```text\n(.*?)```\n<!-- print_requests:end -->", DOC.read_text(), re.S
    )
    assert shown is not None, "docs/client.md lost its print_requests block"
    assert shown.group(1) == output, "docs/client.md is stale: paste the output of python scripts/print_requests.py"
    assert "print-requests-password" not in output and '"dbPass":"***"' in output
    creates = [json.loads(line.split(" ", 2)[2]) for line in output.splitlines() if line.startswith("POST /v1/task?")]
    configs = [
        json.loads(line.split(" ", 2)[2])
        for line in output.splitlines()
        if line.endswith("config", 0, line.find(" {")) or "/config {" in line
    ]
    assert len(creates) == 11 and len(configs) == 11
    for create, config in zip(creates, configs, strict=True):
        detailed = create["orderInfo"]["src"]["instanceType"]
        top = "bcerds" if detailed in {"bcerds", "bcedocdb", "bcescs", "bceddc", "bcegaiadb"} else "public"
        assert create["sourceInstanceType"] == top and create["targetInstanceType"] == "public"
        assert config["srcConnection"]["instanceType"] == top
        assert create["crossRegionTag"] == 0  # the destination is self-built
