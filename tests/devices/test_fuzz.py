"""Random payloads never crash a decoder with anything but DecodeError (Hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import devices
from devices import DecodeError, StreamSpec

SPECS = [(p.key, s) for p in devices.REGISTRY.values() for s in p.streams]
PMD_HEADER = st.builds(
    lambda kind, stamp, frame_type: (
        bytes([kind]) + stamp.to_bytes(8, "little") + bytes([frame_type])
    ),
    st.sampled_from([0, 2, 0x42, 1]),
    st.integers(0, 2**64 - 1),
    st.sampled_from([0x00, 0x01, 0x02, 0x80, 0x81, 0x05]),
)


def _decode_or_reject(spec: StreamSpec, payload: bytes) -> None:
    try:
        frame = spec.decode(payload)
    except DecodeError:
        return
    assert frame.samples.ndim == 2
    assert frame.samples.shape[1] == len(spec.channels)
    assert frame.samples.dtype == np.float64
    assert np.all(np.isfinite(frame.samples))


@pytest.mark.parametrize(("key", "spec"), SPECS, ids=lambda x: x if isinstance(x, str) else x.name)
@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=260))
def test_random_payloads_only_raise_decode_error(
    key: str, spec: StreamSpec, payload: bytes
) -> None:
    _decode_or_reject(spec, payload)


@pytest.mark.parametrize(("key", "spec"), SPECS, ids=lambda x: x if isinstance(x, str) else x.name)
@settings(max_examples=200, deadline=None)
@given(size_bias=st.integers(0, 3), data=st.data())
def test_right_sized_payloads_only_raise_decode_error(key, spec, size_bias, data) -> None:
    """Payloads of the sizes a device really sends reach past the length checks."""
    sizes = {"myo/emg": 16, "myo/imu": 20, "ganglion/emg": 20}
    size = sizes.get(f"{key}/{spec.name}", 1 if spec.name == "battery" else None)
    if size is None:  # PMD: a plausible header then random content
        payload = data.draw(PMD_HEADER) + data.draw(st.binary(max_size=230))
    else:
        payload = data.draw(st.binary(min_size=size, max_size=size))
    _decode_or_reject(spec, payload)
