"""Live chunks are joined into short blocks without changing the samples or the events."""

from __future__ import annotations

import numpy as np

from processor.config.detection import DetectionConfig
from processor.model import Chunk, Event, Gap, StreamInfo
from processor.stages.blocks import BlockJoiner
from processor.stages.pipeline import Pipeline
from processor.synth import synth_session

MYO = StreamInfo("emg", 200.0, tuple(f"emg_{i}" for i in range(8)), "uV")


def test_joiner_holds_until_the_block_is_full() -> None:
    joiner = BlockJoiner(0.02)  # 4 samples at 200 Hz
    data = np.arange(16.0).reshape(8, 2).repeat(4, axis=1)
    assert joiner.push(Chunk(MYO, 0, data[0:2])) == []
    (block,) = joiner.push(Chunk(MYO, 2, data[2:4]))
    assert block.start_index == 0
    np.testing.assert_array_equal(block.data, data[0:4])
    assert joiner.push(Chunk(MYO, 4, data[4:6])) == []
    (tail,) = joiner.drain()
    np.testing.assert_array_equal(tail.data, data[4:6])
    assert joiner.drain() == []


def test_joiner_never_joins_across_a_jump_or_a_new_stream() -> None:
    joiner = BlockJoiner(1.0)
    data = np.ones((2, 8))
    assert joiner.push(Chunk(MYO, 0, data)) == []
    (before_jump,) = joiner.push(Chunk(MYO, 10, data))
    assert (before_jump.start_index, before_jump.data.shape[0]) == (0, 2)
    other = StreamInfo("emg", 400.0, MYO.channels, "uV")
    (before_rate_change,) = joiner.push(Chunk(other, 12, data))
    assert before_rate_change.start_index == 10
    (last,) = joiner.drain()
    assert last.stream == other


def _run(items: list[Chunk | Gap]) -> tuple[list[Event], dict[str, object]]:
    pipe = Pipeline(DetectionConfig(), session_id="blocks")
    out: list[Event] = []
    for item in items:
        out.extend(pipe.process(item))
    out.extend(pipe.flush())
    return out, dict(pipe.stats())


def test_two_sample_live_chunks_give_the_whole_recordings_events() -> None:
    rec = synth_session(fs_hz=200.0, duration_s=30.0, n_emg=8, seed=2, scenario="twitches")
    data = rec.emg_uv
    live: list[Chunk | Gap] = [Chunk(MYO, i, data[i : i + 2]) for i in range(0, 3000, 2)]
    live.append(Gap("emg", 3000, 40, "link"))
    live += [Chunk(MYO, i, data[i : i + 2]) for i in range(3040, data.shape[0], 2)]
    whole: list[Chunk | Gap] = [
        Chunk(MYO, 0, data[:3000]),
        Gap("emg", 3000, 40, "link"),
        Chunk(MYO, 3040, data[3040:]),
    ]
    events, stats = _run(live)
    reference, reference_stats = _run(whole)
    assert events == reference
    assert stats == reference_stats
    assert any(e.type != "signal_quality" for e in events)
