"""Shared helpers of the file readers: chunk sizing and regrouping rows into fixed-size chunks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from processor.model import Chunk, FloatArray, Gap, StreamInfo


def chunk_samples(chunk_ms: float, fs_hz: float) -> int:
    """Samples per chunk for a stream at ``fs_hz`` when chunks last ``chunk_ms`` (at least 1)."""
    return max(1, round(chunk_ms * fs_hz / 1000.0))


class Rechunker:
    """Regroups contiguous blocks of rows into chunks of a fixed number of rows.

    Several streams may share one row clock (CSV: EMG and ACC columns of the same row); each
    stream takes its own columns of the row matrix. A gap closes the current chunk early, so a
    chunk never spans a hole.

    Args:
        streams: each stream with the column indices it takes from the row matrix.
        rows_per_chunk: rows per emitted chunk (the last chunk before a gap or the end is shorter).
    """

    def __init__(
        self, streams: Sequence[tuple[StreamInfo, Sequence[int]]], rows_per_chunk: int
    ) -> None:
        self._streams = [(info, np.asarray(cols, dtype=np.intp)) for info, cols in streams]
        self._rows_per_chunk = rows_per_chunk
        self._parts: list[FloatArray] = []
        self._buffered = 0
        self._start_index = 0

    @property
    def next_index(self) -> int:
        """Index of the row that the next pushed block must start with."""
        return self._start_index + self._buffered

    def push(self, rows: FloatArray) -> Iterator[Chunk]:
        """Append contiguous rows (shape (n, n_columns)); yield every chunk that is now full."""
        start = 0
        while start < rows.shape[0]:
            take = min(self._rows_per_chunk - self._buffered, rows.shape[0] - start)
            self._parts.append(rows[start : start + take])
            self._buffered += take
            start += take
            if self._buffered == self._rows_per_chunk:
                yield from self._emit()

    def gap(self, n_missing: int, reason: str) -> Iterator[Chunk | Gap]:
        """Close the current chunk, then report ``n_missing`` rows missing in every stream."""
        yield from self._emit()
        for info, _ in self._streams:
            yield Gap(info.name, self._start_index, n_missing, reason)
        self._start_index += n_missing

    def finish(self) -> Iterator[Chunk]:
        """Yield the rows still buffered (end of the recording)."""
        yield from self._emit()

    def _emit(self) -> Iterator[Chunk]:
        if not self._buffered:
            return
        block = self._parts[0] if len(self._parts) == 1 else np.concatenate(self._parts)
        for info, cols in self._streams:
            data = np.ascontiguousarray(block[:, cols], dtype=np.float64)
            yield Chunk(info, self._start_index, data)
        self._start_index += self._buffered
        self._parts = []
        self._buffered = 0
