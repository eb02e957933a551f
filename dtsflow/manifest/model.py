"""Manifest format v1 (docs/manifest.md): the pydantic models of what users write.

Strict readers: unknown keys are errors, and no error message echoes an input value
(`hide_input_in_errors`), so a mistyped password never reaches a terminal or a CI log.
Attributes are snake_case; the YAML keys are the camelCase aliases, matching the DTS API's names.

Passwords are never values here: the loader turns `{{ secret('NAME') }}` into a reference string
(`${secret:NAME}` or `${secret:file:/path}`). The value is read only while a request body is built
(`dtsflow.client.wire`, with the resolver apply hands it: `SecretPolicy.resolve` of `dtsflow.manifest.secrets`).
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails

from dtsflow.manifest.grammar import DURATION_PATTERN, SECRET_REF_PATTERN, TASK_NAME_PATTERN, parse_duration


class DesiredState(StrEnum):
    """What a task must be like after apply: its desired state."""

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
# The API's two levels: `sourceInstanceType`/`targetInstanceType` (and a connection's `instanceType`) take only
# `bcerds` (any Baidu cloud database) or `public` (any other store); the detailed type goes only into orderInfo.
TOP_LEVEL_CLOUD = "bcerds"
TOP_LEVEL_OTHER = "public"


def top_level_instance_type(detailed: str) -> str:
    """`bcerds` for a Baidu cloud database (RDS, DocDB, SCS, DDC, GaiaDB), `public` for everything else."""
    return TOP_LEVEL_CLOUD if detailed in CLOUD_INSTANCE_TYPES else TOP_LEVEL_OTHER


STANDARDS = ("small", "medium", "large", "xlarge")
# For editors: the JSON Schema's view of `standard` (case-insensitive; pydantic normalises to lower case).
STANDARD_PATTERN = "^(?:" + "|".join("".join(f"[{c}{c.upper()}]" for c in s) for s in STANDARDS) + ")$"
DataType = Literal["schema", "base", "increment"]
ObjectType = Literal["db", "table", "view", "function", "procedure"]


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


class LagGate(StrictModel):
    """`until:` -- once the task runs, apply waits until its replication delay is at most `lag`."""

    lag: Annotated[Duration, Field(description="the largest replication delay to wait for, such as 5s")]
    timeout: Annotated[Duration, Field(description="how long apply waits for it (default 30m)")] = "30m"

    @property
    def lag_seconds(self) -> float:
        return parse_duration(self.lag)

    @property
    def timeout_seconds(self) -> float:
        return parse_duration(self.timeout)


class Direction(StrEnum):
    """Which way a pair replicates: forward (source to destination, as declared) or reversed (the way back).

    The same values as `dtsflow.client.reverse.Direction`, which reads the live direction; kept apart so that
    loading a manifest does not load the client package."""

    FORWARD = "forward"
    REVERSED = "reversed"


DmlKind = Literal["insert", "update", "delete"]
DdlKind = Literal["drop", "truncate"]
"""The DDL statements the service's special DDL filter (`incrIgnoreType`) names: its documented `drop,truncate`."""
# A table of a column filter is `db.table`; names must not hold the wire format's separators (`[`, `]`, `,`, `;`).
TABLE_NAME_PATTERN = r"^[^.\s\[\],;]+\.[^.\s\[\],;]+$"
COLUMN_NAME_PATTERN = r"^[^\s\[\],;]+$"
TableName = Annotated[str, Field(pattern=TABLE_NAME_PATTERN, description="db.table")]
ColumnName = Annotated[str, Field(pattern=COLUMN_NAME_PATTERN, description="a column name")]
ColumnLists = Annotated[dict[TableName, Annotated[list[ColumnName], Field(min_length=1)]], Field(min_length=1)]


class ColumnFilters(StrictModel):
    """`columns:` -- which columns of a table are migrated: the API's column filters of the source connection."""

    include: Annotated[
        ColumnLists | None,
        Field(
            description="`db.table: [columns]`: only these columns of the table are migrated "
            "(`srcConnection.field_whitelist` on the wire, e.g. `shop.orders[id,total];`)"
        ),
    ] = None
    exclude: Annotated[
        ColumnLists | None,
        Field(
            description="`db.table: [columns]`: every column of the table but these is migrated "
            "(`srcConnection.field_blacklist` on the wire)"
        ),
    ] = None


_INCREMENT_ONLY: tuple[DataType, ...] = ("increment",)  # the way back replicates changes only (the docs' example)


class SwitchPosition(StrictModel):
    """Where the switched-to direction starts reading; without it, from the latest position."""

    type: Literal["binlog", "gtidset", "timestamp"]
    position: NonEmpty


class ReverseSpec(StrictModel):
    """`reverse:` -- the way back: the service's one-click reverse pair, destination -> source."""

    direction: Annotated[Direction, Field(strict=False)] = Direction.FORWARD
    data_type: Annotated[list[DataType], Field(min_length=1)] = Field(default_factory=lambda: list(_INCREMENT_ONLY))
    dml: Annotated[list[DmlKind], Field(min_length=1)] | None = None
    """Which changes the way back applies (the DML filter, `sqlType` on the wire); None = all."""
    objects: list[ObjectMapping] | None = None
    """None: the forward objects with src and dst swapped."""
    position: SwitchPosition | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    """Raw fields deep-merged into the reverse direction's configuration (`dtsTaskNeg`)."""


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
    standard: Standard | None = None  # required unless `state: absent` (see _what_to_migrate)
    direction_type: Literal["single"] = "single"
    cross_region_tag: Literal[0, 1] | None = None
    src: Endpoint | None = None
    dst: Endpoint | None = None
    data_type: Annotated[list[DataType], Field(min_length=1)] | None = None
    granularity: Literal["instance", "dbtb"] = "dbtb"
    objects: list[ObjectMapping] = Field(default_factory=list)
    columns: Annotated[
        ColumnFilters | None,
        Field(description="column filters by table (`srcConnection.field_whitelist` / `field_blacklist`)"),
    ] = None
    dml: Annotated[
        Annotated[list[DmlKind], Field(min_length=1)] | None,
        Field(
            description="the changes replicated: any of insert, update, delete; default all "
            "(the DML filter, `dstConnection.sqlType` on the wire, e.g. `I,U`)"
        ),
    ] = None
    ignore_ddl: Annotated[
        Annotated[list[DdlKind], Field(min_length=1)] | None,
        Field(
            description="DDL statements not replicated: drop, truncate; default none "
            "(the special DDL filter, `incrIgnoreType` on the wire, e.g. `drop,truncate`)"
        ),
    ] = None
    queue_type: Annotated[
        NonEmpty | None, Field(description="`queueType` on the wire, sent as written (its values are not documented)")
    ] = None
    net_type: Annotated[
        NonEmpty | None, Field(description="`netType` on the wire, sent as written (its values are not documented)")
    ] = None
    init_position: InitPosition | None = None
    precheck: PrecheckPolicy = Field(default_factory=PrecheckPolicy)
    depends_on: list[NonEmpty] = Field(default_factory=list)
    previous_names: Annotated[
        list[NonEmpty],
        Field(
            description="names this task had before: when no live task has `name` but one has a previous name, the "
            "plan renames that live task instead of creating a new one"
        ),
    ] = Field(default_factory=list)
    until: LagGate | None = None
    reverse: ReverseSpec | None = None
    api: ApiOverrides = Field(default_factory=ApiOverrides)
    adopt: Annotated[
        bool,
        Field(
            description="take over a live task of this name that dtsflow did not create (it lacks dtsflow's tag); "
            "the plan shows the adoption and apply tags the task"
        ),
    ] = False

    @field_validator("standard", mode="before")
    @classmethod
    def _normalise_standard(cls, value: object) -> object:
        return _normalise_standard(value)

    @model_validator(mode="wrap")
    @classmethod
    def _what_to_migrate(cls, data: Any, handler: ModelWrapValidatorHandler[TaskSpec]) -> TaskSpec:
        """standard, src, dst and dataType are required unless `state: absent`: a task to delete needs only its name
        (what is given is validated all the same). A missing one is `missing` at its own path, with the other
        errors of the task."""
        missing: list[InitErrorDetails] = []
        if isinstance(data, dict) and data.get("state", DesiredState.RUNNING.value) != DesiredState.ABSENT.value:
            missing = [
                InitErrorDetails(type="missing", loc=(alias,), input=data)
                for alias, name in WHAT_TO_MIGRATE
                if data.get(alias) is None and data.get(name) is None
            ]
        try:
            spec = handler(data)
        except ValidationError as exc:
            if not missing:
                raise
            errors = [
                InitErrorDetails(type=e["type"], loc=e["loc"], input=e["input"], ctx=e.get("ctx", {}))
                for e in exc.errors()
            ]
            raise ValidationError.from_exception_data(cls.__name__, missing + errors, hide_input=True) from None
        if missing:
            raise ValidationError.from_exception_data(cls.__name__, missing, hide_input=True)
        return spec

    @property
    def complete(self) -> bool:
        """Whether the task says what to migrate: every task but one with `state: absent` given by name only."""
        return None not in (self.standard, self.src, self.dst, self.data_type)

    def ends(self) -> tuple[Endpoint, Endpoint]:
        """(src, dst), for code that only runs for a task that has them (validation made sure of it)."""
        if self.src is None or self.dst is None:
            raise ValueError(f"task {self.name} names no src and dst (state: absent)")
        return self.src, self.dst

    def data_types(self) -> list[DataType]:
        """dataType, for code that only runs for a task that has it."""
        if self.data_type is None:
            raise ValueError(f"task {self.name} names no dataType (state: absent)")
        return self.data_type

    @property
    def incremental(self) -> bool:
        """Whether the task keeps replicating after its load (`increment` in dataType)."""
        return self.data_type is not None and "increment" in self.data_type

    @property
    def desired_direction(self) -> Direction | None:
        """The direction a pair must replicate in; None for a task without `reverse:`."""
        return self.reverse.direction if self.reverse is not None else None

    @property
    def derived_cross_region_tag(self) -> int:
        """1 iff both ends are Baidu cloud databases (any of them, SCS to SCS too) in different regions."""
        if self.src is None or self.dst is None:
            return 0
        both_cloud = self.src.instance_type in CLOUD_INSTANCE_TYPES and self.dst.instance_type in CLOUD_INSTANCE_TYPES
        return 1 if both_cloud and self.src.region != self.dst.region else 0


WHAT_TO_MIGRATE = (("standard", "standard"), ("src", "src"), ("dst", "dst"), ("dataType", "data_type"))
"""The task fields (alias, attribute) that only a task with `state: absent` may leave out."""


def _without_none(annotation: Any) -> Any:
    """`X | None` -> `X`; anything else unchanged."""
    args = get_args(annotation)
    if get_origin(annotation) in (Union, UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


@cache
def defaults_model(
    spec: type[StrictModel], *, name: str | None = None, exclude: frozenset[str] = frozenset(), doc: str | None = None
) -> type[StrictModel]:
    """The `defaults:` form of a spec model, generated rather than mirrored: every field of `spec` (but `exclude`)
    optional with no default, keeping its constraints and description; a nested model becomes its own defaults
    model (partial too), a list stays whole (a task's list replaces the default's). The spec's field validators
    apply to the same fields."""
    fields: dict[str, Any] = {}
    for field_name, info in spec.model_fields.items():
        if field_name in exclude:
            continue
        annotation = _without_none(info.annotation)
        if isinstance(annotation, type) and issubclass(annotation, StrictModel):
            fields[field_name] = (defaults_model(annotation) | None, None)
            continue
        marks = [*([Field(description=info.description)] if info.description else []), *info.metadata]
        inner = Annotated[(annotation, *marks)] if marks else annotation
        fields[field_name] = (inner | None, None)
    validators: dict[str, Any] = {
        f"_{key}": field_validator(*d.info.fields, mode=d.info.mode)(classmethod(getattr(d.func, "__func__", d.func)))
        for key, d in spec.__pydantic_decorators__.field_validators.items()
        if all(f in fields for f in d.info.fields)
    }
    model: type[StrictModel] = create_model(
        name or _DEFAULTS_NAMES.get(spec.__name__, f"{spec.__name__}Defaults"),
        __base__=StrictModel,
        __doc__=doc or _DEFAULTS_DOCS.get(spec.__name__),
        __module__=__name__,
        __validators__=validators,
        **fields,
    )
    return model


_DEFAULTS_NAMES = {"PrecheckPolicy": "PrecheckDefaults"}
"""The one defaults model whose name is not its spec's plus `Defaults` (kept as the schema has always named it)."""
_DEFAULTS_DOCS = {"Endpoint": "`defaults.src` / `defaults.dst`: any subset of an endpoint's fields."}

if TYPE_CHECKING:  # a generated model: to mypy, a strict model like any other
    TaskDefaults = StrictModel
else:
    TaskDefaults = defaults_model(
        TaskSpec,
        name="TaskDefaults",
        exclude=frozenset({"name", "depends_on", "previous_names", "reverse", "adopt"}),
        doc="""`defaults:` -- deep-merged into every task of the file (the task's own keys win; lists are replaced).

        Every task field except `name`, `dependsOn`, `previousNames`, `reverse` (one task's way back) and `adopt`
        (taking over a task is decided task by task), all optional, nested objects partial.
        """,
    )


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
