"""Polar H10 chest strap over PMD: accelerometer 200 Hz +-8 g and ECG 130 Hz.

Sources: ``polarofficial/polar-ble-sdk`` (``documentation/products/PolarH10.md``,
``AccDataTest.kt``, ``EcgDataTest.kt``), ``fsmeraldi/bleakheart`` ``_core.py`` (the H10 sends
ACC as frame type 1 and ECG as type 0). Both streams share the PMD data characteristic; byte 0
tells them apart. Device timestamps (ns since 2000, last sample) become ns since 1970 UTC.
"""

from __future__ import annotations

import numpy as np

from devices import _pmd
from devices.battery import battery_service, battery_stream
from devices.profile import (
    DecodeError,
    DeviceProfile,
    Frame,
    Match,
)

ACC_CHANNELS = ("acc_x", "acc_y", "acc_z")
ACC_RATE_HZ = 200.0
ECG_RATE_HZ = 130.0
ACC_LIMIT_MG = 16_000  # beyond any H10 range setting (+-8 g max): impossible value
_ACC_WIDTH = {0: 1, 1: 2, 2: 3}  # frame type -> bytes per axis (mG)
_ECG_WIDTH = 3  # frame type 0: int24 µV

#: 200 Hz, 16-bit, +-8 g (devices.md section 3.4).
START_ACC = _pmd.start_command(_pmd.MEAS_ACC, ((0, 2, 200), (1, 2, 16), (2, 2, 8)))
#: 130 Hz, 14-bit.
START_ECG = _pmd.start_command(_pmd.MEAS_ECG, ((0, 2, 130), (1, 2, 14)))


def decode_acc_mg(payload: bytes, what: str) -> tuple[int, list[list[int]]]:
    """ACC frame -> (device_time_ns, samples in mG); shared with the Verity Sense.

    Raises:
        DecodeError: wrong measurement type, unknown frame type, ragged content, > 16 g.
    """
    time_ns, frame_type, compressed, content = _pmd.parse_header(payload, _pmd.MEAS_ACC, what)
    if compressed:
        if frame_type != 1:
            raise DecodeError(f"{what}: compressed frame type {frame_type} is not supported")
        rows = _pmd.delta_samples(content, 3, 16, what)
    else:
        width = _ACC_WIDTH.get(frame_type)
        if width is None:
            raise DecodeError(f"{what}: unknown frame type {frame_type}")
        rows = _pmd.plain_samples(content, 3, width, what)
    if any(abs(v) > ACC_LIMIT_MG for row in rows for v in row):
        raise DecodeError(f"{what}: acceleration beyond {ACC_LIMIT_MG} mG")
    return time_ns, rows


def decode_acc(payload: bytes) -> Frame:
    """ACC frame: shape (n, 3), g; ``device_time_ns`` of the last sample (ns since 1970 UTC).

    g = mG / 1000 (frame type 1: three int16 LE mG per sample; 0/2: int8/int24).

    Raises:
        DecodeError: see :func:`decode_acc_mg`.
    """
    time_ns, rows = decode_acc_mg(payload, "polar_h10 acc")
    return Frame(samples=np.asarray(rows, dtype=np.float64) / 1000.0, device_time_ns=time_ns)


def decode_ecg(payload: bytes) -> Frame:
    """ECG frame type 0: shape (n, 1), µV (int24 LE per sample).

    Raises:
        DecodeError: wrong measurement or frame type, compressed, content not 3-byte samples.
    """
    what = "polar_h10 ecg"
    time_ns, frame_type, compressed, content = _pmd.parse_header(payload, _pmd.MEAS_ECG, what)
    if compressed or frame_type != 0:
        raise DecodeError(f"{what}: frame type {frame_type:#x} is not supported (expected 0)")
    rows = _pmd.plain_samples(content, 1, _ECG_WIDTH, what)
    return Frame(samples=np.asarray(rows, dtype=np.float64), device_time_ns=time_ns)


def encode_acc(samples_mg: list[list[int]], device_time_ns: int) -> bytes:
    """An uncompressed type-1 ACC frame (inverse of :func:`decode_acc`, for tests/emulators).

    Args:
        samples_mg: per sample (x, y, z) in mG.
        device_time_ns: time of the last sample, ns since 1970 UTC.
    """
    stamp = device_time_ns - _pmd.POLAR_EPOCH_NS
    body = b"".join(int(v).to_bytes(2, "little", signed=True) for row in samples_mg for v in row)
    return bytes([_pmd.MEAS_ACC]) + stamp.to_bytes(8, "little") + bytes([0x01]) + body


def encode_ecg(samples_uv: list[int], device_time_ns: int) -> bytes:
    """A type-0 ECG frame (inverse of :func:`decode_ecg`)."""
    stamp = device_time_ns - _pmd.POLAR_EPOCH_NS
    body = b"".join(int(v).to_bytes(3, "little", signed=True) for v in samples_uv)
    return bytes([_pmd.MEAS_ECG]) + stamp.to_bytes(8, "little") + bytes([0x00]) + body


PROFILE = DeviceProfile(
    key="polar_h10",
    version=1,
    title="Polar H10 chest strap (ACC 200 Hz +-8 g, ECG 130 Hz)",
    match=Match(
        name_prefixes=("Polar H10",),
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
        _pmd.data_stream(
            "ecg", _pmd.MEAS_ECG, fs_hz=ECG_RATE_HZ, channels=("ecg",), unit="uV", decode=decode_ecg
        ),
        battery_stream(),
    ),
    gatt=(
        _pmd.pmd_service(_pmd.MEAS_ECG, _pmd.MEAS_ACC),
        battery_service(),
    ),
    pre_subscribe=(_pmd.CONTROL_POINT_UUID,),
    init_writes=(
        _pmd.start_write(START_ACC, _pmd.MEAS_ACC),
        _pmd.start_write(START_ECG, _pmd.MEAS_ECG),
    ),
    stop_writes=(_pmd.stop_write(_pmd.MEAS_ACC), _pmd.stop_write(_pmd.MEAS_ECG)),
    min_mtu=232,
    notes=(
        "subscribe to the PMD control point before writing to it; request MTU >= 232",
        "always send STOP before disconnecting, else the strap streams until its battery dies",
        "some stacks (Windows) need bonding before PMD writes",
        "no sequence counter: gaps are found from device timestamps",
    ),
)
