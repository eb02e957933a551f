"""The response models read what the documentation allows the service to send.

`doc_examples/` holds the response examples of the API documentation (written out in its Jackson style, with
`null` for unused fields). Every one must parse, every field of every response model may be `null` (read as
absent), and a field the models do not know never breaks parsing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from dtsflow.client import live, models
from dtsflow.client.live import LiveConnection, LiveInitPosition, LiveSchema, LiveTask, PayInfo, PrecheckItem
from dtsflow.client.models import (
    CreatedTask,
    CreateTaskResponse,
    GetPrecheckResponse,
    ListTasksResponse,
    ResizeResponse,
    RollbackCheckResponse,
    RollbackCheckResult,
    RollbackDelay,
    RollbackPrecheckResponse,
    RollbackPrecheckResult,
    SuccessResponse,
)

EXAMPLES = Path(__file__).parent / "doc_examples"

# Which model reads which documented example.
EXAMPLE_MODELS: dict[str, type[BaseModel]] = {
    "create.json": CreateTaskResponse,
    "get_detail.json": LiveTask,
    "get_detail_unconfigured.json": LiveTask,
    "list.json": ListTasksResponse,
    "list_go.json": ListTasksResponse,
    "config.json": SuccessResponse,
    "precheck.json": SuccessResponse,
    "get_precheck.json": GetPrecheckResponse,
    "skip_precheck.json": SuccessResponse,
    "start.json": SuccessResponse,
    "pause.json": SuccessResponse,
    "delete.json": SuccessResponse,
    "resize.json": ResizeResponse,
    "rollback_precheck.json": RollbackPrecheckResponse,
    "rollback_check.json": RollbackCheckResponse,
}


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def test_every_example_file_has_a_model() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == sorted(EXAMPLE_MODELS)


@pytest.mark.parametrize("name", sorted(EXAMPLE_MODELS))
def test_documented_example_parses(name: str) -> None:
    EXAMPLE_MODELS[name].model_validate(example(name))


def test_detail_example_reads_as_documented() -> None:
    task = LiveTask.model_validate(example("get_detail.json"))
    assert task.dts_id == "dtsmxxxyyy" and task.status == "running"
    assert task.src_connection.field_whitelist == "" and task.src_connection.db_port == 3306
    assert task.schema_mapping[0].where == "id > 1 AND status = 'success'"
    assert task.pay_info.standard == "Large" and task.running_time == 20


def test_unconfigured_task_carries_only_its_id() -> None:
    task = LiveTask.model_validate(example("get_detail_unconfigured.json"))
    assert (task.dts_id, task.status, task.task_name, task.data_type) == ("dtsmxxxyyy", "unConfig", "", [])
    assert task.src_connection == LiveConnection() and task.pay_info == PayInfo()


def test_old_list_flag_truncated_and_a_null_task_page() -> None:
    page = ListTasksResponse.model_validate(example("list.json"))
    assert page.more and page.next_marker == "dtsmxxxzzz" and [t.dts_id for t in page.task] == ["dtsmxxxyyy"]


def test_list_entries_without_an_id_are_left_out() -> None:
    page = ListTasksResponse.model_validate({"task": [None, {"dtsId": None}, {"dtsId": "dtsm1"}], "nextMarker": None})
    assert [t.dts_id for t in page.task] == ["dtsm1"] and page.next_marker == "" and not page.more


# Each response model with a complete document (from the examples) to null one field of at a time.
_DETAIL = example("get_detail.json")
_TAG = {"tagKey": "managed-by", "tagValue": "dtsflow"}  # tags: not in the documented examples (see docs/plan.md)
FULL_DOCUMENTS: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (LiveTask, {**_DETAIL, "tags": [_TAG]}),
    (live.LiveTag, _TAG),
    (LiveConnection, _DETAIL["srcConnection"]),
    (LiveSchema, _DETAIL["schemaMapping"][0]),
    (LiveInitPosition, _DETAIL["initPosition"]),
    (PayInfo, _DETAIL["payInfo"]),
    (PrecheckItem, {**example("get_precheck.json")["result"][0], "message": "ok"}),
    (CreatedTask, example("create.json")["dtsTasks"][0]),
    (CreateTaskResponse, example("create.json")),
    (ListTasksResponse, {**example("list_go.json"), "truncated": False}),
    (models.ListPageHead, {**example("list_go.json"), "truncated": False}),
    (SuccessResponse, {"success": True, "message": "ok", "result": {}}),
    (GetPrecheckResponse, example("get_precheck.json")),
    (ResizeResponse, example("resize.json")),
    (RollbackPrecheckResponse, example("rollback_precheck.json")),
    (RollbackPrecheckResult, example("rollback_precheck.json")["result"]),
    (RollbackCheckResponse, {**example("rollback_check.json"), "message": "ok"}),
    (RollbackCheckResult, example("rollback_check.json")["result"]),
    (RollbackDelay, example("rollback_check.json")["result"]["data"][0]),
    (
        live.PairPrecheck,
        {
            k: example("rollback_precheck.json")["result"][f"{p}CheckResults"]
            for k, p in (("forward", "pos"), ("reverse", "neg"))
        },
    ),
]
REQUIRED = {(LiveTask, "dts_id")}  # a task without its id names nothing (see the list and get tests)


def _cases() -> list[tuple[type[BaseModel], dict[str, Any], str, str]]:
    cases = []
    for model, doc in FULL_DOCUMENTS:
        for name, info in model.model_fields.items():
            if (model, name) not in REQUIRED:
                cases.append((model, doc, name, info.alias or name))
    return cases


def _response_models() -> set[type[BaseModel]]:
    """Every response model the client defines (subclasses of the two tolerant bases), found, not listed."""
    found: set[type[BaseModel]] = set()
    for module in (live, models):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, live.ApiModel | models._Response)
                and value not in (live.ApiModel, models._Response)
            ):
                found.add(value)
    return found


def test_every_response_model_is_covered() -> None:
    assert {model for model, _ in FULL_DOCUMENTS} == _response_models()


@pytest.mark.parametrize(
    ("model", "doc", "field", "alias"), _cases(), ids=lambda v: v if isinstance(v, str) else getattr(v, "__name__", "")
)
def test_null_field_reads_as_absent(model: type[BaseModel], doc: dict[str, Any], field: str, alias: str) -> None:
    assert alias in doc, f"{model.__name__}: the full document lacks {alias}"
    parsed = model.model_validate({**doc, alias: None})
    default = model.model_fields[field].get_default(call_default_factory=True)
    assert getattr(parsed, field) == default


def test_unknown_fields_never_break_parsing() -> None:
    odd = {"someNewField": {"nested": [1, None]}, "anotherOne": None, "x": [{"y": "z"}]}
    for model, doc in FULL_DOCUMENTS:
        model.model_validate({**doc, **odd})


def test_numbers_where_text_is_read() -> None:
    task = LiveTask.model_validate({"dtsId": 12345, "createTime": 1607606650, "taskName": 7})
    assert (task.dts_id, task.create_time, task.task_name) == ("12345", "1607606650", "7")
    assert ResizeResponse.model_validate({"orderId": 98765432111111}).order_id == "98765432111111"
