"""Interchange CSV reader (interfaces.md section 2a), streamed in blocks of lines.

Lines are read in blocks of about ``_BLOCK_BYTES`` (2 MiB of text) and each block is parsed
by numpy's C tokenizer (no per-row Python), so memory stays flat and a 1-hour 8-channel file
reads in seconds. Only when a block fails to parse are its lines walked one by one, to name the
exact line and column in the error.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

import numpy as np

from processor.config.io import ReplayConfig
from processor.errors import RecordingError
from processor.io._closing import ClosesOnExit
from processor.io._timeline import Rechunker, chunk_samples
from processor.model import Chunk, FloatArray, Gap, StreamInfo

_BLOCK_BYTES = 1 << 21
T = TypeVar("T")

_ACC_COLUMNS = ("acc_x", "acc_y", "acc_z")
_TAIL_BYTES = 4096
# A step longer than this many nominal periods is a gap (plus ReplayConfig.max_gap_ms).
_GAP_PERIODS = 1.5
_MIN_ROWS = 2


@dataclass(frozen=True, slots=True)
class _Layout:
    """Which header columns are read: time first, then EMG, then (optionally) ACC."""

    delimiter: str
    names: tuple[str, ...]
    emg: tuple[str, ...]
    used: tuple[int, ...]
    has_acc: bool


def _split_header(line: str) -> tuple[str, list[str]]:
    for delimiter in (",", "\t", ";"):
        if delimiter in line:
            return delimiter, [name.strip() for name in line.split(delimiter)]
    return ",", [line.strip()]


def _parse_header(path: Path, line: str, line_no: int) -> _Layout:
    delimiter, names = _split_header(line)
    where = f"{path}: line {line_no}"
    try:
        float(names[0])
    except ValueError:
        pass
    else:
        raise RecordingError(f"{where}: no header row (expected column names starting with time_s)")
    lowered = [name.lower() for name in names]
    duplicates = sorted({n for n in lowered if lowered.count(n) > 1 and n})
    if duplicates:
        raise RecordingError(f"{where}: duplicated column {duplicates[0]!r} in the header")
    if lowered[0] != "time_s":
        found = "is not the first column" if "time_s" in lowered else "is missing"
        raise RecordingError(f"{where}: column time_s {found} (header: {line.strip()!r})")
    emg = [i for i, n in enumerate(lowered) if n == "emg" or n.startswith("emg_")]
    if not emg:
        raise RecordingError(f"{where}: no EMG column (expected 'emg' or 'emg_<name>')")
    acc = [lowered.index(n) for n in _ACC_COLUMNS if n in lowered]
    if acc and len(acc) != len(_ACC_COLUMNS):
        missing = ", ".join(n for n in _ACC_COLUMNS if n not in lowered)
        raise RecordingError(f"{where}: accelerometer columns incomplete (missing {missing})")
    return _Layout(
        delimiter=delimiter,
        names=tuple(names),
        emg=tuple(names[i] for i in emg),
        used=(0, *emg, *acc),
        has_acc=bool(acc),
    )


@dataclass(frozen=True, slots=True)
class _Block:
    """Parsed rows of a block of lines; ``error`` is the bad line that ended the rows early."""

    rows: FloatArray
    first_line: int
    lines: list[str]
    error: RecordingError | None = None


class CsvReader(ClosesOnExit):
    """Streams a ``.csv`` recording as EMG (µV) and optional ACC (g) chunks plus gaps.

    The row rate is 1 / median(diff(time_s)) over the first block of rows (2 MiB of text: some
    30 000 to 70 000 rows, depending on the columns), so the file is read once. A step in ``time_s``
    longer than 1.5 periods (plus ``cfg.max_gap_ms``) is reported as a :class:`Gap` with the
    estimated number of missing rows.

    Raises:
        RecordingError: at open: missing/unreadable file, no header, no time_s or EMG column,
            fewer than 2 good data rows. From ``items()``, after every row before the bad line
            was yielded: non-increasing times, empty, non-numeric or non-finite cells, a wrong
            number of columns (names line and column).
    """

    def __init__(self, path: Path, cfg: ReplayConfig) -> None:
        self.path = path
        try:
            self._file: IO[str] = path.open(encoding="utf-8-sig")
        except FileNotFoundError:
            raise RecordingError(f"{path}: file not found") from None
        except OSError as exc:
            raise RecordingError(f"{path}: cannot open ({exc.strerror})") from None
        try:
            self._layout, self._line_no = self._read_header()
            self._first_block: _Block | None = self._read_first_block()
        except BaseException:
            self._file.close()
            raise
        rows = self._first_block.rows[: self._first_good_rows]
        self.fs_hz = float(f"{1.0 / float(np.median(np.diff(rows[:, 0]))):.9g}")
        self._t_first = float(rows[0, 0])
        self._gap_s = _GAP_PERIODS / self.fs_hz + cfg.max_gap_ms / 1000.0
        self._rows_per_chunk = chunk_samples(cfg.chunk_ms, self.fs_hz)
        self.duration_s = self._duration_from_tail()
        layout = self._layout
        self.streams = [StreamInfo("emg", self.fs_hz, layout.emg, "uV")]
        if layout.has_acc:
            self.streams.append(StreamInfo("acc", self.fs_hz, _ACC_COLUMNS, "g"))

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._file.close()

    def items(self) -> Iterator[Chunk | Gap]:
        """Yield EMG and ACC chunks (same start index, EMG first) and gaps, in time order."""
        n_emg = len(self._layout.emg)
        streams = [(self.streams[0], range(n_emg))]
        if self._layout.has_acc:
            streams.append((self.streams[1], range(n_emg, n_emg + 3)))
        rechunker = Rechunker(streams, self._rows_per_chunk)
        prev_t: float | None = None
        while (block := self._take_block()) is not None:
            rows, error = block.rows, block.error
            if (bad := self._time_error(rows[:, 0], prev_t, block)) is not None:
                good_rows, error = bad
                rows = rows[:good_rows]
            if rows.shape[0]:
                yield from self._split_at_gaps(rechunker, rows, prev_t)
                prev_t = float(rows[-1, 0])
            if error is not None:  # deliver the rows before the bad line, then stop
                yield from rechunker.finish()
                raise error
        yield from rechunker.finish()

    def _split_at_gaps(
        self, rechunker: Rechunker, rows: FloatArray, prev_t: float | None
    ) -> Iterator[Chunk | Gap]:
        times = rows[:, 0]
        steps = np.diff(times) if prev_t is None else np.diff(times, prepend=prev_t)
        offset = 1 if prev_t is None else 0
        start = 0
        for step_pos in np.flatnonzero(steps > self._gap_s):
            row = int(step_pos) + offset
            yield from rechunker.push(rows[start:row, 1:])
            before = float(times[row - 1]) if row > 0 else float(prev_t or 0.0)
            n_missing = max(1, round(float(steps[step_pos]) * self.fs_hz) - 1)
            reason = f"time_s jumps from {before:.6g} to {float(times[row]):.6g} s"
            yield from rechunker.gap(n_missing, reason)
            start = row
        yield from rechunker.push(rows[start:, 1:])

    # -- reading -----------------------------------------------------------------------------

    def _read_header(self) -> tuple[_Layout, int]:
        line_no = 0
        while line := self._guarded(self._file.readline):
            line_no += 1
            if line.startswith("#") or not line.strip():
                continue
            return _parse_header(self.path, line, line_no), line_no + 1
        raise RecordingError(f"{self.path}: empty file (no header row with time_s)")

    def _guarded(self, read: Callable[[], T]) -> T:
        """Run a file read, turning decode and OS errors into one-line RecordingErrors."""
        try:
            return read()
        except UnicodeDecodeError:
            raise RecordingError(f"{self.path}: not a text CSV file (invalid UTF-8)") from None
        except OSError as exc:
            raise RecordingError(f"{self.path}: read error ({exc.strerror})") from None

    def _read_first_block(self) -> _Block:
        """The first block of rows, parsed to measure the row rate.

        Its bad line (if any) is raised by ``items()`` after the rows before it, unless fewer
        than 2 good rows precede it (then the rate is unknown and opening fails).
        """
        first = self._next_block()
        if first is None:
            raise RecordingError(f"{self.path}: fewer than 2 data rows: the row rate is unknown")
        good = first.rows.shape[0]
        if (bad := self._time_error(first.rows[:, 0], None, first)) is not None:
            good = bad[0]
            if good < _MIN_ROWS:
                raise bad[1]
        if good < _MIN_ROWS:
            if first.error is not None:
                raise first.error
            raise RecordingError(f"{self.path}: fewer than 2 data rows: the row rate is unknown")
        self._first_good_rows = good
        return first

    def _take_block(self) -> _Block | None:
        if self._first_block is not None:
            block, self._first_block = self._first_block, None
            return block
        return self._next_block()

    def _next_block(self) -> _Block | None:
        """Parse the next block of lines; None at end of file."""
        while True:
            lines = self._guarded(lambda: self._file.readlines(_BLOCK_BYTES))
            if not lines:
                return None
            first_line = self._line_no
            self._line_no += len(lines)
            block = self._parse(lines, first_line)
            if block.rows.shape[0] or block.error is not None:
                return block

    def _loadtxt(self, lines: list[str]) -> FloatArray:
        layout = self._layout
        usecols = None if layout.used == tuple(range(len(layout.names))) else layout.used
        if not lines:
            return np.empty((0, len(layout.used)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a block of blank lines
            rows: FloatArray = np.loadtxt(
                lines,
                delimiter=layout.delimiter,
                comments=None,
                dtype=np.float64,
                ndmin=2,
                usecols=usecols,
            )
        return rows.reshape(-1, len(layout.used))

    def _parse(self, lines: list[str], first_line: int) -> _Block:
        """Parse a block; on a bad line keep the rows before it and the error for after them."""
        try:
            rows = self._loadtxt(lines)
        except ValueError as exc:
            bad_offset, error = self._diagnose(lines, first_line, str(exc))
            return _Block(self._loadtxt(lines[:bad_offset]), first_line, lines, error)
        if rows.shape[0] and not np.isfinite(rows).all():
            row, col = (int(i) for i in np.argwhere(~np.isfinite(rows))[0])
            name = self._layout.names[self._layout.used[col]]
            line = _row_line(lines, first_line, row)
            error = RecordingError(f"{self.path}: line {line}, column {name}: value is not finite")
            return _Block(rows[:row], first_line, lines, error)
        return _Block(rows, first_line, lines)

    def _diagnose(
        self, lines: list[str], first_line: int, detail: str
    ) -> tuple[int, RecordingError]:
        """Walk the lines of a block that numpy rejected to name the bad line and column."""
        layout = self._layout
        n_columns = len(layout.names)
        for offset, line in enumerate(lines):
            if not line.strip():
                continue
            fields = line.rstrip("\r\n").split(layout.delimiter)
            where = f"{self.path}: line {first_line + offset}"
            if len(fields) != n_columns:
                found = len(fields)
                message = f"{where}: expected {n_columns} columns as in the header, found {found}"
                return offset, RecordingError(message)
            for col in layout.used:
                cell = fields[col].strip()
                if not cell:
                    return offset, RecordingError(
                        f"{where}, column {layout.names[col]}: empty cell"
                    )
                try:
                    float(cell)
                except ValueError:
                    return offset, RecordingError(
                        f"{where}, column {layout.names[col]}: not a number: {cell[:20]!r}"
                    )
        last = first_line + len(lines) - 1
        return 0, RecordingError(f"{self.path}: lines {first_line}-{last}: {detail}")

    def _time_error(
        self, times: FloatArray, prev_t: float | None, block: _Block
    ) -> tuple[int, RecordingError] | None:
        """(rows before the first non-increasing time, its error), or None when all increase."""
        steps = np.diff(times) if prev_t is None else np.diff(times, prepend=prev_t)
        bad = np.flatnonzero(steps <= 0)
        if not bad.size:
            return None
        row = int(bad[0]) + (1 if prev_t is None else 0)
        previous = float(times[row - 1]) if row > 0 else float(prev_t or 0.0)
        what = "duplicated" if steps[bad[0]] == 0 else "goes backwards"
        line = _row_line(block.lines, block.first_line, row)
        return row, RecordingError(
            f"{self.path}: line {line}: time_s {what} "
            f"({previous:.9g} -> {float(times[row]):.9g}); times must increase"
        )

    def _duration_from_tail(self) -> float | None:
        """Recording length from the last line's time (for progress bars); None if unclear."""
        try:
            with self.path.open("rb") as raw:
                size = raw.seek(0, 2)
                raw.seek(max(0, size - _TAIL_BYTES))
                tail = raw.read().decode("utf-8", errors="replace")
            last = next(ln for ln in reversed(tail.splitlines()) if ln.strip())
            t_last = float(last.split(self._layout.delimiter)[0])
        except (OSError, ValueError, StopIteration):
            return None
        duration = t_last - self._t_first + 1.0 / self.fs_hz
        return duration if math.isfinite(duration) and duration > 0 else None


def _row_line(lines: list[str], first_line: int, row: int) -> int:
    """Line number of parsed row ``row`` of a block (blank lines are skipped by the parser)."""
    seen = -1
    for offset, line in enumerate(lines):
        if line.strip():
            seen += 1
            if seen == row:
                return first_line + offset
    return first_line + row
