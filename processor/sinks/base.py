"""The Sink protocol: every output (console, event log, history, MQTT) implements it."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from processor.model import Event, StatusUpdate


class Sink(Protocol):
    """An async context manager that receives events and wearable status updates."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def send(self, event: Event) -> None:
        """Deliver one event (must not block the event loop for long)."""
        ...

    async def status(self, update: StatusUpdate) -> None:
        """Deliver one wearable status update (connectivity, battery)."""
        ...
