"""Manifest format v1 (DESIGN.md §2): the pydantic models of what users write.

Strict readers: unknown keys are errors, and no error message echoes an input value
(`hide_input_in_errors`), so a mistyped password never reaches a terminal or a CI log.
Attributes are snake_case; the YAML keys are the camelCase aliases, matching the DTS API's names.

Passwords are never values here: the loader turns `{{ secret('NAME') }}` into a reference string
(`${secret:NAME}` or `${secret:file:/path}`), and only the client resolves it while building a request.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

SECRET_REF_PATTERN = r"^\$\{secret:(?:[A-Za-z_][A-Za-z0-9_]*|file:[^\"'\\\n\r}]+)\}$"
TASK_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
DURATION_PATTERN = r"^\s*\d+\s*(ms|s|m|h)?\s*$"


class DesiredState(StrEnum):
    """What a task must be like after apply (DESIGN.md §2, desired states)."""

    READY = "ready"
    PRECHECKED = "prechecked"
    RUNNING = "running"
    PAUSED = "paused"
    SHUTDOWN = "shutdown"
    ABSENT = "absent"


InstanceType = Literal[
    "bcerds", "public", "bcedocdb", "bcescs", "bceddc", "bcegaiadb",
    "bceet", "bcebcc", "bcebbc", "bcedcc", "bcegateway",
]  # fmt: skip
# Cloud-hosted instance types that the API addresses by instance id rather than host and port.
CLOUD_INSTANCE_TYPES = frozenset({"bcerds", "bcedocdb", "bcescs", "bceddc", "bcegaiadb"})
STANDARDS = ("small", "medium", "large", "xlarge")
# For editors: the JSON Schema's view of `standard` (case-insensitive; pydantic normalises to lower case).
STANDARD_PATTERN = "^(?:" + "|".join("".join(f"[{c}{c.upper()}]" for c in s) for s in STANDARDS) + ")$"
DataType = Literal["schema", "base", "increment"]
ObjectType = Literal["db", "table", "view", "function", "procedure"]


def parse_duration(text: str) -> float:
    """`90s`, `15m`, `2h`, `500ms`, or a bare number of seconds -> seconds."""
    match = re.fullmatch(r"\s*(\d+)\s*(ms|s|m|h)?\s*", text)
    if not match:
        raise ValueError("a duration such as 90s, 15m or 2h")
    number, unit = int(match.group(1)), match.group(2) or "s"
    return number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


class StrictModel(BaseModel):
    """Base of every manifest model: frozen, unknown keys rejected, values never echoed in errors."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        hide_input_in_errors=True,
        strict=True,
    )


SecretRef = Annotated[str, Field(pattern=SECRET_REF_PATTERN, description="written as {{ secret('NAME') }}")]
Duration = Annotated[str, Field(pattern=DURATION_PATTERN, description="a duration such as 90s, 15m or 2h")]
NonEmpty = Annotated[str, Field(min_length=1)]


class Endpoint(StrictModel):
    """One end of a migration; connection fields map to the API's `db*` names."""

    instance_type: InstanceType
    db_type: NonEmpty
    region: NonEmpty
    host: NonEmpty | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    user: NonEmpty | None = None
    password: SecretRef | None = None
    instance_id: NonEmpty | None = None


class ObjectMapping(StrictModel):
    """One entry of `schemaMapping`: what to migrate, and where to."""

    type: ObjectType
    src: NonEmpty
    dst: NonEmpty | None = None  # defaults to src
    where: str | None = None


class InitPosition(StrictModel):
    type: NonEmpty
    position: str = ""


class PrecheckPolicy(StrictModel):
    timeout: Duration = "15m"
    skip: list[NonEmpty] = Field(default_factory=list)  # check names whose failure may be skipped

    @property
    def timeout_seconds(self) -> float:
        return parse_duration(self.timeout)


class ApiOverrides(StrictModel):
    """Raw fields deep-merged into request bodies, for what the manifest does not model yet."""

    create: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)


def _normalise_standard(value: object) -> object:
    if isinstance(value, str) and value.lower() in STANDARDS:
        return value.lower()
    if isinstance(value, str):
        raise ValueError(f"standard must be one of {', '.join(STANDARDS)}")
    return value


Standard = Annotated[str, Field(pattern=STANDARD_PATTERN, description="small | medium | large | xlarge")]


class TaskSpec(StrictModel):
    """One DTS task as the manifest wants it (after `defaults` are merged in)."""

    name: Annotated[str, Field(pattern=TASK_NAME_PATTERN, description="the DTS taskName; unique in a run")]
    state: Annotated[DesiredState, Field(strict=False)] = DesiredState.RUNNING  # str -> enum
    type: Literal["migration"] = "migration"
    product_type: Literal["postpay"] = "postpay"
    standard: Standard
    direction_type: Literal["single"] = "single"
    cross_region_tag: Literal[0, 1] | None = None
    src: Endpoint
    dst: Endpoint
    data_type: Annotated[list[DataType], Field(min_length=1)]
    granularity: Literal["instance", "dbtb"] = "dbtb"
    objects: list[ObjectMapping] = Field(default_factory=list)
    init_position: InitPosition | None = None
    precheck: PrecheckPolicy = Field(default_factory=PrecheckPolicy)
    depends_on: list[NonEmpty] = Field(default_factory=list)
    api: ApiOverrides = Field(default_factory=ApiOverrides)

    @field_validator("standard", mode="before")
    @classmethod
    def _normalise_standard(cls, value: object) -> object:
        return _normalise_standard(value)

    @property
    def derived_cross_region_tag(self) -> int:
        """1 iff both ends are Baidu RDS in different regions (the API's rule)."""
        both_rds = self.src.instance_type == "bcerds" and self.dst.instance_type == "bcerds"
        return 1 if both_rds and self.src.region != self.dst.region else 0


class EndpointDefaults(StrictModel):
    """`defaults.src` / `defaults.dst`: any subset of an endpoint's fields."""

    instance_type: InstanceType | None = None
    db_type: NonEmpty | None = None
    region: NonEmpty | None = None
    host: NonEmpty | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    user: NonEmpty | None = None
    password: SecretRef | None = None
    instance_id: NonEmpty | None = None


class InitPositionDefaults(StrictModel):
    type: NonEmpty | None = None
    position: str | None = None


class PrecheckDefaults(StrictModel):
    timeout: Duration | None = None
    skip: list[NonEmpty] | None = None


class ApiOverridesDefaults(StrictModel):
    create: dict[str, Any] | None = None
    config: dict[str, Any] | None = None


class TaskDefaults(StrictModel):
    """`defaults:` -- deep-merged into every task of the file (the task's own keys win; lists are replaced).

    Every task field except `name` and `dependsOn`, all optional, nested objects partial.
    """

    state: Annotated[DesiredState, Field(strict=False)] | None = None
    type: Literal["migration"] | None = None
    product_type: Literal["postpay"] | None = None
    standard: Standard | None = None
    direction_type: Literal["single"] | None = None
    cross_region_tag: Literal[0, 1] | None = None
    src: EndpointDefaults | None = None
    dst: EndpointDefaults | None = None
    data_type: Annotated[list[DataType], Field(min_length=1)] | None = None
    granularity: Literal["instance", "dbtb"] | None = None
    objects: list[ObjectMapping] | None = None
    init_position: InitPositionDefaults | None = None
    precheck: PrecheckDefaults | None = None
    api: ApiOverridesDefaults | None = None

    @field_validator("standard", mode="before")
    @classmethod
    def _normalise_standard(cls, value: object) -> object:
        return _normalise_standard(value)


class Prune(StrictModel):
    prefix: Annotated[
        str,
        Field(
            pattern=TASK_NAME_PATTERN,  # a prefix of a task name is spelt like one
            description="live tasks whose name starts with this and that no manifest names are pruned",
        ),
    ]


class ManifestFile(StrictModel):
    """The top level of one manifest file. `defaults` is merged into each task by the loader."""

    version: Literal[1]
    defaults: TaskDefaults = Field(default_factory=TaskDefaults)
    tasks: list[TaskSpec] = Field(default_factory=list)
    prune: Prune | None = None
