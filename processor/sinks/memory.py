"""An in-memory sink: keeps what it receives (tests, dry runs)."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from processor.model import Event, StatusUpdate


class MemorySink:
    """Collects events and status updates in lists.

    Args:
        delay_s: seconds to sleep in every ``send`` (simulates a slow output in tests).
    """

    def __init__(self, *, delay_s: float = 0.0) -> None:
        self.events: list[Event] = []
        self.statuses: list[StatusUpdate] = []
        self.entered = False
        self.exited = False
        self._delay_s = delay_s

    async def __aenter__(self) -> Self:
        self.entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.exited = True

    async def send(self, event: Event) -> None:
        """Keep the event."""
        if self._delay_s:
            await asyncio.sleep(self._delay_s)
        self.events.append(event)

    async def status(self, update: StatusUpdate) -> None:
        """Keep the status update."""
        self.statuses.append(update)
