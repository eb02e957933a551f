"""The DTS API as dtsflow's other modules see it: the `DtsClient` protocol.

`dtsflow.client.http.HttpDtsClient` is the implementation that talks to the network (the only one);
the planner never sees a client, and the executor and refresher know only this protocol.
"""

from __future__ import annotations

from typing import Any, Protocol

from dtsflow.live import LiveTask, PrecheckItem


class DtsClient(Protocol):
    """Every DTS operation dtsflow performs. Errors are `dtsflow.errors.ApiError`."""

    def list_tasks(self, *, status: str | None = None, page_size: int = 1000) -> list[LiveTask]:
        """All migration tasks, following `marker`/`nextMarker` until the last page."""
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

    def resize(self, dts_id: str, standard: str, *, client_token: str = "") -> str:
        """`PUT /v1/task/{id}?standard` -> orderId."""
        ...

    def close(self) -> None: ...
