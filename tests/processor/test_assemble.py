"""FrameAssembler: decode, index, and mark every gap (counters, device clock, arrival timing)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import devices
from devices import ganglion, myo, polar_h10
from processor.io.rawrec_write import emg_notifications
from processor.model import Chunk, Gap, RawNotification
from processor.stages.assemble import FrameAssembler

MS = 1_000_000
GANGLION = devices.REGISTRY["ganglion"]
MYO = devices.REGISTRY["myo"]
H10 = devices.REGISTRY["polar_h10"]


def _chunks(items: list[Chunk | Gap], stream: str = "emg") -> list[Chunk]:
    return [i for i in items if isinstance(i, Chunk) and i.stream.name == stream]


def _gaps(items: list[Chunk | Gap], stream: str = "emg") -> list[Gap]:
    return [i for i in items if isinstance(i, Gap) and i.stream == stream]


def _assert_contiguous(items: list[Chunk | Gap], stream: str = "emg") -> int | None:
    """Chunks and gaps of a stream tile the index range with no overlap and no hole."""
    expected = None
    for item in items:
        if isinstance(item, Chunk) and item.stream.name == stream:
            start, end = item.start_index, item.end_index
        elif isinstance(item, Gap) and item.stream == stream:
            start, end = item.start_index, item.start_index + item.n_missing
        else:
            continue
        assert expected is None or start == expected, (start, expected)
        expected = end
    return expected


def _ganglion_notes(n_packets: int, *, seed: int = 0):
    emg = np.random.default_rng(seed).normal(0, 50, (2 * n_packets, 4))
    return emg, emg_notifications("ganglion", emg)


def test_clean_ganglion_stream_has_no_gap_and_keeps_every_sample() -> None:
    emg, notes = _ganglion_notes(250)  # the counter wraps twice
    items = FrameAssembler(GANGLION).push_many(notes)
    assert not _gaps(items)
    data = np.concatenate([c.data for c in _chunks(items)])
    assert data.shape == (500, 4)
    np.testing.assert_allclose(data, emg, atol=2 * 128 * ganglion.UV_PER_COUNT)
    assert _assert_contiguous(items) == 500
    assert _chunks(items)[0].stream.unit == "uV"
    assert _chunks(items)[0].stream.channels == ("emg_0", "emg_1", "emg_2", "emg_3")


@pytest.mark.parametrize("lost", [1, 5, 99, 100, 150, 230])
def test_ganglion_lost_packets_become_one_gap_of_the_right_size(lost: int) -> None:
    _, notes = _ganglion_notes(600)
    kept = notes[:200] + notes[200 + lost :]
    items = FrameAssembler(GANGLION).push_many(kept)
    gaps = _gaps(items)
    assert len(gaps) == 1
    assert gaps[0].start_index == 400
    assert gaps[0].n_missing == 2 * lost
    assert "counter" in gaps[0].reason
    assert _assert_contiguous(items) == 1200


def test_ganglion_duplicate_packet_is_dropped_not_a_gap() -> None:
    _, notes = _ganglion_notes(20)
    dup = RawNotification(notes[5].t_ns + 1, "w0", "emg", notes[5].payload, notes[5].char_uuid)
    asm = FrameAssembler(GANGLION)
    items = asm.push_many([*notes[:6], dup, *notes[6:]])
    assert not _gaps(items)
    assert _assert_contiguous(items) == 40
    stats = asm.stats()["streams"]
    assert isinstance(stats, dict)
    emg_stats = stats["emg"]
    assert isinstance(emg_stats, dict)
    assert emg_stats["duplicates"] == 1


def test_ganglion_counter_restart_after_link_loss_is_timed_by_arrival() -> None:
    _, first = _ganglion_notes(300)
    # the board resets on reconnect: ring index starts again at 0, 2 s after the last packet
    emg2 = np.zeros((100, 4))
    second = emg_notifications("ganglion", emg2, start_ns=first[-1].t_ns + 2000 * MS)
    asm = FrameAssembler(GANGLION)
    items = asm.push_many(first)
    asm.link_lost()
    items += asm.push_many(second)
    gaps = _gaps(items)
    assert len(gaps) == 1
    assert gaps[0].start_index == 600
    assert abs(gaps[0].n_missing - 400) <= 2  # 2 s at 200 Hz
    assert asm.stats()["link_losses"] == 1


def _myo_notes(n_packets: int, *, jitter_ms: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(-128, 128, (2 * n_packets, 8))
    notes = emg_notifications("myo", counts.astype(np.float64))
    if jitter_ms:
        jitter = rng.uniform(0, jitter_ms * MS, len(notes)).astype(np.int64)
        times = np.maximum.accumulate(np.array([n.t_ns for n in notes]) + jitter)
        notes = [
            RawNotification(int(t), n.wearable, n.stream, n.payload, n.char_uuid)
            for t, n in zip(times, notes, strict=True)
        ]
    return counts, notes


def test_myo_jittery_bursty_stream_has_no_false_gap() -> None:
    counts, notes = _myo_notes(3000, jitter_ms=60.0)
    items = FrameAssembler(MYO).push_many(notes)
    assert not _gaps(items)
    np.testing.assert_array_equal(np.concatenate([c.data for c in _chunks(items)]), counts)
    assert _chunks(items)[0].stream.unit == "counts"


def test_myo_silence_with_lost_packets_is_a_gap_estimated_from_arrival() -> None:
    _, notes = _myo_notes(1000, jitter_ms=5.0)
    kept = notes[:300] + notes[400:]  # 100 packets = 200 samples = 1 s lost
    items = FrameAssembler(MYO).push_many(kept)
    gaps = _gaps(items)
    assert len(gaps) == 1
    assert gaps[0].start_index == 600
    assert abs(gaps[0].n_missing - 200) <= 2
    assert _assert_contiguous(items) == 2000 - 200 + gaps[0].n_missing


def test_myo_short_stall_without_loss_is_not_a_gap() -> None:
    _, notes = _myo_notes(400)
    # the link stalls for 150 ms (below silence_ms), then the buffered packets come in a burst
    release = notes[109].t_ns + 100 * MS
    stalled = [
        RawNotification(
            max(n.t_ns, release) if i >= 100 else n.t_ns,
            n.wearable,
            n.stream,
            n.payload,
            n.char_uuid,
        )
        for i, n in enumerate(notes)
    ]
    assert [n.t_ns for n in stalled] == sorted(n.t_ns for n in stalled)
    items = FrameAssembler(MYO).push_many(stalled)
    assert not _gaps(items)
    assert _assert_contiguous(items) == 800


def test_myo_imu_also_gives_the_acc_stream_in_g() -> None:
    payload = bytes.fromhex("3e2eab2be5f824004e01bd0757000300f5fffcff")
    notes = [
        RawNotification(i * 20 * MS, "w", "imu", payload, myo.IMU_DATA_UUID) for i in range(10)
    ]
    notes = notes[:4] + notes[6:]  # 2 samples lost ...
    notes[4:] = [
        RawNotification(n.t_ns + 300 * MS, n.wearable, n.stream, n.payload, n.char_uuid)
        for n in notes[4:]
    ]
    items = FrameAssembler(MYO).push_many(notes)
    acc = _chunks(items, "acc")
    assert acc[0].stream.unit == "g"
    assert acc[0].stream.channels == ("acc_x", "acc_y", "acc_z")
    assert acc[0].stream.fs_hz == 50.0
    np.testing.assert_allclose(acc[0].data, [[334 / 2048, 1981 / 2048, 87 / 2048]])
    imu_gaps, acc_gaps = _gaps(items, "imu"), _gaps(items, "acc")
    assert len(imu_gaps) == 1
    assert [(g.start_index, g.n_missing) for g in acc_gaps] == [
        (g.start_index, g.n_missing) for g in imu_gaps
    ]
    assert _assert_contiguous(items, "acc") == _assert_contiguous(items, "imu")


def _h10_frames(
    n_frames: int, *, per_frame: int = 36, rate_hz: float = 200.0, start_ns: int = 10**18
):
    notes = []
    for k in range(n_frames):
        last_sample = (k + 1) * per_frame - 1
        device_ns = start_ns + round(last_sample * 1e9 / rate_hz)
        rows = [[k, -k, 1000]] * per_frame
        arrival = round((last_sample + 1) * 1e9 / 200.0) + 40 * MS
        notes.append(
            RawNotification(arrival, "w", "acc", polar_h10.encode_acc(rows, device_ns), "")
        )
    return notes


def test_polar_lost_frame_is_a_gap_from_device_time() -> None:
    notes = _h10_frames(30)
    items = FrameAssembler(H10).push_many(notes[:10] + notes[12:])
    gaps = _gaps(items, "acc")
    assert [(g.start_index, g.n_missing) for g in gaps] == [(360, 72)]
    assert "device time" in gaps[0].reason


def test_polar_rate_error_of_two_percent_is_not_a_gap() -> None:
    items = FrameAssembler(H10).push_many(_h10_frames(50, rate_hz=196.0))
    assert not _gaps(items, "acc")
    items = FrameAssembler(H10).push_many(_h10_frames(50, rate_hz=204.0))
    assert not _gaps(items, "acc")


def test_polar_clock_reset_falls_back_to_arrival_time() -> None:
    notes = _h10_frames(20)
    late = _h10_frames(20, start_ns=946_684_800 * 10**9 + 599_616_000 * 10**9)  # 2019-01-01
    shifted = [
        RawNotification(n.t_ns + 5000 * MS, n.wearable, n.stream, n.payload, n.char_uuid)
        for n in late[10:]
    ]
    items = FrameAssembler(H10).push_many(notes[:10] + shifted)
    gaps = _gaps(items, "acc")
    assert len(gaps) == 1
    assert "clock" in gaps[0].reason
    assert abs(gaps[0].n_missing - (5000 * 200 // 1000)) <= 3


def test_pmd_notification_is_routed_by_its_type_byte() -> None:
    ecg = polar_h10.encode_ecg([1, 2, 3], 10**18)
    uuid = H10.stream("acc").char_uuids[0]
    items = FrameAssembler(H10).push(RawNotification(0, "w", "acc", ecg, uuid))
    assert [c.stream.name for c in _chunks(items, "ecg")] == ["ecg"]
    assert _chunks(items, "ecg")[0].stream.unit == "uV"


def test_malformed_and_unknown_notifications_are_counted_not_fatal() -> None:
    asm = FrameAssembler(MYO)
    assert asm.push(RawNotification(0, "w", "emg", b"\x01\x02", myo.EMG_DATA_UUIDS[0])) == []
    assert "expected 16 bytes" in asm.last_error
    assert asm.push(RawNotification(1, "w", "nonsense", b"\x01", "")) == []
    assert "unknown stream" in asm.last_error
    items = asm.push(RawNotification(2, "w", "emg", bytes(16), myo.EMG_DATA_UUIDS[1]))
    assert len(_chunks(items)) == 1
    stats = asm.stats()
    assert stats["malformed"] == 1
    assert stats["unrouted"] == 1


def test_battery_is_status_not_samples() -> None:
    asm = FrameAssembler(MYO)
    assert asm.push(RawNotification(0, "w", "battery", b"\x4b", "")) == []
    assert asm.battery_pct == 75
    asm.reset()
    assert asm.battery_pct is None


def test_ganglion_accelerometer_is_a_10_hz_acc_stream() -> None:
    notes = emg_notifications("ganglion", np.zeros((200, 4)))
    packets = ganglion.encode_emg(np.zeros((200, 4)), accel_g=(0.48, -0.32, 1.008))
    notes = [
        RawNotification(n.t_ns, n.wearable, n.stream, p, n.char_uuid)
        for n, p in zip(notes, packets, strict=True)
    ]
    items = FrameAssembler(GANGLION).push_many(notes)
    acc = _chunks(items, "acc")
    assert acc[0].stream.fs_hz == 10.0
    assert len(acc) == 9  # first full x/y/z cycle completes at packet 10
    np.testing.assert_allclose(acc[0].data, [[0.48, -0.32, 1.008]], atol=0.008)
    assert _assert_contiguous(items, "acc") == 9


def test_stream_t0_is_relative_to_the_first_notification() -> None:
    asm = FrameAssembler(MYO, t0_ns=1000 * MS)
    asm.push(RawNotification(1000 * MS, "w", "battery", b"\x10", ""))
    items = asm.push(RawNotification(1500 * MS, "w", "emg", bytes(16), myo.EMG_DATA_UUIDS[0]))
    assert _chunks(items)[0].stream.t0_s == pytest.approx(0.5 - 1 / 200)


@settings(max_examples=40, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 50), min_size=1, max_size=30),
    lost=st.sets(st.integers(0, 399), max_size=20),
)
def test_items_do_not_depend_on_batching(cuts, lost) -> None:
    _, notes = _ganglion_notes(400)
    notes = [n for i, n in enumerate(notes) if i not in lost]
    one_by_one = FrameAssembler(GANGLION)
    expected = [item for n in notes for item in one_by_one.push(n)]
    batched = FrameAssembler(GANGLION)
    got, pos = [], 0
    for cut in cuts * 20:
        got += batched.push_many(notes[pos : pos + cut])
        pos += cut
    got += batched.push_many(notes[pos:]) + batched.flush()
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert type(a) is type(b)
        if isinstance(a, Chunk):
            assert isinstance(b, Chunk)
            assert (a.stream, a.start_index) == (b.stream, b.start_index)
            np.testing.assert_array_equal(a.data, b.data)
        else:
            assert a == b


@settings(max_examples=60, deadline=None)
@given(
    profile_key=st.sampled_from(sorted(devices.REGISTRY)),
    events=st.lists(
        st.tuples(
            st.integers(0, 400),  # ms since previous notification
            st.sampled_from(["emg", "acc", "ecg", "imu", "battery", "bogus"]),
            st.binary(max_size=40),
            st.booleans(),  # take a real payload of that stream instead
        ),
        max_size=60,
    ),
)
def test_random_notifications_never_raise_and_indices_tile(profile_key, events) -> None:
    profile = devices.REGISTRY[profile_key]
    real = {
        "emg": emg_notifications(profile_key, np.ones((2, 8 if profile_key == "myo" else 4)))[
            0
        ].payload
        if profile_key in {"myo", "ganglion"}
        else b"",
        "acc": polar_h10.encode_acc([[1, 2, 3]] * 4, 10**18)
        if profile_key.startswith("polar")
        else b"",
        "imu": bytes.fromhex("3e2eab2be5f824004e01bd0757000300f5fffcff"),
        "ecg": polar_h10.encode_ecg([5, 6], 10**18),
        "battery": b"\x33",
    }
    asm = FrameAssembler(profile)
    t, items = 0, []
    for dt_ms, stream, payload, use_real in events:
        t += dt_ms * MS
        data = real.get(stream, payload) if use_real else payload
        items += asm.push(RawNotification(t, "w", stream, data, ""))
    for name in {s.name for s in profile.streams} | {"acc"}:
        _assert_contiguous(items, name)
    for item in items:
        if isinstance(item, Gap):
            assert item.n_missing > 0
        else:
            assert item.data.shape[1] == len(item.stream.channels)
    stats = asm.stats()
    assert isinstance(stats["malformed"], int)
