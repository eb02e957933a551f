"""The DTS API as dtsflow's other modules see it: the `DtsClient` protocol.

`dtsflow.client.http.HttpDtsClient` is the implementation that talks to the network (the only one);
the planner never sees a client, and the executor and refresher know only this protocol.
"""

from __future__ import annotations

from typing import Any, Protocol

from dtsflow.client.live import LiveTask, PairPrecheck, PrecheckItem


class DtsClient(Protocol):
    """Every DTS operation dtsflow performs. Errors are `dtsflow.errors.ApiError`."""

    def list_tasks(
        self, *, status: str | None = None, page_size: int = 1000, task_type: str = "migration"
    ) -> list[LiveTask]:
        """All tasks of one type (`migration`, `bidirect`, `group`, `rollback`), following `nextMarker`."""
        ...

    def get_task(self, dts_id: str) -> LiveTask: ...

    def create_task(self, body: dict[str, Any], *, client_token: str) -> str:
        """`POST /v1/task?clientToken=...` -> the new (or, for a repeated token, the original) dtsId."""
        ...

    def config_task(self, dts_id: str, body: dict[str, Any]) -> None: ...

    def precheck(self, dts_id: str) -> None: ...

    def get_precheck(self, dts_id: str) -> list[PrecheckItem]: ...

    def skip_precheck(self, dts_id: str) -> None: ...

    def start(self, dts_id: str) -> None: ...

    def pause(self, dts_id: str) -> None: ...

    def shutdown(self, dts_id: str) -> None: ...

    def delete(self, dts_id: str) -> None: ...

    def rename(self, dts_id: str, name: str) -> None: ...

    def assign_tags(self, dts_id: str, tags: list[dict[str, str]]) -> None:
        """`PUT /v1/task/tag/assign` for one task (its tags become exactly `tags`)."""
        ...

    def resize(self, dts_id: str, standard: str, *, client_token: str = "") -> str:
        """`PUT /v1/task/{id}?standard` -> orderId."""
        ...

    def rollback_config(self, dts_id: str, body: dict[str, Any]) -> None:
        """`POST /v1/task/{id}/newRollback/config`: both directions of a one-click reverse pair."""
        ...

    def get_rollback_precheck(self, dts_id: str) -> PairPrecheck:
        """`GET /v1/task/{id}/rollback/precheck`."""
        ...

    def rollback_delay(self, dts_id: str) -> float:
        """`POST /v1/task/{id}/newRollbackCheck` -> the pair's delay in seconds."""
        ...

    def switch(self, dts_id: str, position: dict[str, str] | None = None) -> None:
        """`POST /v1/task/{id}/rollback`: switch which direction of the pair replicates."""
        ...

    def close(self) -> None: ...
