"""Replay of a recording as a Source: as fast as possible, in real time, or at another speed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

from processor.io.readers import RecordingReader
from processor.model import Chunk, SourceItem, StatusUpdate

# When replaying as fast as possible, let other tasks (sinks) run after this many items.
_YIELD_EVERY = 8


def item_end_s(item: SourceItem, fs_by_stream: dict[str, tuple[float, float]]) -> float | None:
    """Recording time (s) at which ``item`` would have been complete live; None if unknown."""
    if isinstance(item, Chunk):
        fs_by_stream[item.stream.name] = (item.stream.t0_s, item.stream.fs_hz)
        return item.stream.time_s(item.end_index)
    if isinstance(item, StatusUpdate):
        return None
    known = fs_by_stream.get(item.stream)
    if known is None:
        return None
    t0_s, fs_hz = known
    return t0_s + item.start_index / fs_hz


class ReplaySource:
    """Plays an opened recording as a stream of chunks and gaps.

    Args:
        reader: an opened recording (see :func:`processor.io.readers.open_recording`); the
            source closes it on exit.
        speed: None plays as fast as possible (yielding to the event loop now and then);
            1.0 paces chunks by their sample time on the loop clock (a chunk is released when
            its last sample would have arrived live); 2.0 twice as fast, and so on.
    """

    def __init__(self, reader: RecordingReader, *, speed: float | None = None) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.reader = reader
        self.speed = speed
        self.position_s = 0.0
        self._stopped = asyncio.Event()

    def stop(self) -> None:
        """End ``items()`` before its next item (a paced wait is cut short)."""
        self._stopped.set()

    @property
    def duration_s(self) -> float | None:
        """Length of the recording, when the reader knows it."""
        return self.reader.duration_s

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.reader.close()

    async def items(self) -> AsyncIterator[SourceItem]:
        """Yield the recording's items, paced when a speed is set, until the end or stop()."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        streams: dict[str, tuple[float, float]] = {}
        for count, item in enumerate(self.reader.items(), start=1):
            end_s = item_end_s(item, streams)
            if self.speed is None:
                if count % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            elif end_s is not None:
                await self._pause(started + end_s / self.speed - loop.time())
            if self._stopped.is_set():
                return  # the reader is closed on exit
            if end_s is not None:
                self.position_s = max(self.position_s, end_s)
            yield item

    async def _pause(self, delay_s: float) -> None:
        """Wait ``delay_s`` seconds, or less when stopped."""
        if delay_s <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay_s):
                await self._stopped.wait()
