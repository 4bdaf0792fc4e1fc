"""Joining live-sized chunks into short blocks before detection.

Live BLE hands the pipeline a chunk per notification (2 EMG samples every 10 ms and an IMU
sample every 20 ms for a Myo) and the per-call cost of the detector, not its per-sample cost,
then dominates. The pipeline gives the same events whatever the chunking and interleaving, as
long as its items arrive in time order. So contiguous chunks of each stream are joined into
blocks that end on multiples of ``block_s`` on the stream's own sample clock, and everything
held is handed on, in order of start times, as soon as every stream holding a block has
reached its end (or a chunk begins past it: another stream has stalled). This changes no event;
it only delays the events of a held chunk, by less than ``block_s``. Blocks end on the
multiples, not ``block_s`` after wherever the stream started, so that with the noise floor's
default 100 ms refresh each block is one refresh segment (a block straddling a refresh
boundary runs the detector's segment loop twice). Every stream must have reached its end, not
one of them: a Myo's IMU sample covering 80-100 ms arrives before the EMG's last two samples
and would cut the EMG block short.
"""

from __future__ import annotations

import numpy as np

from processor.model import Chunk, StreamInfo


def _same(a: StreamInfo, b: StreamInfo) -> bool:
    return a is b or a == b  # live chunks share one description: skip the field compare


class BlockJoiner:
    """Holds contiguous chunks of each stream in blocks ending on multiples of ``block_s``.

    Args:
        block_s: block length, seconds; a chunk at least this long passes straight through
            (with whatever the other streams held before it).
    """

    def __init__(self, block_s: float) -> None:
        self._block_s = block_s
        self.reset()

    def reset(self) -> None:
        """Drop whatever is held and forget the stream descriptions seen."""
        self._seen: dict[str, tuple[StreamInfo, int]] = {}  # description, samples per block
        self._release()

    def _release(self) -> None:
        self._held: dict[str, list[Chunk]] = {}
        self._block_end: dict[str, int] = {}  # sample index where each held block ends
        self._waiting = 0  # held blocks short of their end

    def push(self, chunk: Chunk) -> list[Chunk]:
        """Add one chunk; returns the blocks to process now, in time order (often none).

        A chunk with another description of its stream, not contiguous with the held ones of
        its stream, or beginning past their block's end, first releases everything held. The
        first chunk of a new description is released at once, so a stream the detector refuses
        (a rate its band cannot fit) is refused at its first chunk.
        """
        out: list[Chunk] = []
        stream = chunk.stream
        name = stream.name
        seen = self._seen.get(name)
        new = seen is None or not _same(seen[0], stream)
        if seen is None or new:
            seen = (stream, max(1, round(self._block_s * stream.fs_hz)))
            self._seen[name] = seen
        held = self._held.get(name)
        # a held block is of the description seen before this chunk: ``new`` means it changed
        if held and (
            new
            or chunk.start_index != held[-1].end_index
            or chunk.start_index >= self._block_end[name]
        ):
            out.extend(self.drain())
        end = self._block_end.get(name)
        if end is None:
            end = (chunk.start_index // seen[1] + 1) * seen[1]
            self._block_end[name] = end
            self._held[name] = [chunk]
            self._waiting += 1
        else:
            self._held[name].append(chunk)
        if chunk.end_index >= end:  # the block is complete (a later chunk starts past it)
            self._waiting -= 1
        if new or chunk.data.shape[0] >= seen[1] or not self._waiting:
            out.extend(self.drain())
        return out

    def drain(self) -> list[Chunk]:
        """Release what is held: one block per stream, by start time (empty: nothing held)."""
        blocks = [
            held[0]
            if len(held) == 1
            else Chunk(held[0].stream, held[0].start_index, np.concatenate([c.data for c in held]))
            for held in self._held.values()
        ]
        self._release()
        # stable: ties keep their arrival order
        return sorted(blocks, key=lambda block: block.stream.time_s(block.start_index))
