"""Encoders (used by tests, emulators and raw-recording builders) invert the decoders."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from devices import battery, ganglion, myo, polar_h10, polar_verity_sense


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(
        np.int64,
        st.tuples(st.integers(0, 20).map(lambda n: 2 * n), st.just(8)),
        elements=st.integers(-128, 127),
    )
)
def test_myo_emg_round_trip(counts) -> None:
    payloads = myo.encode_emg(counts)
    assert all(len(p) == 16 for p in payloads)
    decoded = (
        np.concatenate([myo.decode_emg(p).samples for p in payloads])
        if payloads
        else np.zeros((0, 8))
    )
    np.testing.assert_array_equal(decoded, counts)


def test_myo_imu_round_trip() -> None:
    payload = myo.encode_imu(
        (0.72253418, 0.68231201, -0.11102295, 0.00219727),
        (0.16308594, 0.96728516, 0.04248047),
        (0.1875, -0.6875, -0.25),
    )
    assert payload.hex() == "3e2eab2be5f824004e01bd0757000300f5fffcff"


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 10).map(lambda n: 2 * n), st.just(4)),
        elements=st.floats(-15000, 15000),
    ),
    st.integers(0, 99),
    st.booleans(),
)
def test_ganglion_round_trip_within_one_lsb(uv, first_id, with_accel) -> None:
    accel = (0.1, -0.2, 0.96) if with_accel else None
    payloads = ganglion.encode_emg(uv, first_id=first_id, accel_g=accel)
    frames = [ganglion.decode_emg(p) for p in payloads]
    assert [f.seq for f in frames] == [(first_id + i) % 100 for i in range(len(payloads))]
    decoded = np.concatenate([f.samples for f in frames])
    lsb_counts = 128 if with_accel else 64  # 18-bit / 19-bit resolution
    # BrainFlow rounds negatives down by one LSB: error below two LSB
    assert np.max(np.abs(decoded - uv)) <= 2 * lsb_counts * ganglion.UV_PER_COUNT


def test_ganglion_synthetic_vector_is_what_the_firmware_packs() -> None:
    """devices.md 2.6 B: compressData19 of A=[1000,-1000,123456,-123456] and
    B=[5000,-5000,4194303,-4194304]."""
    counts = np.array([[1000, -1000, 123456, -123456], [5000, -5000, 4194303, -4194304]])
    payload = ganglion.encode_emg(counts * ganglion.UV_PER_COUNT, first_id=1)[0]
    assert payload.hex() == "650003dfff8407897f0ef00139ffd8cffff60001"


def test_ganglion_accel_axes() -> None:
    uv = np.zeros((2 * 10, 4))
    frames = [
        ganglion.decode_emg(p)
        for p in ganglion.encode_emg(uv, first_id=0, accel_g=(0.48, -0.32, 1.008))
    ]
    aux = {k: v for f in frames for k, v in f.aux}
    assert aux == pytest.approx({"acc_x": 0.48, "acc_y": -0.32, "acc_z": 1.008}, abs=0.008)


def test_polar_h10_round_trips() -> None:
    t = 1_700_000_000_123_456_789
    frame = polar_h10.decode_acc(polar_h10.encode_acc([[1, -2, 1000], [4, 5, -980]], t))
    np.testing.assert_array_equal(frame.samples * 1000, [[1, -2, 1000], [4, 5, -980]])
    assert frame.device_time_ns == t
    ecg = polar_h10.decode_ecg(polar_h10.encode_ecg([-500, 1200, 8_000_000], t))
    np.testing.assert_array_equal(ecg.samples[:, 0], [-500, 1200, 8_000_000])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(*[st.integers(-8000, 8000)] * 3).map(list), min_size=1, max_size=300))
def test_verity_compressed_round_trip(rows) -> None:
    t = 1_708_713_508_863_099_136
    frame = polar_verity_sense.decode_acc(polar_verity_sense.encode_acc(rows, t))
    np.testing.assert_array_equal(np.rint(frame.samples * 1000), rows)
    assert frame.device_time_ns == t


def test_battery_encode_bounds() -> None:
    assert battery.decode_battery(battery.encode_battery(42)).samples.tolist() == [[42.0]]
    with pytest.raises(ValueError, match="outside"):
        battery.encode_battery(101)
