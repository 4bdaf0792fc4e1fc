"""EDF+/BDF+ reader (interfaces.md section 2b) through pyedflib, streamed in blocks.

EMG signals (label ``EMG...``) become the ``emg`` stream in µV, ``ACC X/Y/Z`` (or ``Accel``) the
``acc`` stream in g; each stream keeps its own sample rate. Other signals and annotations are
ignored. All EMG signals must share one rate (a file mixing EMG rates is rejected: the pipeline
sees one EMG stream per wearable), and so must the three ACC axes.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyedflib

from processor.config.io import ReplayConfig
from processor.errors import RecordingError
from processor.io._closing import ClosesOnExit
from processor.io._timeline import chunk_samples
from processor.model import Chunk, Gap, StreamInfo

_EMG_SCALE_TO_UV = {"uv": 1.0, "µv": 1.0, "μv": 1.0, "mv": 1000.0, "v": 1e6}
_ACC_SCALE_TO_G = {
    "g": 1.0,
    "mg": 1e-3,
    "m/s^2": 1 / 9.80665,
    "m/s2": 1 / 9.80665,
    "m/s²": 1 / 9.80665,
}
_ACC_LABEL = re.compile(r"^acc(?:el)?[\s_\-]*([xyz])$", re.IGNORECASE)
_ACC_AXES = ("x", "y", "z")


@dataclass(frozen=True, slots=True)
class _Signal:
    index: int
    label: str
    scale: float


@dataclass(frozen=True, slots=True)
class _Stream:
    info: StreamInfo
    signals: tuple[_Signal, ...]
    n_samples: int


def emg_channel_name(label: str) -> str:
    """``EMG calf`` -> ``emg_calf``; bare ``EMG`` -> ``emg`` (rest of the label, spaces -> _)."""
    rest = label.strip()[3:].strip(" _-:.").replace(" ", "_")
    return f"emg_{rest}" if rest else "emg"


def _detail(path: Path, exc: OSError) -> str:
    """The reason pyedflib gives, in parentheses, unless it is its misleading locale hint."""
    detail = str(exc).removeprefix(f"{path}: ").strip()
    if not detail or "locale" in detail or "special characters" in detail:
        return ""  # said of any file it cannot open, e.g. one that is not EDF at all
    return f" ({detail})"


def _unit_scale(path: Path, label: str, unit: str, table: dict[str, float]) -> float:
    key = unit.strip().lower()
    if key not in table:
        expected = ", ".join(sorted(table))
        raise RecordingError(
            f"{path}: signal {label!r}: unknown physical dimension {unit.strip()!r} "
            f"(expected one of {expected})"
        )
    return table[key]


class EdfReader(ClosesOnExit):
    """Streams an ``.edf``/``.bdf`` recording as ``emg`` and ``acc`` chunks in time order.

    Raises:
        RecordingError: missing, unreadable or corrupt file; no EMG signal; unknown unit;
            EMG signals (or ACC axes) at different rates; an incomplete set of ACC axes.
    """

    def __init__(self, path: Path, cfg: ReplayConfig) -> None:
        self.path = path
        if not path.is_file():
            raise RecordingError(f"{path}: file not found")
        try:
            self._edf: Any = pyedflib.EdfReader(str(path))
        except OSError as exc:
            reason = _detail(path, exc)
            raise RecordingError(f"{path}: not a readable EDF+/BDF+ file{reason}") from None
        try:
            self._specs = self._find_streams()
            self.duration_s: float | None = float(self._edf.getFileDuration())
        except BaseException:
            self.close()
            raise
        self._chunk_ms = cfg.chunk_ms
        self.streams = [spec.info for spec in self._specs]

    def close(self) -> None:
        """Release the file (idempotent)."""
        if self._edf is not None:
            self._edf.close()
            self._edf = None

    def items(self) -> Iterator[Chunk | Gap]:
        """Yield chunks of every stream merged by start time (EMG first on ties)."""
        per_stream = [self._chunks(stream, order) for order, stream in enumerate(self._specs)]
        for _, _, chunk in heapq.merge(*per_stream):
            yield chunk

    def _chunks(self, stream: _Stream, order: int) -> Iterator[tuple[float, int, Chunk]]:
        step = chunk_samples(self._chunk_ms, stream.info.fs_hz)
        n_channels = len(stream.signals)
        for start in range(0, stream.n_samples, step):
            n = min(step, stream.n_samples - start)
            data = np.empty((n, n_channels), dtype=np.float64)
            for col, signal in enumerate(stream.signals):
                try:
                    data[:, col] = self._edf.readSignal(signal.index, start, n)
                except (OSError, ValueError) as exc:
                    raise RecordingError(
                        f"{self.path}: signal {signal.label!r}: read failed at sample {start} "
                        f"({exc})"
                    ) from None
                if signal.scale != 1.0:
                    data[:, col] *= signal.scale
            yield start / stream.info.fs_hz, order, Chunk(stream.info, start, data)

    def _find_streams(self) -> list[_Stream]:
        edf = self._edf
        labels = [str(label).strip() for label in edf.getSignalLabels()]
        emg: list[_Signal] = []
        acc: dict[str, _Signal] = {}
        for index, label in enumerate(labels):
            unit = str(edf.getPhysicalDimension(index))
            if label.lower().startswith("emg"):
                emg.append(
                    _Signal(index, label, _unit_scale(self.path, label, unit, _EMG_SCALE_TO_UV))
                )
            elif match := _ACC_LABEL.match(label):
                scale = _unit_scale(self.path, label, unit, _ACC_SCALE_TO_G)
                acc[match.group(1).lower()] = _Signal(index, label, scale)
        if not emg:
            shown = ", ".join(repr(lb) for lb in labels[:8]) or "none"
            raise RecordingError(
                f"{self.path}: no EMG signal (labels starting with 'EMG'); signals: {shown}"
            )
        names = [emg_channel_name(s.label) for s in emg]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise RecordingError(f"{self.path}: two EMG signals map to channel {dup!r}")
        specs = [self._stream("emg", tuple(emg), tuple(names), "uV")]
        if acc:
            if set(acc) != set(_ACC_AXES):
                missing = ", ".join(f"ACC {a.upper()}" for a in _ACC_AXES if a not in acc)
                raise RecordingError(f"{self.path}: accelerometer incomplete (missing {missing})")
            axes = tuple(acc[a] for a in _ACC_AXES)
            channels = tuple(f"acc_{a}" for a in _ACC_AXES)
            specs.append(self._stream("acc", axes, channels, "g"))
        return specs

    def _stream(
        self, name: str, signals: tuple[_Signal, ...], channels: tuple[str, ...], unit: str
    ) -> _Stream:
        edf = self._edf
        rates = {float(edf.getSampleFrequency(s.index)) for s in signals}
        if len(rates) != 1:
            shown = ", ".join(
                f"{s.label!r}={edf.getSampleFrequency(s.index):g} Hz" for s in signals
            )
            raise RecordingError(
                f"{self.path}: {name.upper()} signals have different sample rates ({shown}); "
                "split them into separate files"
            )
        n_samples = min(int(edf.getNSamples()[s.index]) for s in signals)
        return _Stream(StreamInfo(name, rates.pop(), channels, unit), signals, n_samples)
