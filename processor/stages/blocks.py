"""Joining live-sized chunks of one stream into short blocks before detection.

Live BLE hands the pipeline a chunk per notification (2 samples for a Myo) and the per-call cost
of the detector, not its per-sample cost, then dominates. The pipeline is chunking-invariant, so
joining contiguous chunks of the same stream up to ``block_s`` changes no event; it only delays
the events of a held chunk until the block is complete (by less than ``block_s``).
"""

from __future__ import annotations

import numpy as np

from processor.model import Chunk


class BlockJoiner:
    """Holds contiguous chunks of one stream until they span at least ``block_s`` seconds.

    Args:
        block_s: shortest block handed on, seconds; a longer chunk passes straight through.
    """

    def __init__(self, block_s: float) -> None:
        self._block_s = block_s
        self.reset()

    def reset(self) -> None:
        """Drop whatever is held."""
        self._held: list[Chunk] = []
        self._n = 0

    def push(self, chunk: Chunk) -> list[Chunk]:
        """Add one chunk; returns the blocks to process now, oldest first (often none).

        A chunk of another stream description or not contiguous with the held ones first
        releases what is held.
        """
        out: list[Chunk] = []
        held = self._held
        if held and (chunk.stream != held[0].stream or chunk.start_index != held[-1].end_index):
            out.extend(self.drain())
        self._held.append(chunk)
        self._n += chunk.data.shape[0]
        if self._n >= self._block_s * chunk.stream.fs_hz:
            out.extend(self.drain())
        return out

    def drain(self) -> list[Chunk]:
        """Release what is held as one chunk (an empty list when nothing is held)."""
        held = self._held
        if not held:
            return []
        first = held[0]
        data = first.data if len(held) == 1 else np.concatenate([c.data for c in held], axis=0)
        self.reset()
        return [Chunk(first.stream, first.start_index, data)]
