"""The Source protocol shared by replay, BLE and emulated wearables."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Protocol, Self

from processor.model import SourceItem


class Source(Protocol):
    """An async context manager that yields chunks, gaps and status updates in time order."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def items(self) -> AsyncIterator[SourceItem]:
        """Yield items until the source ends (end of file, Ctrl-C, duration reached)."""
        ...
