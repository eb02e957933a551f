"""The manifest reference (docs/manifest-reference.md), generated from the manifest JSON Schema.

A pure function of the schema dict: one table per object (the file, a task, an endpoint, ...) with each field's
type, default, whether it is required, its constraints and its description. `tests/test_docs.py` regenerates it
from the models and fails when the committed page differs (`UPDATE_GOLDEN=1` rewrites it), so the reference
cannot fall behind the code. The `*Defaults` objects mirror the task's with every field optional and are listed
once, by name.
"""

from __future__ import annotations

from typing import Any

HEADER = """# Manifest field reference

Generated from the manifest JSON Schema (`dtsflow schema` prints it) by `dtsflow/manifest/reference.py`; a test
keeps this page equal to the code. For what the fields mean together — desired states, defaults, templates,
secrets, dependencies — read [manifest.md](manifest.md); this page is the field-by-field list.

In a file, a task may leave any field but `name` to the file's `defaults:` (deep-merged into every task; the
task's own keys win); the merged task must then satisfy the rules below. Unknown keys are errors everywhere.
"""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _anchor(name: str) -> str:
    return name.lower()


def type_text(prop: dict[str, Any]) -> str:
    """A short type: `string`, `integer 1..65535`, `list of ObjectMapping`, `one of: a, b`, ..."""
    if "$ref" in prop:
        name = _ref_name(prop["$ref"])
        return f"[{name}](#{_anchor(name)})"
    if "const" in prop:
        return f"`{prop['const']}` (fixed)"
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    if "anyOf" in prop:
        parts = [type_text(p) for p in prop["anyOf"] if p.get("type") != "null"]
        return " or ".join(parts) if parts else "null"
    kind = prop.get("type", "any")
    if kind == "array":
        inner = type_text(prop.get("items", {}))
        count = f", at least {prop['minItems']}" if "minItems" in prop else ""
        return f"list of {inner}{count}"
    if kind == "object" and "additionalProperties" in prop and isinstance(prop["additionalProperties"], dict):
        return f"map of {type_text(prop['additionalProperties'])}"
    bounds = []
    if "minimum" in prop or "maximum" in prop:
        bounds.append(f"{prop.get('minimum', '')}..{prop.get('maximum', '')}")
    if prop.get("minLength"):
        bounds.append("non-empty")
    return " ".join([str(kind), *bounds])


def _constraints(prop: dict[str, Any]) -> str:
    for candidate in [prop, *prop.get("anyOf", [])]:
        if "pattern" in candidate:
            return f"pattern `{candidate['pattern']}`"
    return ""


def _description(prop: dict[str, Any]) -> str:
    for candidate in [prop, *prop.get("anyOf", [])]:
        if candidate.get("description"):
            return str(candidate["description"])
    return ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(prop: dict[str, Any]) -> str:
    if "default" not in prop or prop["default"] is None or prop["default"] == [] or prop["default"] == {}:
        return ""
    value = prop["default"]
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def _object(name: str, body: dict[str, Any]) -> list[str]:
    lines = [f"## {name}", ""]
    if body.get("description"):
        lines += [_cell(body["description"]), ""]
    if "enum" in body:
        lines += ["One of: " + ", ".join(f"`{v}`" for v in body["enum"]) + ".", ""]
        return lines
    required = set(body.get("required", []))
    lines += ["| field | type | required | default | rules and meaning |", "|---|---|---|---|---|"]
    for field, prop in body.get("properties", {}).items():
        notes = "; ".join(x for x in (_description(prop), _constraints(prop)) if x)
        lines.append(
            f"| `{field}` | {_cell(type_text(prop))} | {'yes' if field in required else ''} | {_cell(_default(prop))} "
            f"| {_cell(notes)} |"
        )
    lines.append("")
    return lines


def reference_markdown(schema: dict[str, Any]) -> str:
    """The whole page."""
    defs: dict[str, Any] = schema.get("$defs", {})
    lines = [HEADER, *_object("The manifest file", {**schema, "description": schema.get("description", "")})]
    mirrors = sorted(n for n in defs if n.endswith("Defaults") and n[: -len("Defaults")] in defs)
    for name in sorted(defs):
        if name in mirrors:
            continue
        lines += _object(name, defs[name])
    if mirrors:
        listed = ", ".join(
            f"`{m}` (like [{m[: -len('Defaults')]}](#{_anchor(m[: -len('Defaults')])}))" for m in mirrors
        )
        lines += [
            "## Defaults objects",
            "",
            f"`defaults:` takes the task's fields with every one optional: {listed}.",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"
