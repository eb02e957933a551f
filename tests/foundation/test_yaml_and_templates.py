"""In-process tests of the safe YAML reader, the bounded sandbox and secret references."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest
import yaml

from dtsflow.errors import ConfigError, ManifestError
from dtsflow.manifest.envvars import EnvPolicy
from dtsflow.manifest.load import load_manifests, parse_var_args
from dtsflow.manifest.secrets import SecretPolicy, is_secret_ref, resolve_secret
from dtsflow.manifest.templating import RenderError, redact_line, render, secret_reference
from dtsflow.manifest.yamlsafe import MAX_ALIAS_NODES, YamlError, load_yaml

TASK = """version: 1
tasks:
  - name: t
    standard: small
    src: {{instanceType: public, dbType: mysql, region: bj, host: {host}, port: 3306, user: {user}}}
    dst: {{instanceType: public, dbType: mysql, region: {region}, host: h, port: 3306}}
    dataType: [schema]
    granularity: instance
"""


def test_yaml_11_surprises_stay_strings(tmp_path: Path) -> None:
    data, _ = load_yaml("a: on\nb: yes\nc: no\nd: off\ne: 2024-01-01\nf: NO\ng: y\nh: 12:30\n", "x.yaml")
    assert data == {"a": "on", "b": "yes", "c": "no", "d": "off", "e": "2024-01-01", "f": "NO", "g": "y", "h": "12:30"}
    numbers, _ = load_yaml("a: 1\nb: 1.5\nc: 0x1F\nd: 0o17\ne: true\nf: null\ng: '1'\nh: 1e3\n", "x.yaml")
    assert numbers == {"a": 1, "b": 1.5, "c": 31, "d": 15, "e": True, "f": None, "g": "1", "h": 1000.0}
    manifest = tmp_path / "norway.yaml"
    manifest.write_text(TASK.format(host="on", user="yes", region="no"))
    spec = load_manifests([str(manifest)]).tasks["t"]
    assert (spec.src.host, spec.src.user, spec.dst.region) == ("on", "yes", "no")


def test_source_map_points_at_keys() -> None:
    _, lines = load_yaml("version: 1\ntasks:\n  - name: a\n    src:\n      port: 1\n  - name: b\n", "x.yaml")
    assert lines["$.tasks[0]"] == 3
    assert lines["$.tasks[0].src"] == 4
    assert lines["$.tasks[0].src.port"] == 5
    assert lines["$.tasks[1].name"] == 6


def test_billion_laughs_is_rejected_fast_with_bounded_memory() -> None:
    levels = ["a: &a [" + ", ".join(["lol"] * 10) + "]"]
    for i in range(1, 12):  # 10**12 nodes when expanded
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    text = "\n".join(levels) + "\n"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(YamlError, match=f"more than {MAX_ALIAS_NODES} nodes"):
        load_yaml(text, "bomb.yaml")
    assert time.perf_counter() - start < 5  # generous; measured well under 10 ms
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB


def test_plain_nodes_are_not_bounded_by_the_alias_bound() -> None:
    """Plain nodes count for nothing (the file-size cap bounds them): 25,000 tasks of ~11 nodes each is a valid
    document, while far fewer nodes added by aliases are refused."""
    task = "  - {name: t%05d, src: {host: h, port: 1, user: u}, dst: {host: k, port: 2}}\n"
    data, _ = load_yaml("tasks:\n" + "".join(task % i for i in range(25_000)), "plain.yaml")
    assert len(data["tasks"]) == 25_000
    aliased = (
        "a: &a [" + ", ".join(["x"] * 1000) + "]\nb: [" + ", ".join(["*a"] * (MAX_ALIAS_NODES // 1000 + 1)) + "]\n"
    )
    with pytest.raises(YamlError, match=f"more than {MAX_ALIAS_NODES} nodes"):
        load_yaml(aliased, "aliased.yaml")


def test_a_generated_file_of_5000_tasks_validates(tmp_path: Path) -> None:
    """A plain generated file of 5,000 ordinary tasks (~55 nodes each, 1.8 MB) loads and validates."""
    tasks = [
        {
            "name": f"gen-{i:05d}",
            "standard": "large",
            "src": {
                "instanceType": "public",
                "dbType": "mysql",
                "region": "bj",
                "host": "10.0.0.12",
                "port": 3306,
                "user": "dts_reader",
            },
            "dst": {
                "instanceType": "public",
                "dbType": "kafka",
                "region": "bj",
                "host": "kafka.internal",
                "port": 9092,
            },
            "dataType": ["schema", "base", "increment"],
            "objects": [{"type": "table", "src": "shop.orders"}],
        }  # fmt: skip
        for i in range(5000)
    ]
    manifest = tmp_path / "generated.yaml"
    manifest.write_text(yaml.safe_dump({"version": 1, "tasks": tasks}, sort_keys=False, default_flow_style=False))
    assert manifest.stat().st_size > 1_700_000
    assert len(load_manifests([str(manifest)]).tasks) == 5000


def test_a_file_of_5000_tasks_sharing_anchored_ends_validates(tmp_path: Path) -> None:
    """The usual shape of a generated file: each task names its ends through aliases of one anchored pair. What the
    aliases expand to (13 nodes a task) stays under the alias bound at 5,000 tasks."""
    ends = (
        "src: &src {instanceType: public, dbType: mysql, region: bj, host: 10.0.0.12, port: 3306, user: u}, "
        "dst: &dst {instanceType: public, dbType: kafka, region: bj, host: kafka.internal, port: 9092}"
    )
    rest = "standard: large, dataType: [schema, base], objects: [{type: table, src: a.b}]"
    head = f"version: 1\ntasks:\n  - {{name: gen-first, {ends}, {rest}}}\n"
    task = f"  - {{name: gen-%05d, src: *src, dst: *dst, {rest}}}\n"
    manifest = tmp_path / "anchored.yaml"
    manifest.write_text(head + "".join(task % i for i in range(4999)))
    assert len(load_manifests([str(manifest)]).tasks) == 5000


def test_deep_nesting_is_rejected() -> None:
    with pytest.raises(YamlError, match="nested deeper than 64"):
        load_yaml("[" * 100 + "]" * 100, "deep.yaml")
    with pytest.raises(YamlError):
        load_yaml("[" * 200_000 + "]" * 200_000, "deeper.yaml")


def test_aliases_within_bounds_are_allowed() -> None:
    data, _ = load_yaml("a: &x {p: 1}\nb: *x\n", "x.yaml")
    assert data == {"a": {"p": 1}, "b": {"p": 1}}


def test_secret_references() -> None:
    assert secret_reference("DB_PASSWORD") == "${secret:DB_PASSWORD}"
    assert secret_reference("file:/run/secrets/db") == "${secret:file:/run/secrets/db}"
    for bad in ("a b", "A'B", "file:/x}y", 'file:/x"y', "file:/x\ny", "file:", "", "1ABC", "file:a\\b"):
        with pytest.raises(ValueError):
            secret_reference(bad)
    assert is_secret_ref("${secret:X}") and is_secret_ref("${secret:file:/a/b}")
    assert not is_secret_ref("hunter2") and not is_secret_ref("${secret:}") and not is_secret_ref(3)


def test_resolve_secret_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_DB_SECRET", "s3cr3t-value")
    assert resolve_secret("${secret:TEST_DB_SECRET}") == "s3cr3t-value"
    policy = SecretPolicy.from_operator([str(tmp_path)], env={})
    secret_file = tmp_path / "pw"
    secret_file.write_text("from-file\n")
    assert policy.resolve(f"${{secret:file:{secret_file}}}") == "from-file"
    monkeypatch.delenv("TEST_DB_SECRET")
    with pytest.raises(ConfigError, match=r"\$\{secret:TEST_DB_SECRET\}: environment variable TEST_DB_SECRET"):
        resolve_secret("${secret:TEST_DB_SECRET}")
    with pytest.raises(ConfigError, match="cannot read the file"):
        policy.resolve(f"${{secret:file:{tmp_path / 'missing'}}}")
    with pytest.raises(ConfigError) as info:
        resolve_secret("hunter2-not-a-ref")
    assert "hunter2" not in str(info.value)


def test_render_keeps_lines_and_trailing_newline() -> None:
    assert render("a: {{ x }}\n{% if true %}\nb: 1\n{% endif %}\n", "f.yaml", {"x": 1}) == "a: 1\n\nb: 1\n\n"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ ''.__class__.__mro__ }}", "sandbox violation"),
        ("{{ cycler.__init__.__globals__ }}", "sandbox violation"),
        ("{{ lipsum() }}", "undefined"),
        ("{% set l = [1] %}{{ l.append(2) }}", "sandbox violation"),
        ("{{ ''|attr('format') }}", "No filter named 'attr'"),
        ("{{ ''|center(100000000) }}", "No filter named 'center'"),
        ("{{ 'a' * 10**8 }}", "repeated string"),
        ("{{ [1] * 10**8 }}", "repeated string or list"),
        ("{{ 2 ** 100000000 }}", r"a power \(\*\*\) would be an integer of more than"),
        ("{{ '%100000000s' % 'a' }}", "a % width would be larger than"),
        ("{{ range(10**9) | length }}", r"range\(\) of more than"),
        ("{{ 'aaaa' | replace('a', 'x' * 1000000) }}", "larger than"),
        ("{% macro f(s, n) %}{{ f(s ~ s, n - 1) if n else s }}{% endmacro %}{{ f('a', 40) }}", "joined string"),
        ("{% for i in range(100000) %}{% for j in range(100000) %}{{ 'x' * 10 }}{% endfor %}{% endfor %}", "larger"),
    ],
)
def test_sandbox_and_limits(source: str, message: str) -> None:
    start = time.perf_counter()
    with pytest.raises(RenderError, match=message):
        render(source, "t.yaml", max_seconds=30)  # each case meets its own bound long before; load cannot flake it
    assert time.perf_counter() - start < 30


def test_cpu_bound_loops_stop_at_the_deadline() -> None:
    source = "{% set r = range(100000)|list %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}"
    start = time.perf_counter()
    with pytest.raises(RenderError, match="rendering took longer than 0.3s"):
        render(source, "t.yaml", max_seconds=0.3)
    assert time.perf_counter() - start < 5


def test_env_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DTSFLOW_VAR_REGION", "gz")
    monkeypatch.setenv("TEAM_REGION", "su")
    allow = EnvPolicy.from_operator(["TEAM_REGION"])
    source = "{{ env('TEAM_REGION') }} {{ env('DTSFLOW_VAR_REGION') }} {{ env('DTSFLOW_VAR_NOPE', default='bj') }}"
    assert render(source, "t.yaml", env_policy=allow) == "su gz bj"
    for name in ("BCE_SECRET_ACCESS_KEY", "DB_PASSWORD", "GITHUB_TOKEN", "DTSFLOW_ENDPOINT", "TEAM_REGION"):
        with pytest.raises(RenderError, match="is refused"):
            render(f"{{{{ env('{name}') }}}}", "t.yaml")
    with pytest.raises(RenderError, match="DTSFLOW_VAR_NOPE_Y is not set"):
        render("{{ env('DTSFLOW_VAR_NOPE_Y') }}", "t.yaml")


def test_var_arguments() -> None:
    assert parse_var_args(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    for bad in ("novalue", "1a=2", "secret=x", "a-b=1"):
        with pytest.raises(ConfigError):
            parse_var_args([bad])


def test_redaction_of_password_lines() -> None:
    assert redact_line("    password: hunter2") == "    password: <redacted>"
    assert redact_line('    password: "${secret:X}"') == '    password: "${secret:X}"'
    assert redact_line("    user: alice") == "    user: alice"


def test_defaults_merge_and_error_location(tmp_path: Path) -> None:
    manifest = tmp_path / "d.yaml"
    manifest.write_text(
        "version: 1\n"
        "defaults:\n"
        "  standard: LARGE\n"
        "  src: {instanceType: public, dbType: mysql, region: bj, host: h, port: 3306}\n"
        "  dst: {instanceType: public, dbType: mysql, region: bj, host: h, port: 3306}\n"
        "  dataType: [schema, base]\n"
        "  granularity: instance\n"
        "tasks:\n"
        "  - name: a\n"
        "    src: {port: 3307}\n"
        "    dataType: [increment]\n"
        "  - name: b\n"
        "    dst: {instanceType: bcerds}\n"
    )
    with pytest.raises(ManifestError) as info:
        load_manifests([str(manifest)])
    messages = [str(d) for d in info.value.diagnostics]
    assert messages == [f"{manifest}:13: $.tasks[1].dst: instanceId is required for instanceType bcerds"]
    manifest.write_text(manifest.read_text().replace("dst: {instanceType: bcerds}", "dst: {instanceId: x}"))
    loaded = load_manifests([str(manifest)])
    a = loaded.tasks["a"]
    assert (a.standard, a.src.port, a.src.host, a.data_type) == ("large", 3307, "h", ["increment"])


def test_error_in_a_default_value_points_at_defaults(tmp_path: Path) -> None:
    manifest = tmp_path / "d.yaml"
    manifest.write_text(
        "version: 1\n"
        "defaults:\n"
        "  src: {instanceType: public, dbType: mysql, region: bj, host: h}\n"
        "  dst: {instanceType: public, dbType: 7, region: bj, host: h, port: 1}\n"
        "tasks:\n"
        "  - name: a\n"
        "    standard: small\n"
        "    src: {port: 1}\n"
        "    dataType: [schema]\n"
        "    granularity: instance\n"
    )
    with pytest.raises(ManifestError) as info:
        load_manifests([str(manifest)])
    assert [str(d) for d in info.value.diagnostics] == [
        f"{manifest}:4: $.defaults.dst.dbType: must be a string (YAML read the unquoted value as a number; put it in quotes)"
    ]
