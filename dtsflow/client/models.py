"""Request and response bodies of the DTS API, with its exact JSON names (the API documentation's field tables).

Requests are built strictly: a wrong type or a missing required field is an error before anything is sent.
Create and config bodies may carry extra raw fields from a manifest's `api:` escape hatch, so those two
models check the fields they know and let the others through. Responses are read tolerantly: unknown fields
are ignored, nulls, zero values and empty strings are accepted, and `dbPass` is removed before parsing (task
data and precheck items are `dtsflow.client.live` models).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from dtsflow.client.live import (
    LiveTask,
    PrecheckItem,
    secrets_stripped,
    strip_secrets,
    tolerant_fields,
    without_null_items,
)
from dtsflow.errors import ConfigError

# ---- requests ------------------------------------------------------------------------------------------------


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, hide_input_in_errors=True)

    def body(self) -> dict[str, Any]:
        """The JSON object to send: API names, unset optional fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True)


class _OpenRequest(_Request):
    """A body that may also carry raw `api:` override fields the model does not know."""

    model_config = ConfigDict(extra="allow", strict=True, populate_by_name=True, hide_input_in_errors=True)


class OrderEnd(_OpenRequest):
    instance_type: str = Field(alias="instanceType", min_length=1)
    db_type: str = Field(alias="dbType", min_length=1)
    region: str | None = None


class OrderInfo(_OpenRequest):
    src: OrderEnd
    dst: OrderEnd


class Tag(_Request):
    tag_key: str = Field(alias="tagKey", min_length=1)
    tag_value: str = Field(alias="tagValue")


class CreateTaskRequest(_OpenRequest):
    """CreateDtsArgs (`POST /v1/task`); `clientToken` travels in the query string, not here."""

    product_type: str = Field(alias="productType", min_length=1)
    type: str = Field(min_length=1)
    standard: str = Field(min_length=1)
    source_instance_type: str = Field(alias="sourceInstanceType", min_length=1)
    target_instance_type: str = Field(alias="targetInstanceType", min_length=1)
    cross_region_tag: int = Field(alias="crossRegionTag", ge=0, le=1)
    direction_type: str = Field(alias="directionType", min_length=1)
    order_info: OrderInfo = Field(alias="orderInfo")
    bind_tags: list[Tag] | None = Field(default=None, alias="bindTags")


class ConnectionBody(_OpenRequest):
    instance_type: str | None = Field(default=None, alias="instanceType")
    db_type: str | None = Field(default=None, alias="dbType")
    region: str | None = None
    db_host: str | None = Field(default=None, alias="dbHost")
    db_port: int | None = Field(default=None, alias="dbPort", ge=0, le=65535)
    db_user: str | None = Field(default=None, alias="dbUser")
    db_pass: str | None = Field(default=None, alias="dbPass", repr=False)
    instance_id: str | None = Field(default=None, alias="instanceId")


class SchemaBody(_OpenRequest):
    type: str
    src: str
    dst: str = ""
    where: str = ""


class ConfigTaskRequest(_OpenRequest):
    """ConfigArgs (`POST /v1/task/{id}/config`)."""

    type: str | None = None
    task_name: str = Field(alias="taskName", min_length=1)
    data_type: list[str] = Field(alias="dataType", min_length=1)
    src_connection: ConnectionBody = Field(alias="srcConnection")
    dst_connection: ConnectionBody = Field(alias="dstConnection")
    schema_mapping: list[SchemaBody] = Field(alias="schemaMapping")
    granularity: str | None = None


class RollbackFlowBody(_OpenRequest):
    """One direction of `newRollback/config` (`dtsTaskPos` / `dtsTaskNeg`)."""

    type: str | None = None
    data_type: list[str] = Field(alias="dataType", min_length=1)
    src_connection: ConnectionBody = Field(alias="srcConnection")
    dst_connection: ConnectionBody = Field(alias="dstConnection")
    schema_mapping: list[SchemaBody] = Field(alias="schemaMapping")
    granularity: str | None = None


class RollbackConfigRequest(_Request):
    """`POST /v1/task/{id}/newRollback/config`: both directions of a one-click reverse pair."""

    task_name: str = Field(alias="taskName", min_length=1)
    open_rollback_config: str = Field(alias="openRollbackConfig", pattern="^true$")
    dts_task_pos: RollbackFlowBody = Field(alias="dtsTaskPos")
    dts_task_neg: RollbackFlowBody = Field(alias="dtsTaskNeg")


class SwitchPositionBody(_Request):
    type: str = Field(pattern="^(binlog|gtidset|timestamp)$")
    position: str = Field(min_length=1)


class SwitchParams(_Request):
    position: SwitchPositionBody | None = None


class SwitchRequest(_Request):
    """`POST /v1/task/{id}/rollback`: `{"updateParams": {}}` starts from the latest position."""

    update_params: SwitchParams = Field(alias="updateParams")


class ListTasksRequest(_Request):
    """ListDtsArgs (`POST /v1/task/list`)."""

    type: str = "migration"
    status: str | None = None
    marker: str | None = None
    max_keys: int = Field(default=1000, alias="maxKeys", ge=1, le=1000)


class RenameRequest(_Request):
    task_name: str = Field(alias="taskName", min_length=1)


class TaggedResource(_Request):
    resource_id: str = Field(alias="resourceId", min_length=1)
    tags: list[Tag]


class AssignTagsRequest(_Request):
    """`PUT /v1/task/tag/assign`: bind tags to tasks (an empty `tags` list clears a task's tags)."""

    resources: list[TaggedResource] = Field(min_length=1)


class ResizeRequest(_Request):
    standard: str = Field(min_length=1)


def check_request(model: type[_Request], body: dict[str, Any], operation: str) -> None:
    """Validate a request body built elsewhere; the error names fields, never values (no password can leak)."""
    try:
        model.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or '$'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{operation}: invalid request body: {problems}") from None


# ---- responses -----------------------------------------------------------------------------------------------


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, hide_input_in_errors=True)

    @model_validator(mode="before")
    @classmethod
    def _tolerate(cls, data: Any, info: ValidationInfo) -> Any:
        data = data if secrets_stripped(info) else strip_secrets(data)
        return {} if data is None or data == "" else tolerant_fields(cls, data, optional_text=True)


class CreatedTask(_Response):
    dts_id: str = Field(default="", alias="dtsId")


class CreateTaskResponse(_Response):
    dts_tasks: list[CreatedTask] = Field(default_factory=list, alias="dtsTasks")

    @field_validator("dts_tasks", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return without_null_items(value)


class ListTasksResponse(_Response):
    """ListDtsResult; the page flag is `isTruncated` (Go) or `truncated` (the older doc)."""

    marker: str | None = ""
    max_keys: int | None = Field(default=None, alias="maxKeys")
    is_truncated: bool | None = Field(default=None, alias="isTruncated")
    truncated: bool | None = None
    next_marker: str | None = Field(default="", alias="nextMarker")
    task: list[LiveTask] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _task_list_names(cls, data: Any) -> Any:
        if isinstance(data, dict) and "task" not in data:
            for other in ("tasks", "result"):
                if isinstance(data.get(other), list):
                    return {**data, "task": data[other]}
        return data

    @field_validator("task", mode="before")
    @classmethod
    def _null_tasks(cls, value: Any) -> Any:
        """Tasks of the page; an entry without a `dtsId` names nothing dtsflow could act on and is left out."""
        items = without_null_items(value)
        if isinstance(items, list):
            return [t for t in items if not isinstance(t, dict) or t.get("dtsId") not in (None, "")]
        return items

    @field_validator("max_keys", mode="before")
    @classmethod
    def _blank_int(cls, value: Any) -> Any:
        return None if value == "" else value

    @property
    def more(self) -> bool:
        return bool(self.is_truncated if self.is_truncated is not None else self.truncated)


class ListPageHead(ListTasksResponse):
    """A list page's paging fields, its tasks not yet read: enough to ask for the next page while reading them."""

    task: list[Any] = Field(default_factory=list)


class SuccessResponse(_Response):
    """`{"success": bool, "result": ..., "message": ...}` of precheck / skipPrecheck / start / pause / ..."""

    success: bool | None = None
    message: str | None = ""
    result: Any = None


class GetPrecheckResponse(_Response):
    success: bool | None = None
    result: list[PrecheckItem] = Field(default_factory=list)

    @field_validator("result", mode="before")
    @classmethod
    def _items(cls, value: Any) -> Any:
        if value in (None, "") or isinstance(value, dict):
            return []
        return without_null_items(value)


class RollbackPrecheckResult(_Response):
    pos_check_results: list[PrecheckItem] = Field(default_factory=list, alias="posCheckResults")
    neg_check_results: list[PrecheckItem] = Field(default_factory=list, alias="negCheckResults")

    @field_validator("pos_check_results", "neg_check_results", mode="before")
    @classmethod
    def _items(cls, value: Any) -> Any:
        return [] if value in (None, "") or not isinstance(value, list) else value


class RollbackPrecheckResponse(_Response):
    success: bool | None = None
    result: RollbackPrecheckResult = Field(default_factory=RollbackPrecheckResult)


class RollbackDelay(_Response):
    dts_id: str = Field(default="", alias="dtsId")
    delay: Any = None


class RollbackCheckResult(_Response):
    data: list[RollbackDelay] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        # The docs' field table describes one {dtsId, delay}; their example a `data` list of them. Read both.
        if isinstance(value, dict) and "data" not in value and "delay" in value:
            return {"data": [value]}
        if isinstance(value, dict) and value.get("data") is None:
            return {**value, "data": []}
        return value


class RollbackCheckResponse(_Response):
    success: bool | None = None
    message: str | None = ""
    result: RollbackCheckResult = Field(default_factory=RollbackCheckResult)


class ResizeResponse(_Response):
    order_id: str = Field(default="", alias="orderId")

    @field_validator("order_id", mode="before")
    @classmethod
    def _any_id(cls, value: Any) -> Any:
        return "" if value is None else str(value)
