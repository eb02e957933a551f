"""One call run ahead in a daemon thread, for latency that can overlap other work (the next list page while this
one is parsed, the other task types' lists while the migration tasks are listed).

A daemon thread, so that a Ctrl-C ends the command without waiting for a call in flight. Standard library only, so
any layer may import it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """`call()` started now in its own thread; `result()` waits for it and returns its value or raises what it
    raised; `settle()` waits for it to end, whatever it returns or raises."""

    def __init__(self, call: Callable[[], T], *, name: str = "dtsflow-background") -> None:
        self._call = call
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> T:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set by _run when no error was raised

    def settle(self) -> None:
        self._done.wait()
