"""Plain values for planner tests: manifest tasks, live tasks as the API would describe them, manifests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dtsflow.client.live import LiveTask
from dtsflow.client.wire import config_body, create_body, managed_tags
from dtsflow.manifest.model import TaskSpec

SECRET_REF = "${secret:ORDERS_DB_PASSWORD}"


def spec(name: str = "orders", **overrides: Any) -> TaskSpec:
    """A valid manifest task; `overrides` use the YAML (camelCase) keys."""
    data: dict[str, Any] = {
        "name": name,
        "state": "running",
        "standard": "large",
        "src": {
            "instanceType": "public",
            "dbType": "mysql",
            "region": "bj",
            "host": "10.0.0.12",
            "port": 3306,
            "user": "dts_reader",
            "password": SECRET_REF,
        },
        "dst": {"instanceType": "public", "dbType": "kafka", "region": "bj", "host": "kafka.internal", "port": 9092},
        "dataType": ["schema", "base", "increment"],
        "objects": [{"type": "table", "src": "orders.items"}],
    }
    data.update(overrides)
    return TaskSpec.model_validate(data, strict=False)


def live(
    task: TaskSpec | None, status: str, *, dts_id: str | None = None, name: str | None = None, **extra: Any
) -> LiveTask:
    """The live task the API would return for `task` after create + config, in `status` (API-style casing)."""
    doc: dict[str, Any] = {"dtsId": dts_id or f"dtsm{(name or (task.name if task else 'x'))}", "status": status}
    if task is not None:
        body = config_body(task)
        create = create_body(task)
        doc.update({k: v for k, v in body.items() if k != "type"})
        doc["payInfo"] = {
            "productType": create["productType"],
            "sourceInstanceType": create["sourceInstanceType"],
            "targetInstanceType": create["targetInstanceType"],
            "crossRegionTag": create["crossRegionTag"],
            "standard": str(create["standard"]).capitalize(),  # the API answers "Large"
            "createTime": 1700000000,
        }
        doc["srcConnection"]["dbPort"] = str(doc["srcConnection"].get("dbPort", ""))  # the API may answer a string
        doc["dynamicInfo"] = {"base": [{"current": "1", "count": "10"}]}
    if name is not None:
        doc["taskName"] = name
    doc["tags"] = managed_tags()  # created by dtsflow; pass tags=[] for a task made in the console
    doc.update(extra)
    return LiveTask.model_validate(doc)


@dataclass
class Manifests:
    tasks: dict[str, TaskSpec]
    prune_prefixes: list[str] = field(default_factory=list)
    digest: str = "sha256:test"
    paths: list[str] = field(default_factory=lambda: ["tasks.yaml"])


def manifests(*specs: TaskSpec, prune: Sequence[str] = (), digest: str = "sha256:test") -> Manifests:
    return Manifests(tasks={s.name: s for s in specs}, prune_prefixes=list(prune), digest=digest)
