"""ChunkCoalescer merges per-notification chunks without moving or bridging anything."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.model import Chunk, Gap, StreamInfo
from processor.stages.coalesce import ChunkCoalescer

EMG = StreamInfo("emg", 200.0, ("emg_0",), "uV")
ACC = StreamInfo("acc", 50.0, ("acc_x", "acc_y", "acc_z"), "g")


def _stream_items(
    rng: np.random.Generator, info: StreamInfo, n_items: int, gap_every: int
) -> list[Chunk | Gap]:
    index = 0
    items: list[Chunk | Gap] = []
    for k in range(n_items):
        if gap_every and k % gap_every == gap_every - 1:
            missing = int(rng.integers(1, 10))
            items.append(Gap(info.name, index, missing, "test"))
            index += missing
        n = int(rng.integers(1, 5))
        items.append(Chunk(info, index, rng.normal(size=(n, len(info.channels)))))
        index += n
    return items


def _flatten(
    items: list[Chunk | Gap], name: str
) -> tuple[dict[int, tuple[float, ...]], list[tuple[int, int]]]:
    """Per-sample view of one stream: (index, values) plus the gap list."""
    samples: dict[int, tuple[float, ...]] = {}
    gaps: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, Gap):
            if item.stream == name:
                gaps.append((item.start_index, item.n_missing))
        elif item.stream.name == name:
            for i, row in enumerate(item.data):
                samples[item.start_index + i] = tuple(row)
    return samples, gaps


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 1000), max_s=st.floats(0.01, 2.0), gap_every=st.integers(0, 7))
def test_coalescing_keeps_every_sample_and_gap(seed, max_s, gap_every) -> None:
    rng = np.random.default_rng(seed)
    emg, acc = _stream_items(rng, EMG, 60, gap_every), _stream_items(rng, ACC, 30, gap_every)
    merged_in = [x for pair in zip(emg, acc, strict=False) for x in pair] + emg[len(acc) :]
    coal = ChunkCoalescer(max_s)
    out = [y for x in merged_in for y in coal.process(x)] + coal.flush()
    for name in ("emg", "acc"):
        assert _flatten(out, name) == _flatten(merged_in, name)
        # a merged chunk never spans a gap, and never exceeds the limit by more than one input
        fs = EMG.fs_hz if name == "emg" else ACC.fs_hz
        for item in out:
            if isinstance(item, Chunk) and item.stream.name == name:
                assert item.data.shape[0] < max_s * fs + 5
    # per stream, order of items is unchanged
    for name in ("emg", "acc"):
        starts = [
            i.start_index
            for i in out
            if (i.stream if isinstance(i, Gap) else i.stream.name) == name
        ]
        assert starts == sorted(starts)


def test_gap_closes_the_run_first() -> None:
    coal = ChunkCoalescer(10.0)
    assert coal.process(Chunk(EMG, 0, np.zeros((4, 1)))) == []
    out = coal.process(Gap("emg", 4, 3, "lost"))
    assert [type(i).__name__ for i in out] == ["Chunk", "Gap"]
    assert coal.process(Chunk(EMG, 7, np.ones((2, 1)))) == []
    (last,) = coal.flush()
    assert isinstance(last, Chunk)
    assert last.start_index == 7


def test_rejects_non_positive_duration() -> None:
    with pytest.raises(ValueError, match="> 0"):
        ChunkCoalescer(0)
