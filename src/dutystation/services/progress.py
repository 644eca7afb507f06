"""How a long-running service reports progress without knowing who listens.

A service calls ``progress.advance(rows=..., bytes_done=...)`` as batches go by; the CLI
passes a Rich bar, scripts pass nothing (``NullProgress``)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, description: str, total_bytes: int | None) -> None: ...

    def advance(self, *, rows: int, bytes_done: int) -> None: ...

    def finish(self) -> None: ...


class NullProgress:
    def start(self, description: str, total_bytes: int | None) -> None:
        pass

    def advance(self, *, rows: int, bytes_done: int) -> None:
        pass

    def finish(self) -> None:
        pass
