"""Turn pydantic validation errors into our own messages, located by the YAML source map.

No message built here contains an input value: pydantic's own texts (with `hide_input_in_errors`) and our
templates name the field, the rule and the allowed values only. Input *types* are used for hints
("YAML read this unquoted value as a number"), never the values.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from dtsflow.manifest.model import COLUMN_NAME_PATTERN, TABLE_NAME_PATTERN
from dtsflow.manifest.yamlsafe import key_path

Loc = tuple[str | int, ...]


def json_path(base: str, loc: Sequence[str | int]) -> str:
    path = base
    for part in loc:
        path = f"{path}[{part}]" if isinstance(part, int) else key_path(path, part)
    return path


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as `Endpoint | None` or `list[ObjectMapping]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    if isinstance(annotation, types.UnionType):  # pragma: no cover - get_args covers it
        return None
    return None


def model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model that validates the object at `loc` (aliases or attribute names), or None if not a model."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue  # list index: the item model is found from the list field's annotation already
        field = next(
            (f for name, f in current.model_fields.items() if part in (name, f.alias)),
            None,
        )
        if field is None:
            return None
        current = _model_in(field.annotation)
    return current


def allowed_keys(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def unknown_key_message(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    if allowed:
        return f"unknown key {key!r} (allowed: {', '.join(allowed)})"
    return f"unknown key {key!r}"


_TYPE_NAMES = {bool: "a boolean", int: "a number", float: "a number", type(None): "null"}


def _yaml_hint(value: Any) -> str:
    """Why a value has the wrong type, from its type only (the value is never shown)."""
    what = _TYPE_NAMES.get(type(value))
    if what is None:
        return ""
    return f" (YAML read the unquoted value as {what}; put it in quotes)"


_PATTERN_MESSAGES = {
    "password": "must be a secret reference, written {{ secret('NAME') }} or {{ secret('file:/path') }}; "
    "a password is never written in a manifest",
    "name": "must be a valid DTS task name: 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
    "prefix": "must be a task-name prefix: letters, digits, '_', '.' or '-', starting with a letter or digit",
    "timeout": "must be a duration such as 90s, 15m or 2h",
    "standard": "must be one of small, medium, large, xlarge",
}

_PATTERN_MESSAGES_BY_PATTERN = {
    TABLE_NAME_PATTERN: "must be a table written db.table, without spaces or any of [ ] , ;",
    COLUMN_NAME_PATTERN: "must be a column name, without spaces or any of [ ] , ;",
}


def message_for(error: dict[str, Any], model: type[BaseModel]) -> str:
    """A short message for one pydantic error (from `errors(include_url=False)`), never echoing the input."""
    kind = error["type"]
    loc: Loc = tuple(error["loc"])
    ctx = error.get("ctx") or {}
    value = error.get("input")
    last = loc[-1] if loc else ""
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return unknown_key_message(str(last), allowed_keys(model_at(model, loc[:-1])))
    if kind == "literal_error":
        expected = str(ctx.get("expected", "one of the allowed values"))
        # Quoting only helps when the allowed values are strings (not for `version: 2` or `crossRegionTag: 3`).
        return f"must be {expected}" + (_yaml_hint(value) if "'" in expected else "")
    if kind == "enum":
        return f"must be one of {ctx.get('expected', 'the allowed values')}" + _yaml_hint(value)
    if kind == "string_type":
        return "must be a string" + _yaml_hint(value)
    if kind in ("int_type", "int_parsing", "int_from_float"):
        hint = " (quoted numbers are strings; write the number without quotes)" if isinstance(value, str) else ""
        return "must be an integer" + (hint or _yaml_hint(value))
    if kind == "bool_type":
        return "must be true or false"
    if kind in ("list_type", "tuple_type"):
        return "must be a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping of keys to values"
    if kind == "string_pattern_mismatch":
        by_pattern = _PATTERN_MESSAGES_BY_PATTERN.get(str(ctx.get("pattern")))
        return by_pattern or _PATTERN_MESSAGES.get(str(last), "has an invalid format")
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else f"needs at least {ctx.get('min_length')} items"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "value_error":
        return str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    message = str(error.get("msg", "invalid value"))
    return message.replace("Input should be", "must be")
