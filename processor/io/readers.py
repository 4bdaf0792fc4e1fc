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


def open_recordings(
    path: Path, cfg: ReplayConfig, *, wearable: str | None = None
) -> list[tuple[str, RecordingReader]]:
    """Open every wearable of a recording: (wearable id, reader) pairs, to replay together.

    A ``.csv``/``.edf``/``.bdf`` file, or a ``.twrec`` with one wearable, gives one pair with
    the id "" (events carry no wearable). A ``.twrec`` with several wearables gives one pair
    per wearable (its id as recorded), each reader replaying that wearable only.

    Args:
        path: the recording.
        cfg: the ``[replay]`` section.
        wearable: replay only this wearable of a ``.twrec`` (None: all of them).

    Raises:
        RecordingError: as :func:`open_recording`; an unknown wearable, or one asked of a
            file that holds no wearable ids.
    """
    first = open_recording(path, cfg, wearable=wearable)
    declared: tuple[str, ...] = getattr(first, "wearables", ())
    if wearable is not None or len(declared) < 2:  # noqa: PLR2004 - one wearable: unnamed
        return [("" if wearable is None else wearable, first)]
    pairs: list[tuple[str, RecordingReader]] = [(declared[0], first)]
    try:
        pairs.extend((other, open_recording(path, cfg, wearable=other)) for other in declared[1:])
    except BaseException:
        for _, reader in pairs:
            reader.close()
        raise
    return pairs


def open_recording(
    path: Path, cfg: ReplayConfig, *, wearable: str | None = None
) -> RecordingReader:
    """Open a recording by its ending: ``.csv``, ``.edf``/``.bdf`` or the raw ``.twrec``.

    Args:
        path: the recording.
        cfg: the ``[replay]`` section.
        wearable: for a ``.twrec``, which wearable to replay (None: the first declared);
            other formats hold one unnamed wearable and reject this.

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
    if wearable is not None and suffix != ".twrec":
        raise RecordingError(f"{path}: wearable {wearable!r}: only .twrec recordings name any")
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
    reader: RecordingReader = open_raw(path, cfg, wearable=wearable)
    return reader
