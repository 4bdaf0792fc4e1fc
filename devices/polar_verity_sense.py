"""Polar Verity Sense over PMD: accelerometer 52 Hz +-8 g in delta-compressed frames.

Sources: ``polarofficial/polar-ble-sdk`` (``documentation/products/PolarVeritySense.md``,
``BlePMDClient.kt`` ``parseDeltaFramesAll``, ``AccDataTest.kt``) and the real Verity capture
and start/response exchange in polar-ble-sdk issues #443 and #331. The Verity sends ACC as
compressed frame type 1 (0x81): a 16-bit reference sample then blocks of packed deltas, mG.
"""

from __future__ import annotations

import itertools

import numpy as np

from devices import _pmd
from devices._codec import pack_lsb_first
from devices.battery import battery_service, battery_stream
from devices.polar_h10 import ACC_CHANNELS, decode_acc_mg
from devices.profile import (
    DeviceProfile,
    Frame,
    Match,
)

ACC_RATE_HZ = 52.0
#: 52 Hz, 16-bit, +-8 g, 3 channels (exact bytes of polar-ble-sdk#443).
START_ACC = _pmd.start_command(_pmd.MEAS_ACC, ((0, 2, 52), (1, 2, 16), (2, 2, 8), (4, 1, 3)))
_MAX_BLOCK = 255
_MEAS_PPG, _MEAS_PPI, _MEAS_GYRO, _MEAS_MAG, _MEAS_SDK = 1, 3, 5, 6, 9


def decode_acc(payload: bytes) -> Frame:
    """ACC frame: shape (n, 3), g; ``device_time_ns`` of the last sample (ns since 1970 UTC).

    Compressed type 1: reference (x, y, z) int16 LE mG, then per block ``bits u8, count u8``
    and count*3 deltas of ``bits`` bits LSB-first, each sample = previous + delta; g = mG/1000.

    Raises:
        DecodeError: wrong measurement/frame type, truncated block, > 16 g.
    """
    time_ns, rows = decode_acc_mg(payload, "polar_verity_sense acc")
    return Frame(samples=np.asarray(rows, dtype=np.float64) / 1000.0, device_time_ns=time_ns)


def encode_acc(samples_mg: list[list[int]], device_time_ns: int) -> bytes:
    """A compressed type-1 ACC frame holding ``samples_mg`` (inverse of :func:`decode_acc`).

    Args:
        samples_mg: per sample (x, y, z) in mG; at least one sample.
        device_time_ns: time of the last sample, ns since 1970 UTC.
    """
    ref = samples_mg[0]
    body = b"".join(int(v).to_bytes(2, "little", signed=True) for v in ref)
    rows = [
        [b - a for a, b in zip(prev, cur, strict=True)]
        for prev, cur in itertools.pairwise(samples_mg)
    ]
    for start in range(0, len(rows), _MAX_BLOCK):  # the block's sample count is one byte
        block = rows[start : start + _MAX_BLOCK]
        deltas = [d for row in block for d in row]
        bits = max(max(abs(d) for d in deltas).bit_length() + 1, 2)
        body += bytes([bits, len(block)]) + pack_lsb_first(deltas, bits)
    stamp = device_time_ns - _pmd.POLAR_EPOCH_NS
    return bytes([_pmd.MEAS_ACC]) + stamp.to_bytes(8, "little") + bytes([0x81]) + body


PROFILE = DeviceProfile(
    key="polar_verity_sense",
    version=1,
    title="Polar Verity Sense (ACC 52 Hz +-8 g)",
    match=Match(
        name_prefixes=("Polar Sense", "Polar Verity"),
        service_uuids=(_pmd.SERVICE_UUID, _pmd.POLAR_SERVICE_16_UUID),
        manufacturer_ids=_pmd.POLAR_COMPANY_IDS,
    ),
    streams=(
        _pmd.data_stream(
            "acc",
            _pmd.MEAS_ACC,
            fs_hz=ACC_RATE_HZ,
            channels=ACC_CHANNELS,
            unit="g",
            decode=decode_acc,
        ),
        battery_stream(),
    ),
    gatt=(
        _pmd.pmd_service(_MEAS_PPG, _pmd.MEAS_ACC, _MEAS_PPI, _MEAS_GYRO, _MEAS_MAG, _MEAS_SDK),
        battery_service(),
    ),
    pre_subscribe=(_pmd.CONTROL_POINT_UUID,),
    init_writes=(_pmd.start_write(START_ACC, _pmd.MEAS_ACC),),
    stop_writes=(_pmd.stop_write(_pmd.MEAS_ACC),),
    min_mtu=232,
    notes=(
        "subscribe to the PMD control point before writing to it; request MTU >= 232",
        "ACC arrives in delta-compressed frames; no EMG",
        "always send STOP before disconnecting",
    ),
)
