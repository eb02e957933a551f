"""The JSON plan: the machine contract, described by `schemas/plan.schema.json`, carrying `format_version`."""

from __future__ import annotations

import json
from typing import Any

from dtsflow.plan.model import FORMAT_VERSION, Plan


def plan_document(plan: Plan) -> dict[str, Any]:
    document: dict[str, Any] = plan.model_dump(mode="json", by_alias=True)
    return document


def render_json(plan: Plan) -> str:
    return json.dumps(plan_document(plan), indent=2, ensure_ascii=False) + "\n"


def plan_schema() -> dict[str, Any]:
    """The JSON Schema of a rendered (and saved) plan, generated from the `Plan` model."""
    schema = Plan.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"dtsflow plan v{FORMAT_VERSION}",
        **{k: v for k, v in schema.items() if k != "title"},
    }
