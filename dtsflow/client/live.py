"""What the DTS API says about a task: tolerant readers of its JSON, and `Live`, the live side of a plan.

Unknown fields are kept (the API may add some, and `api:` overrides are compared against them), zero values
and empty strings are accepted, `null` in any field means the field is absent (the docs mark unused fields
`null`, and an unconfigured task may carry nothing but its id), and every `dbPass` is removed before a model
is built, at any depth, so a password the service echoes can never reach a diff, a log or a file.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel

from dtsflow.client.reverse import Direction, delay_seconds, is_pair_id, pair_direction
from dtsflow.client.statuses import TaskStatus as TaskStatus  # re-exported: most modules read statuses from here

SECRET_FIELDS = frozenset({"dbPass"})
# Validation context flag: the data was decoded by `loads_without_secrets`, so no model needs to walk it again
# (walking every level of a 1,000-task list page at every nested model cost more than validating it).
SECRETS_STRIPPED = "secrets_stripped"


def strip_secrets(value: Any) -> Any:
    """A copy of parsed JSON without any password field, at any depth."""
    if isinstance(value, dict):
        return {k: strip_secrets(v) for k, v in value.items() if k not in SECRET_FIELDS}
    if isinstance(value, list):
        return [strip_secrets(v) for v in value]
    return value


def drop_secret_keys(obj: dict[str, Any]) -> dict[str, Any]:
    """`json.loads` object hook: the object without its password fields (called for every object, any depth)."""
    for key in SECRET_FIELDS:
        if key in obj:
            return {k: v for k, v in obj.items() if k not in SECRET_FIELDS}
    return obj


def loads_without_secrets(text: str | bytes) -> Any:
    """Parsed JSON with every password field removed as it is decoded."""
    return json.loads(text, object_hook=drop_secret_keys)


def secrets_stripped(info: ValidationInfo) -> bool:
    """Whether the data being validated came from `loads_without_secrets` (see SECRETS_STRIPPED)."""
    return isinstance(info.context, dict) and info.context.get(SECRETS_STRIPPED) is True


def as_text(value: Any) -> Any:
    """A scalar the API may send as a number where we read text (`createTime` is an int in `payInfo`)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


_NUMBERS = (int, float, bool)


@functools.cache
def _text_keys(model: type[BaseModel], optional_text: bool) -> frozenset[str]:
    """Names and aliases of a model's text fields (`str`, and `str | None` if `optional_text`)."""
    wanted = (str, str | None) if optional_text else (str,)
    keys: set[str] = set()
    for name, declared in model.model_fields.items():
        if declared.annotation in wanted:
            keys.add(name)
            if declared.alias:
                keys.add(declared.alias)
    return frozenset(keys)


def tolerant_fields(model: type[BaseModel], data: Any, *, optional_text: bool) -> Any:
    """An object's fields without those that are `null` (a model then reads them as absent: its default), and
    `as_text` on every text field sent as a number, in one pass. One level only: each nested model does the same
    for its own fields when it is built.

    One model validator rather than a field validator on every field: a list page holds a thousand tasks of
    five models each, and a Python call per field cost more than validating the page.
    """
    if not isinstance(data, dict):
        return data
    text = _text_keys(model, optional_text)
    return {k: (as_text(v) if isinstance(v, _NUMBERS) and k in text else v) for k, v in data.items() if v is not None}


def without_null_items(value: Any) -> Any:
    """A list with its `null` elements left out; `null` or "" for a whole list is an empty list."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [v for v in value if v is not None]
    return value


class ApiModel(BaseModel):
    """Base of API response models: camelCase aliases, unknown fields kept, never a password."""

    model_config = ConfigDict(
        extra="allow", frozen=True, alias_generator=to_camel, populate_by_name=True, hide_input_in_errors=True
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_secrets(cls, data: Any, info: ValidationInfo) -> Any:
        if data is None or data == "":  # a whole nested object sent as null or ""
            return {}
        return tolerant_fields(cls, data if secrets_stripped(info) else strip_secrets(data), optional_text=False)


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


@dataclass(frozen=True, slots=True)
class CreateTime:
    """A parsed `createTime`: epoch seconds, and whether the text said its zone (a naive time did not)."""

    epoch: float
    zoned: bool


_TIME_TEXT = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})[T ]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d+))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def parse_create_time(value: str) -> CreateTime | None:
    """`createTime` in every documented shape, or None when it is none of them.

    Epoch seconds (`1607606650`, as in `payInfo`; 13 digits are milliseconds), ISO text with `T` or a space
    between date and time, with or without a zone, and with the stray spaces of the doc's example
    (`2020-12-10T13: 24: 10Z`). A text without a zone is read as UTC and marked naive (`zoned=False`).
    """
    text = value.strip()
    if text.isdigit():
        number = int(text)
        return CreateTime(number / 1000.0 if len(text) >= 13 else float(number), True)
    match = _TIME_TEXT.fullmatch(re.sub(r"\s*([:T])\s*", r"\1", text).strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC)
    except ValueError:
        return None
    epoch = moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        epoch -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return CreateTime(epoch, zone is not None)


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


class LiveTag(ApiModel):
    tag_key: str = ""
    tag_value: str = ""


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
    tags: list[LiveTag] | None = None
    """None when the answer has no `tags` field (ownership unknown), [] when the task has no tag."""
    dts_id_pos: str = ""
    dts_id_neg: str = ""
    dts_task_pos: LiveTask | None = None
    dts_task_neg: LiveTask | None = None
    """A one-click reverse pair's two directions (forward, the way back); absent for a plain task."""

    @field_validator("dts_task_pos", "dts_task_neg", mode="before")
    @classmethod
    def _direction(cls, value: Any) -> Any:
        return value if isinstance(value, dict) and value.get("dtsId") else None

    @field_validator("data_type", "schema_mapping", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return without_null_items(value)

    @field_validator("dynamic_info", mode="before")
    @classmethod
    def _progress_object(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}

    @field_validator("tags", mode="before")
    @classmethod
    def _null_tags(cls, value: Any) -> Any:
        return [] if value == "" else value

    def has_tag(self, key: str, value: str) -> bool | None:
        """Whether the task carries this tag; None when the answer did not say (no `tags` field)."""
        if self.tags is None:
            return None
        return any(t.tag_key == key and t.tag_value == value for t in self.tags)

    @property
    def unnamed(self) -> bool:
        """No name of its own: empty, or its id (what the console shows for a task never configured)."""
        return not self.task_name or self.task_name == self.dts_id

    @property
    def created(self) -> CreateTime | None:
        return parse_create_time(self.create_time) if self.create_time else None

    @property
    def base_percent(self) -> float | None:
        """Full-load progress from `dynamicInfo.base` (sum of `current` over sum of `count`), or None."""
        base = self.dynamic_info.get("base")
        if not isinstance(base, list) or not base:
            return None
        current = total = 0.0
        for info in base:
            if not isinstance(info, dict):
                continue
            current += _number(info.get("current")) or 0.0
            total += _number(info.get("count")) or 0.0
        if total <= 0:
            return None
        return round(min(100.0, 100.0 * current / total), 1)

    @property
    def expected_finish(self) -> float | None:
        """When the service expects the structure and full load to be done (epoch seconds): the latest
        `expectFinishTime` of `dynamicInfo.schema` and `dynamicInfo.base`; None when none is given (`""`, `"0"`:
        the load is done, waiting, or the service does not say)."""
        latest: float | None = None
        for phase in ("schema", "base"):
            entries = self.dynamic_info.get(phase)
            for info in entries if isinstance(entries, list) else []:
                text = info.get("expectFinishTime") if isinstance(info, dict) else None
                moment = parse_create_time(text) if isinstance(text, str) and text.strip("0 ") else None
                if moment is not None and (latest is None or moment.epoch > latest):
                    latest = moment.epoch
        return latest

    @property
    def is_pair(self) -> bool:
        """A one-click reverse pair (its main task), not a plain or bidirectional task."""
        return is_pair_id(self.dts_id)

    @property
    def direction(self) -> Direction | None:
        """Which way a pair replicates now (`dtsflow.client.reverse.pair_direction`); None for a plain task."""
        if not self.is_pair:
            return None
        return pair_direction(self.dts_task_neg.status if self.dts_task_neg else None)

    @property
    def loading(self) -> bool:
        """The full load is still running (`dynamicInfo.base` below 100%): the incremental phase has not begun."""
        percent = self.base_percent
        return percent is not None and percent < 100.0

    @property
    def delay(self) -> float | None:
        """The replication delay in seconds (`dynamicInfo.increment.delay`), None when the answer has none (while
        `loading`, a delay says nothing about catching up: a lag gate does not count it)."""
        increment = self.dynamic_info.get("increment")
        return delay_seconds(increment.get("delay")) if isinstance(increment, dict) else None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
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


class PairPrecheck(ApiModel):
    """`GET /v1/task/{id}/rollback/precheck` of a one-click reverse pair: each direction's check items."""

    forward: list[PrecheckItem] = Field(default_factory=list)
    reverse: list[PrecheckItem] = Field(default_factory=list)

    @property
    def items(self) -> list[PrecheckItem]:
        """Both directions' items; a reverse item's name is prefixed `reverse:` so the two can be told apart."""
        return [*self.forward, *(item.model_copy(update={"name": f"reverse:{item.name}"}) for item in self.reverse)]


@dataclass(frozen=True)
class Live:
    """The live side of a plan: named tasks, unnamed leftovers, and check items of `checkFailed` tasks.

    Built by `dtsflow.plan.refresh.fetch_live` from list calls; the planner and the stale-plan check read it.
    """

    tasks: Mapping[str, LiveTask] = field(default_factory=dict)
    """By `taskName`; unique (see `Live.from_tasks`)."""
    orphans: Sequence[LiveTask] = ()
    """Unnamed tasks in `unConfig`: possibly left by an interrupted create."""
    precheck: Mapping[str, Sequence[PrecheckItem]] = field(default_factory=dict)
    """By dtsId: the check items of tasks that are `checkFailed`."""
    duplicates: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Names held by more than one live task: the dtsIds of all of them, in list order."""
    other_types: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Tasks of the other types (bidirect, group, rollback) by name: (type, dtsId). dtsflow manages migration
    tasks only: such a name in a manifest is a plan error, and prune never touches them."""
    delays: Mapping[str, float] = field(default_factory=dict)
    """By dtsId: the delay of running one-click reverse pairs, from `newRollbackCheck` (seconds)."""

    def delay(self, task: LiveTask) -> float | None:
        """The replication delay of a live task in seconds, as a lag gate counts it: a pair's from
        `newRollbackCheck`, else the list's; None while the full load runs."""
        return None if task.loading else self.delays.get(task.dts_id, task.delay)

    @classmethod
    def from_tasks(
        cls, tasks: Sequence[LiveTask], precheck: Mapping[str, Sequence[PrecheckItem]] | None = None
    ) -> Live:
        """Index tasks by name (the first of a duplicate name; all its ids in `duplicates`); `deleted` tasks are
        ignored."""
        by_name: dict[str, LiveTask] = {}
        duplicates: dict[str, list[str]] = {}
        orphans: list[LiveTask] = []
        for task in tasks:
            if task.status == TaskStatus.DELETED:
                continue
            if task.unnamed and task.status == TaskStatus.UN_CONFIG:
                orphans.append(task)
                continue
            if not task.task_name:
                continue
            other = by_name.get(task.task_name)
            if other is not None:
                duplicates.setdefault(task.task_name, [other.dts_id]).append(task.dts_id)
                continue
            by_name[task.task_name] = task
        return cls(tasks=by_name, orphans=orphans, precheck=dict(precheck or {}), duplicates=duplicates)
