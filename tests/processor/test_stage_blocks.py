"""Live chunks are joined into short blocks without changing the samples or the events."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.config.detection import DetectionConfig
from processor.model import Chunk, Event, Gap, StreamInfo
from processor.stages.blocks import BlockJoiner
from processor.stages.pipeline import Pipeline
from processor.synth import synth_session

MYO = StreamInfo("emg", 200.0, tuple(f"emg_{i}" for i in range(8)), "uV")
IMU = StreamInfo("acc", 50.0, ("acc_x", "acc_y", "acc_z"), "g")


def test_joiner_releases_blocks_ending_on_multiples_of_their_length() -> None:
    joiner = BlockJoiner(0.02)  # 4 samples at 200 Hz: blocks end at multiples of 4
    data = np.arange(160.0).reshape(20, 8)
    (first,) = joiner.push(Chunk(MYO, 0, data[0:2]))  # a new stream runs at once
    np.testing.assert_array_equal(first.data, data[0:2])
    (short,) = joiner.push(Chunk(MYO, 2, data[2:4]))  # reaches 4: the grid, not 4 after 0-2
    assert (short.start_index, short.end_index) == (2, 4)
    assert joiner.push(Chunk(MYO, 4, data[4:6])) == []
    (block,) = joiner.push(Chunk(MYO, 6, data[6:8]))
    assert block.start_index == 4
    np.testing.assert_array_equal(block.data, data[4:8])
    assert joiner.push(Chunk(MYO, 8, data[8:11])) == []  # short of 12
    (crossing,) = joiner.push(Chunk(MYO, 11, data[11:14]))  # past 12: released whole
    assert (crossing.start_index, crossing.end_index) == (8, 14)
    assert joiner.push(Chunk(MYO, 14, data[14:15])) == []
    (long,) = joiner.push(Chunk(MYO, 15, data[15:19]))  # a whole block's length: at once
    assert (long.start_index, long.end_index) == (14, 19)
    assert joiner.drain() == []


def test_joiner_never_joins_across_a_jump_or_a_new_stream() -> None:
    joiner = BlockJoiner(1.0)
    data = np.ones((2, 8))
    assert len(joiner.push(Chunk(MYO, 0, data))) == 1  # a new stream runs at once
    assert joiner.push(Chunk(MYO, 2, data)) == []
    (before_jump,) = joiner.push(Chunk(MYO, 10, data))
    assert (before_jump.start_index, before_jump.data.shape[0]) == (2, 2)
    other = StreamInfo("emg", 400.0, MYO.channels, "uV")
    before_rate_change, new_rate = joiner.push(Chunk(other, 12, data))
    assert before_rate_change.start_index == 10
    assert (new_rate.stream, new_rate.start_index) == (other, 12)
    assert joiner.drain() == []


def test_interleaved_streams_are_joined_and_released_in_time_order() -> None:
    joiner = BlockJoiner(0.06)  # 12 EMG samples at 200 Hz, 3 IMU samples at 50 Hz
    emg, imu = np.arange(48.0).reshape(24, 2), np.arange(12.0).reshape(4, 3)
    joiner.push(Chunk(IMU, -1, imu[:1]))  # the streams' first chunks run at once
    joiner.push(Chunk(MYO, -2, emg[:2]))
    pushed = [
        Chunk(IMU, 0, imu[0:1]),  # t = 0 ms
        Chunk(MYO, 0, emg[0:2]),
        Chunk(MYO, 2, emg[2:4]),  # 10 ms
        Chunk(IMU, 1, imu[1:2]),  # 20 ms
        Chunk(MYO, 4, emg[4:6]),
        Chunk(MYO, 6, emg[6:8]),
        Chunk(IMU, 2, imu[2:3]),  # 40 ms: the IMU block is complete, the EMG's is not
        Chunk(MYO, 8, emg[8:10]),
    ]
    assert [joiner.push(c) for c in pushed] == [[]] * len(pushed)
    first, second = joiner.push(Chunk(MYO, 10, emg[10:12]))  # 50 ms: both complete
    assert (first.stream, first.start_index) == (IMU, 0)  # a tie at 0 ms keeps arrival order
    np.testing.assert_array_equal(first.data, imu[:3])
    assert (second.stream, second.start_index) == (MYO, 0)
    np.testing.assert_array_equal(second.data, emg[:12])
    # the IMU stalls after one sample: the EMG block waits for it until the next EMG block
    assert joiner.push(Chunk(IMU, 3, imu[3:])) == []
    held = [joiner.push(Chunk(MYO, i, emg[i : i + 2])) for i in range(12, 24, 2)]
    assert held == [[]] * len(held)
    stalled, emg_block = joiner.push(Chunk(MYO, 24, emg[:2]))
    assert (stalled.stream, stalled.start_index, emg_block.start_index) == (IMU, 3, 12)
    assert emg_block.end_index == 24
    assert [(b.stream, b.start_index) for b in joiner.drain()] == [(MYO, 24)]


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


def test_a_myo_with_its_imu_gives_the_whole_recordings_events() -> None:
    rec = synth_session(
        fs_hz=200.0, duration_s=30.0, n_emg=8, seed=2, scenario="twitches", acc_fs_hz=50.0
    )
    emg, imu = rec.emg_uv, rec.acc_g
    assert imu is not None
    live: list[Chunk | Gap] = []
    for i in range(0, emg.shape[0], 2):  # in time order: 2 EMG samples / 10 ms, 1 IMU / 20 ms
        if i % 4 == 0 and i // 4 < imu.shape[0]:
            live.append(Chunk(IMU, i // 4, imu[i // 4 : i // 4 + 1]))
        live.append(Chunk(MYO, i, emg[i : i + 2]))
    events, stats = _run(live)
    reference, reference_stats = _run([Chunk(IMU, 0, imu), Chunk(MYO, 0, emg)])
    assert events == reference
    assert stats == reference_stats
    assert any(e.extras.get("visibility_evidence") == "accelerometer" for e in events)


@settings(max_examples=60, deadline=None)
@given(
    emg_sizes=st.lists(st.integers(1, 30), min_size=1, max_size=40),
    imu_sizes=st.lists(st.integers(1, 8), min_size=1, max_size=15),
)
def test_joined_blocks_keep_every_sample_in_time_order(
    emg_sizes: list[int], imu_sizes: list[int]
) -> None:
    """Whatever the notification sizes: each stream's blocks are its samples, contiguous,
    handed on in order of start times, and a block of a lone stream ends on the grid."""
    joiner = BlockJoiner(0.1)  # 20 EMG samples, 5 IMU samples
    timed: list[tuple[float, int, Chunk]] = []
    for order, (info, sizes) in enumerate(((MYO, emg_sizes), (IMU, imu_sizes))):
        start = 0
        for size in sizes:
            data = np.full((size, len(info.channels)), float(start))
            timed.append((info.time_s(start), order, Chunk(info, start, data)))
            start += size
    timed.sort(key=lambda t: (t[0], t[1]))
    released: list[Chunk] = []
    for _, _, chunk in timed:
        released += joiner.push(chunk)
    released += joiner.drain()
    starts = [block.stream.time_s(block.start_index) for block in released]
    assert starts == sorted(starts)
    for info, sizes in ((MYO, emg_sizes), (IMU, imu_sizes)):
        blocks = [block for block in released if block.stream is info]
        assert blocks[0].start_index == 0
        assert all(a.end_index == b.start_index for a, b in itertools.pairwise(blocks))
        assert blocks[-1].end_index == sum(sizes)
    lone = BlockJoiner(0.1)
    start = 0
    for size in emg_sizes:
        chunk = Chunk(MYO, start, np.zeros((size, 8)))
        for block in lone.push(chunk):
            grid_end = (block.start_index // 20 + 1) * 20
            # released by the chunk that completed it (the stream's first chunk runs at once)
            assert block.end_index == chunk.end_index
            assert start == 0 or (chunk.start_index < grid_end <= chunk.end_index)
        start += size
