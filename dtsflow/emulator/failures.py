"""The error answers of the emulator: an HTTP status and a BCE error code, rendered as the BCE error body."""

from __future__ import annotations


class ApiFailure(Exception):
    """Raised by any layer of the emulator to answer `{"requestId","code","message"}` with `status`."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def not_found(dts_id: str) -> ApiFailure:
    return ApiFailure(404, "InstanceNotExist", f"The task {dts_id} does not exist")


def bad_status(dts_id: str, action: str, status: str, detail: str = "") -> ApiFailure:
    extra = f" ({detail})" if detail else ""
    return ApiFailure(
        400,
        "InvalidInstanceStatus",
        f"The task {dts_id} is in status {status}{extra}; {action} is not allowed in this status",
    )


def invalid(message: str) -> ApiFailure:
    return ApiFailure(400, "InvalidParameter", message)
