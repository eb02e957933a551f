"""What the DTS API says about a task: tolerant readers of its JSON.

Unknown fields are kept (the API may add some, and `api:` overrides are compared against them), zero values
and empty strings are accepted, and every `dbPass` is removed before a model is built, at any depth, so a
password the service echoes can never reach a diff, a log or a file.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from dtsflow.statuses import TaskStatus as TaskStatus  # re-exported: most modules read statuses from here

SECRET_FIELDS = frozenset({"dbPass"})


def strip_secrets(value: Any) -> Any:
    """A copy of parsed JSON without any password field, at any depth."""
    if isinstance(value, dict):
        return {k: strip_secrets(v) for k, v in value.items() if k not in SECRET_FIELDS}
    if isinstance(value, list):
        return [strip_secrets(v) for v in value]
    return value


class ApiModel(BaseModel):
    """Base of API response models: camelCase aliases, unknown fields kept, never a password."""

    model_config = ConfigDict(
        extra="allow", frozen=True, alias_generator=to_camel, populate_by_name=True, hide_input_in_errors=True
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_secrets(cls, data: Any) -> Any:
        return strip_secrets(data)


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


class LiveConnection(ApiModel):
    region: str = ""
    db_type: str = ""
    db_user: str = ""
    db_port: int | None = None
    db_host: str = ""
    instance_id: str = ""
    instance_type: str = ""
    field_whitelist: str = Field(default="", alias="field_whitelist")
    field_blacklist: str = Field(default="", alias="field_blacklist")

    _port = field_validator("db_port", mode="before")(_blank_to_none)


class LiveSchema(ApiModel):
    type: str = ""
    src: str = ""
    dst: str = ""
    where: str = ""


class LiveInitPosition(ApiModel):
    type: str = ""
    position: str = ""


class PayInfo(ApiModel):
    product_type: str = ""
    source_instance_type: str = ""
    target_instance_type: str = ""
    cross_region_tag: int | None = None
    standard: str = ""

    _tag = field_validator("cross_region_tag", mode="before")(_blank_to_none)


class LiveTask(ApiModel):
    """One task as `GET /v1/task/{id}` or a list page describes it (DtsTaskMeta)."""

    dts_id: str
    task_name: str = ""
    status: str = ""
    data_type: list[str] = Field(default_factory=list)
    region: str = ""
    create_time: str = ""
    src_connection: LiveConnection = Field(default_factory=LiveConnection)
    dst_connection: LiveConnection = Field(default_factory=LiveConnection)
    schema_mapping: list[LiveSchema] = Field(default_factory=list)
    granularity: str = ""
    errmsg: str = ""
    running_time: int | None = None
    dynamic_info: dict[str, Any] = Field(default_factory=dict)
    pay_info: PayInfo = Field(default_factory=PayInfo)
    init_position: LiveInitPosition | None = None

    @field_validator("data_type", "schema_mapping", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None or value == "" else value

    @property
    def known_status(self) -> TaskStatus | None:
        """The status as an enum member, or None for a status this version does not know."""
        try:
            return TaskStatus(self.status)
        except ValueError:
            return None


class PrecheckItem(ApiModel):
    """One check of `GET /v1/task/{id}/precheck`; `subscription` is the API's name for the description."""

    name: str = ""
    status: str = ""
    message: str = ""
    subscription: str = ""

    @property
    def failed(self) -> bool:
        return self.status.lower() in {"failed", "fail", "error"}
