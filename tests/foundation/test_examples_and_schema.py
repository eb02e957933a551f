"""Every example validates through the CLI; the shipped schema equals the models' schema and accepts the examples."""

from __future__ import annotations

import json
import socket
import types
import typing
from pathlib import Path

import jsonschema
import pytest

from dtsflow.manifest.load import load_manifests, read_text
from dtsflow.manifest.schema import manifest_schema, render_schema, schema_file
from dtsflow.manifest.templating import render
from dtsflow.manifest.yamlsafe import load_yaml
from tests.foundation.conftest import assert_nobody_connected, guarded_cli
from tests.helpers import REPO

EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
SCHEMA_PATH = REPO / "schemas" / "manifest.schema.json"


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 4
    assert (REPO / "examples" / "quickstart.yaml") in EXAMPLES


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_starts_with_schema_comment(example: Path) -> None:
    first = example.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/manifest.schema.json"


def test_validate_examples_directory(watched_endpoint: tuple[str, socket.socket]) -> None:
    endpoint, server = watched_endpoint
    result = guarded_cli("validate", "examples/", endpoint=endpoint, cwd=REPO)
    assert result.returncode == 0, result.stderr
    total = sum(len(load_manifests([str(p)]).tasks) for p in EXAMPLES)
    assert result.stdout == f"{total} tasks in {len(EXAMPLES)} files are valid\n"
    assert_nobody_connected(server)


def test_validate_with_var_file_and_var() -> None:
    shards = REPO / "examples" / "orders-shards.yaml"
    loaded = load_manifests([str(shards)], var_files=[str(REPO / "examples" / "vars" / "orders-shards.yaml")])
    assert list(loaded.tasks) == [f"orders-shard-0{i}-to-kafka" for i in range(6)]
    assert loaded.tasks["orders-shard-03-to-kafka"].dst.host == "kafka-gz.internal"
    assert loaded.prune_prefixes == ["orders-shard-"]
    overridden = load_manifests([str(shards)], variables={"shard_count": "11"})
    assert len(overridden.tasks) == 11 and "orders-shard-10-to-kafka" in overridden.tasks


def test_quickstart_shape() -> None:
    loaded = load_manifests([str(REPO / "examples" / "quickstart.yaml")])
    users, orders = loaded.tasks.values()
    assert orders.depends_on == ["quickstart-users"]
    assert users.src.password == "${secret:QUICKSTART_DB_PASSWORD}"
    assert users.precheck.skip == [] and users.standard == "large"  # examples promise no check name
    path = REPO / "examples" / "quickstart.yaml"
    line = path.read_text(encoding="utf-8").splitlines().index("  - name: quickstart-users") + 1
    assert loaded.locations["quickstart-users"] == (str(path), line)


def test_schema_file_matches_the_models() -> None:
    """Fails when a model changed without `python -m dtsflow.manifest.schema --write`."""
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema()
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) == manifest_schema()
    assert schema_file() == SCHEMA_PATH


def test_schema_command_prints_the_shipped_schema() -> None:
    result = guarded_cli("schema", endpoint="http://127.0.0.1:9")
    assert result.returncode == 0
    assert json.loads(result.stdout) == manifest_schema()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_schema_accepts_every_rendered_example(example: Path) -> None:
    validator = jsonschema.Draft202012Validator(manifest_schema())
    data, _ = load_yaml(render(read_text(str(example)), str(example)), str(example))
    assert list(validator.iter_errors(data)) == []


def test_schema_rejects_what_the_loader_rejects() -> None:
    validator = jsonschema.Draft202012Validator(manifest_schema())
    bad = {"version": 1, "tasks": [{"name": "a", "standrd": "large"}], "prune": {"prefix": "x"}}
    assert [e.validator for e in validator.iter_errors(bad)] == ["additionalProperties"]
    assert not validator.is_valid({"version": 1, "tasks": [{"name": "a", "standard": "huge"}]})
    assert validator.is_valid({"version": 1, "tasks": [{"name": "a", "standard": "XLarge"}]})


def test_defaults_models_are_generated_from_the_spec_models() -> None:
    """Every task field but name/dependsOn/previousNames/reverse/adopt may be defaulted, every nested field too, none required."""
    from pydantic import BaseModel

    from dtsflow.manifest.model import TaskDefaults, TaskSpec

    def check(spec: type[BaseModel], defaults: type[BaseModel], exclude: set[str]) -> None:
        assert set(defaults.model_fields) == set(spec.model_fields) - exclude
        for name, info in defaults.model_fields.items():
            assert not info.is_required() and info.default is None, name
            declared = spec.model_fields[name].annotation
            union = typing.get_origin(declared) in (typing.Union, types.UnionType)
            nested = next(a for a in typing.get_args(declared) if a is not type(None)) if union else declared
            if isinstance(nested, type) and issubclass(nested, BaseModel):
                sub = next(a for a in typing.get_args(info.annotation) if a is not type(None))
                check(nested, sub, set())

    check(TaskSpec, TaskDefaults, {"name", "depends_on", "previous_names", "reverse", "adopt"})
    assert TaskDefaults.model_validate({"standard": "LARGE"}).model_dump(exclude_none=True) == {"standard": "large"}
    with pytest.raises(ValueError, match="port"):
        TaskDefaults.model_validate({"src": {"port": 0}})
