"""Templates are bounded before they allocate or compute: run through `dtsflow validate` as a pull request's
manifest would be, in a child whose address space is capped, so that a regression shows as a MemoryError
(or a crash) here rather than a CI machine that swaps or hangs."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO

ADDRESS_SPACE = 1536 * 1024 * 1024  # far above a normal validate, far below what the bombs below would take


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def validate(tmp_path: Path, source: str, *args: str, command: str = "validate") -> subprocess.CompletedProcess[str]:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(source)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DTSFLOW_", "BCE_"))}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "dtsflow", command, *args, str(manifest)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_address_space,
    )


# A list literal holding one 1 MB string 2,000 times: 16 KB in memory, 2 GB once printed.
_MANY_REFERENCES = "{% set s = 'x' * 1000000 %}{% set l = [" + ", ".join(["s"] * 2000) + "] %}"

BOMBS = {
    "ljust": "{{ 'x'.ljust(3000000000) }}",
    "rjust": "{{ 'x'.rjust(3000000000) }}",
    "center": "{{ 'x'.center(3000000000) }}",
    "zfill": "{{ '1'.zfill(3000000000) }}",
    "expandtabs": "{{ ('\\t' * 1000).expandtabs(3000000) }}",
    "str.replace": "{{ ('x' * 100000).replace('x', 'y' * 100000) }}",
    "str.join": "{{ ('y' * 1000000).join(['x'] * 2000) }}",
    "translate": "{{ ('x' * 1000000).translate({120: 'y' * 100000}) }}",
    "format width": "{{ '{:>3000000000}'.format(1) }}",
    "format precision": "{{ '{:.3000000000f}'.format(1.5) }}",
    "format_map width": "{{ '{a:>3000000000}'.format_map({'a': 1}) }}",
    "format repeated fields": "{% set s = 'x' * 1000000 %}{{ ('{0}' * 5000).format(s) }}",
    "percent width": "{{ '%3000000000d' % 1 }}",
    "format filter width": "{{ '%3000000000d' | format(1) }}",
    "to_bytes": "{{ (1).to_bytes(3000000000, 'big') }}",
    "list of big strings repeated": "{% set s = 'x' * 1000000 %}{{ ([s] * 2000) | length }}",
    "list of big strings printed": _MANY_REFERENCES + "{{ l }}",
    "list of big strings to json": _MANY_REFERENCES + "{{ l | tojson }}",
    "list of big strings joined by ~": _MANY_REFERENCES + "{{ 'a' ~ l }}",
    "list of big strings upper": _MANY_REFERENCES + "{{ l | upper }}",
    "list of big strings formatted": _MANY_REFERENCES + "{{ '{}'.format(l) }}",
    "list of big strings %": _MANY_REFERENCES + "{{ '%s' % [l] }}",
    "sum of lists": "{% set a = [1] * 100000 %}{% set l = [" + ", ".join(["a"] * 1000) + "] %}"
    "{{ l | sum(start=[]) | length }}",
    "kept allocations": "{% set ns = namespace(n=0) %}{% for i in range(3000) %}"
    "{% set ns.n = ns.n + 1 %}{% set x = 'x' * 1000000 %}{% endfor %}"
    "{% set ns = namespace() %}{% for i in range(3000) %}{% set ns.last = '{:>1000000}'.format(i) %}{% endfor %}",
    "namespace kept list": "{% set ns = namespace(l=[]) %}{% for i in range(3000) %}"
    "{% set ns.l = ns.l + ['{:>1000000}'.format(i)] %}{% endfor %}",
    "integer power tower": "{{ (((3 ** 64) ** 64) ** 64) ** 16 }}",
    "integer products": "{% set ns = namespace(n=3 ** 64) %}{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}"
    "{% endfor %}{{ ns.n > 0 }}",
}


def test_template_bombs_are_located_limit_errors_not_memory_errors(tmp_path: Path) -> None:
    # One `validate` of a directory holding every bomb (one file each): every file is rendered and reported.
    folder = tmp_path / "bombs"
    folder.mkdir()
    files = {}
    for n, (name, source) in enumerate(BOMBS.items()):
        files[name] = f"bomb{n:02d}.yaml"
        (folder / files[name]).write_text("version: 1\n# line 2\n" + source + "\n")
    started = time.monotonic()
    done = validate(tmp_path, "version: 1\ntasks: []\n", str(folder))
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr[-3000:]
    missed = [name for name, file in files.items() if f"{file}:3: template limit" not in done.stderr]
    assert not missed, (missed, done.stderr[-3000:])
    assert time.monotonic() - started < 60  # bounded: the render deadline is 2 s per file


def test_include_import_and_extends_find_nothing_not_even_the_manifest_itself(tmp_path: Path) -> None:
    # The file includes itself by the very name it was given on the command line: nothing is found.
    manifest = str(tmp_path / "m.yaml")
    for statement in (f"{{% include {manifest!r} %}}", f"{{% import {manifest!r} as m %}}", "{% extends 'm.yaml' %}"):
        done = validate(tmp_path, "version: 1\n" + statement + "\n")
        assert done.returncode == 1, done.stderr
        assert "m.yaml:2" in done.stderr and "templates cannot include other files" in done.stderr, done.stderr


def test_compile_time_counts_against_the_deadline(tmp_path: Path) -> None:
    # 20,000 statements: compiling alone takes longer than a tiny deadline, and the limit holds before rendering.
    from dtsflow.manifest.templating import RenderError, render

    big = "{% if a %}{{ b.c ~ d[e] }}{% endif %}\n" * 20_000
    with pytest.raises(RenderError, match="rendering took longer than"):
        render(big, "t.yaml", max_seconds=0.001)


def test_parsing_stops_at_the_deadline_not_at_the_end_of_the_file() -> None:
    """The deadline is checked while the template is read, not only once it is compiled (seconds of CPU for a
    large file). Shown without a clock: the file ends in a syntax error, which a parser that read the whole file
    before the deadline was checked would report instead."""
    from dtsflow.manifest.templating import RenderError, render

    big = "{% if a %}{{ b.c ~ d[e] }}{% endif %}\n" * 20_000 + "{% if unclosed %}\n"
    with pytest.raises(RenderError, match="rendering took longer than"):
        render(big, "t.yaml", max_seconds=0.001)


ZERO_PADDED = """version: 1
defaults:
  src: {instanceType: public, dbType: mysql, region: bj, host: 10.0.0.1, port: 3306, user: u, password: "{{ secret('P') }}"}
  dst: {instanceType: public, dbType: kafka, region: bj, host: k, port: 9092}
  objects: [{type: table, src: a.b}]
  standard: small
  dataType: [schema, base]
  state: ready
tasks:
{% for i in range(1, 3) %}
  - name: "percent-{{ '%03d' % i }}"
  - name: "filter-{{ '%03d' | format(i) }}"
  - name: "method-{{ '{:03d}'.format(i) }}"
  - name: "named-{{ '%(n)02d' % {'n': i} }}-{{ '%s-%s' % ('a', i) }}"
{% endfor %}
"""


def test_zero_padding_idioms_work(tmp_path: Path) -> None:
    done = validate(tmp_path, ZERO_PADDED)
    assert done.returncode == 0 and "8 tasks in 1 file are valid" in done.stdout, done.stderr
    rendered = validate(tmp_path, ZERO_PADDED, command="render")
    names = sorted(line.split('name: "')[1].rstrip('"') for line in rendered.stdout.splitlines() if "name:" in line)
    assert names == sorted(
        [f"{kind}-00{i}" for kind in ("percent", "filter", "method") for i in (1, 2)] + ["named-01-a-1", "named-02-a-2"]
    )


def test_a_refused_format_says_what_to_write_instead(tmp_path: Path) -> None:
    done = validate(tmp_path, "version: 1\n{{ '%*d' % (5, 1) }}\n")
    assert done.returncode == 1
    assert "'%03d' % i" in done.stderr and "use ~" not in done.stderr, done.stderr
