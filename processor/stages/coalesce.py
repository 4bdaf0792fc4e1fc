"""Merge the tiny per-notification chunks of a replay into larger chunks, per stream.

Live BLE hands the pipeline a chunk per notification (2 samples for a Myo); a replay runs much
faster with chunks of about a second. :class:`ChunkCoalescer` joins consecutive chunks of the
same stream (same :class:`~processor.model.StreamInfo`, contiguous indices) until a chunk holds
``max_duration_s`` of data. A gap or a new StreamInfo always ends the run first, so a gap is
never bridged, and the samples and gaps that come out are exactly those that went in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from processor.model import Chunk, FloatArray, Gap, StreamInfo

Item = Chunk | Gap


@dataclass(slots=True)
class _Run:
    info: StreamInfo
    start_index: int
    parts: list[FloatArray] = field(default_factory=list)
    n_samples: int = 0

    def chunk(self) -> Chunk:
        data = self.parts[0] if len(self.parts) == 1 else np.concatenate(self.parts, axis=0)
        return Chunk(self.info, self.start_index, data)


class ChunkCoalescer:
    """Joins consecutive chunks of each stream up to ``max_duration_s`` seconds of samples.

    Args:
        max_duration_s: longest merged chunk, seconds (> 0).

    Examples:
        >>> info = StreamInfo("emg", 200.0, ("emg_0",), "uV")
        >>> coal = ChunkCoalescer(1.0)
        >>> coal.process(Chunk(info, 0, np.zeros((2, 1))))
        []
        >>> coal.process(Chunk(info, 2, np.ones((2, 1))))
        []
        >>> [(c.start_index, c.data.shape) for c in coal.flush()]
        [(0, (4, 1))]
    """

    def __init__(self, max_duration_s: float) -> None:
        if max_duration_s <= 0:
            raise ValueError(f"max_duration_s must be > 0 s, got {max_duration_s}")
        self._max_duration_s = max_duration_s
        self._runs: dict[str, _Run] = {}

    def process(self, item: Item) -> list[Item]:
        """Take one chunk or gap; returns the merged chunks (and gaps) that are complete."""
        if isinstance(item, Gap):
            closed = self._close(item.stream)
            closed.append(item)
            return closed
        name = item.stream.name
        run = self._runs.get(name)
        out: list[Item] = []
        if run is not None and (
            run.info != item.stream or run.start_index + run.n_samples != item.start_index
        ):
            out.extend(self._close(name))
            run = None
        if run is None:
            run = _Run(item.stream, item.start_index)
            self._runs[name] = run
        run.parts.append(item.data)
        run.n_samples += int(item.data.shape[0])
        if run.n_samples >= self._max_duration_s * item.stream.fs_hz:
            out.extend(self._close(name))
        return out

    def flush(self) -> list[Item]:
        """End of stream: every pending run, in the order the streams first appeared."""
        out: list[Item] = []
        for name in list(self._runs):
            out.extend(self._close(name))
        return out

    def reset(self) -> None:
        """Drop pending runs."""
        self._runs.clear()

    def _close(self, name: str) -> list[Item]:
        run = self._runs.pop(name, None)
        return [run.chunk()] if run is not None and run.parts else []
