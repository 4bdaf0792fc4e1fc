"""The event log sink: JSON Lines (interfaces.md section 3), appended and flushed line by line."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from processor.errors import InputError, SinkError
from processor.model import Event, StatusUpdate
from processor.sinks.serialize import event_to_json


class EventLogSink:
    """Appends one JSON object per emitted event to a file.

    Each line is flushed as it is written, so a crash loses nothing already written; the file
    is fsynced on close. An existing file is appended to, never truncated.

    Raises:
        InputError: on enter, when the file cannot be opened for appending (names the file).
        SinkError: when a write fails later (disk full, file system gone).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None
        self.lines_written = 0

    async def __aenter__(self) -> Self:
        try:
            self._file = self.path.open("a", encoding="utf-8", buffering=1)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot write the event log ({exc.strerror})") from None
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is None:
            return
        file, self._file = self._file, None
        try:
            file.flush()
            os.fsync(file.fileno())
        except OSError as err:
            raise SinkError(f"{self.path}: event log not saved ({err.strerror})") from None
        finally:
            file.close()

    async def send(self, event: Event) -> None:
        """Append the event's line and flush it."""
        if self._file is None:
            raise SinkError(f"{self.path}: event log is not open")
        try:
            self._file.write(event_to_json(event) + "\n")
            self._file.flush()
        except OSError as exc:
            raise SinkError(f"{self.path}: cannot write the event log ({exc.strerror})") from None
        self.lines_written += 1

    async def status(self, update: StatusUpdate) -> None:
        """Status updates are not events: the event log ignores them."""
