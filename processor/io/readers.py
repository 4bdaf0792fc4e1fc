"""Opening recordings: one entry point that picks the reader by the file's ending.

Every reader yields :class:`~processor.model.Chunk` and :class:`~processor.model.Gap` items of
all its streams interleaved in time order, in bounded memory, and raises
:class:`~processor.errors.RecordingError` (one line naming the file) on bad input.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from processor.config.io import ReplayConfig
from processor.errors import RecordingError
from processor.model import Chunk, Gap

SUPPORTED_SUFFIXES = (".csv", ".edf", ".bdf", ".twrec")


class RecordingReader(Protocol):
    """A recording opened for streaming (also a context manager that closes it)."""

    path: Path

    @property
    def duration_s(self) -> float | None:
        """Length of the recording in seconds when known cheaply (for progress bars)."""
        ...

    def items(self) -> Iterator[Chunk | Gap]:
        """Yield chunks and gaps of every stream in time order (one pass)."""
        ...

    def close(self) -> None:
        """Release the file."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def open_recording(path: Path, cfg: ReplayConfig) -> RecordingReader:
    """Open a recording by its ending: ``.csv``, ``.edf``/``.bdf`` or the raw ``.twrec``.

    Raises:
        RecordingError: missing file, unknown ending, or a header the reader rejects.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        known = ", ".join(SUPPORTED_SUFFIXES)
        raise RecordingError(f"{path}: unknown recording format {suffix or '(none)'!r} ({known})")
    if not path.exists():
        raise RecordingError(f"{path}: file not found")
    if path.is_dir():
        raise RecordingError(f"{path}: is a directory, not a recording")
    if suffix == ".csv":
        from processor.io.csv_reader import CsvReader  # noqa: PLC0415 - only load what is used

        return CsvReader(path, cfg)
    if suffix in {".edf", ".bdf"}:
        from processor.io.edf_reader import EdfReader  # noqa: PLC0415 - pyedflib is slow to load

        return EdfReader(path, cfg)
    try:
        from processor.io.rawrec import (  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415
            open_raw,
        )
    except ModuleNotFoundError as exc:
        if exc.name != "processor.io.rawrec":
            raise
        raise RecordingError(
            f"{path}: raw .twrec recordings are not supported by this build"
        ) from None
    reader: RecordingReader = open_raw(path, cfg)
    return reader
