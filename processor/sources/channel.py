"""A bounded, drop-counting FIFO from callbacks (producers that must never block) to a task."""

from __future__ import annotations

import asyncio
from collections import deque

from processor.model import RawNotification


class DropChannel:
    """FIFO between BLE callbacks and the consumer; notifications beyond capacity are dropped.

    ``offer`` never blocks and never raises: a notification that finds the buffer full is
    counted in ``dropped`` and discarded. Control items (status, end markers) always fit, so a
    link event is never lost behind a flood of data.
    """

    def __init__(self, capacity: int) -> None:
        self._items: deque[object] = deque()
        self._capacity = capacity
        self._notes = 0
        self._wake = asyncio.Event()
        self.dropped = 0

    def offer(self, note: RawNotification) -> None:
        """Enqueue a notification, or count it as dropped when the buffer is full."""
        if self._notes >= self._capacity:
            self.dropped += 1
            return
        self._notes += 1
        self._items.append(note)
        self._wake.set()

    def put_control(self, item: object) -> None:
        """Enqueue a control item (never dropped)."""
        self._items.append(item)
        self._wake.set()

    async def get(self) -> object:
        """The oldest item, waiting for one if the buffer is empty."""
        while not self._items:
            self._wake.clear()
            await self._wake.wait()
        item = self._items.popleft()
        if isinstance(item, RawNotification):
            self._notes -= 1
        return item
