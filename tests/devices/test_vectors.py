"""Byte-exact decode vectors and rejection vectors for every device profile.

Each vector file (tests/devices/vectors/<profile>.toml) cites its public source and the decode
arithmetic; here every decoded value is pinned: samples (``raw`` x ``scale`` or ``samples``),
``seq``, ``device_time_ns`` and the auxiliary (accelerometer) values.
"""

from __future__ import annotations

import numpy as np
import pytest

import devices
from devices import DecodeError
from tests.devices._vectors import Vector, vectors

POSITIVE = vectors("vector")
REJECT = vectors("reject")


@pytest.mark.parametrize("vec", POSITIVE, ids=lambda v: v.id)
def test_vector_decodes_exactly(vec: Vector) -> None:
    spec = devices.REGISTRY[vec.profile].stream(vec.stream)
    frame = spec.decode(vec.payload)
    entry = vec.entry
    if "raw" in entry:
        expected = np.asarray(entry["raw"], dtype=np.float64).reshape(-1, len(spec.channels))
        expected = expected * entry["scale"]
        np.testing.assert_allclose(frame.samples, expected, rtol=1e-12, atol=1e-12)
    else:
        expected = np.asarray(entry["samples"], dtype=np.float64)
        np.testing.assert_allclose(frame.samples, expected, rtol=0, atol=entry["tolerance"])
    assert frame.samples.dtype == np.float64
    assert frame.samples.shape == (expected.shape[0], len(spec.channels))
    assert frame.seq == entry.get("seq")
    assert frame.device_time_ns == entry.get("device_time_ns")
    aux = dict(frame.aux)
    assert aux.keys() == entry.get("aux", {}).keys()
    for name, value in entry.get("aux", {}).items():
        assert aux[name] == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("vec", REJECT, ids=lambda v: v.id + "-" + v.entry["why"])
def test_rejection_vector_raises_decode_error(vec: Vector) -> None:
    spec = devices.REGISTRY[vec.profile].stream(vec.stream)
    with pytest.raises(DecodeError, match=vec.entry["error"]):
        spec.decode(vec.payload)


def test_decode_error_is_a_value_error() -> None:
    assert issubclass(DecodeError, ValueError)


def test_polar_timestamp_epoch_is_2000() -> None:
    """devices.md 3.6: the real Verity capture's stamp is 2024-02-23T18:38:28.863Z."""
    import datetime as dt

    vec = next(v for v in POSITIVE if v.profile == "polar_verity_sense" and len(v.payload) > 40)
    frame = devices.REGISTRY["polar_verity_sense"].stream("acc").decode(vec.payload)
    assert frame.device_time_ns is not None
    when = dt.datetime.fromtimestamp(frame.device_time_ns // 10**9, tz=dt.UTC)
    assert when == dt.datetime(2024, 2, 23, 18, 38, 28, tzinfo=dt.UTC)
