"""Thalmic Labs / North Myo armband: 8-ch EMG (int8 counts, 200 Hz) and IMU (50 Hz).

Sources: ``thalmiclabs/myo-bluetooth`` ``myohw.h`` (UUIDs, commands, scales); real payloads
from ``iomz/dl-myo`` ``tests/test_myo/test_types.py``. All Myo data is little-endian (the
header's "big-endian" is wrong, see devices.md section 1.9). There is no sequence counter and no
device timestamp: loss is detected from arrival timing.
"""

from __future__ import annotations

import struct

import numpy as np
from numpy.typing import NDArray

from devices._codec import expect_length
from devices.battery import battery_service, battery_stream
from devices.profile import (
    CharSpec,
    DecodeError,
    DerivedStream,
    DeviceProfile,
    Frame,
    GattWrite,
    Match,
    ServiceSpec,
    StreamSpec,
)


def myo_uuid(short: int) -> str:
    """Myo vendor UUID for a 16-bit short id (base ``d506XXXX-a904-deb9-4748-2c7f4a124842``)."""
    return f"d506{short:04x}-a904-deb9-4748-2c7f4a124842"


CONTROL_SERVICE_UUID = myo_uuid(0x0001)
FIRMWARE_VERSION_UUID = myo_uuid(0x0201)
COMMAND_UUID = myo_uuid(0x0401)
IMU_SERVICE_UUID = myo_uuid(0x0002)
IMU_DATA_UUID = myo_uuid(0x0402)
EMG_SERVICE_UUID = myo_uuid(0x0005)
EMG_DATA_UUIDS = tuple(myo_uuid(s) for s in (0x0105, 0x0205, 0x0305, 0x0405))
THALMIC_COMPANY_ID = 0x0562

CMD_NEVER_SLEEP = bytes([0x09, 0x01, 0x01])
CMD_NORMAL_SLEEP = bytes([0x09, 0x01, 0x00])
CMD_RAW_EMG_IMU = bytes([0x01, 0x03, 0x03, 0x01, 0x00])
CMD_STREAMS_OFF = bytes([0x01, 0x03, 0x00, 0x00, 0x00])

EMG_CHANNELS = tuple(f"emg_{i}" for i in range(8))
IMU_CHANNELS = (
    "quat_w", "quat_x", "quat_y", "quat_z",
    "acc_x", "acc_y", "acc_z",
    "gyro_x", "gyro_y", "gyro_z",
)  # fmt: skip
_EMG_SIZE = 16
_IMU = struct.Struct("<10h")
_QUAT_SCALE = 16384.0  # MYOHW_ORIENTATION_SCALE
_ACC_SCALE = 2048.0  # MYOHW_ACCELEROMETER_SCALE, counts per g
_GYRO_SCALE = 16.0  # MYOHW_GYROSCOPE_SCALE, counts per deg/s
_QUAT_NORM_TOLERANCE = 0.1


def decode_emg(payload: bytes) -> Frame:
    """Two consecutive 8-channel EMG samples: shape (2, 8), int8 ADC counts.

    Bytes 0-7 are sample 1, channels 1..8; bytes 8-15 sample 2 (``myohw_emg_data_t``).

    Raises:
        DecodeError: payload is not 16 bytes.
    """
    expect_length(payload, _EMG_SIZE, "myo emg")
    counts = np.frombuffer(payload, dtype=np.int8).astype(np.float64)
    return Frame(samples=counts.reshape(2, 8))


def encode_emg(samples: NDArray[np.float64] | NDArray[np.int64]) -> list[bytes]:
    """Notifications carrying ``samples``: the inverse of :func:`decode_emg`.

    Args:
        samples: shape (n_samples, 8), counts; rounded and clipped to -128..127. An odd last
            sample is dropped (each notification carries two).

    Returns:
        One 16-byte payload per two samples, in order.
    """
    counts = np.clip(np.rint(np.asarray(samples, dtype=np.float64)), -128, 127).astype(np.int8)
    if counts.ndim != 2 or counts.shape[1] != len(EMG_CHANNELS):  # noqa: PLR2004
        raise ValueError(f"myo emg: expected shape (n, 8), got {counts.shape}")
    n_pairs = counts.shape[0] // 2
    return [counts[2 * i : 2 * i + 2].tobytes() for i in range(n_pairs)]


def decode_imu(payload: bytes) -> Frame:
    """One IMU sample: shape (1, 10) = quaternion w,x,y,z (unitless), acc x,y,z (g), gyro (deg/s).

    Raises:
        DecodeError: payload is not 20 bytes, or the quaternion is far from unit length.
    """
    expect_length(payload, _IMU.size, "myo imu")
    raw = np.asarray(_IMU.unpack(payload), dtype=np.float64)
    quat = raw[0:4] / _QUAT_SCALE
    norm = float(np.sqrt(np.sum(quat**2)))
    if abs(norm - 1.0) > _QUAT_NORM_TOLERANCE:
        raise DecodeError(f"myo imu: quaternion norm {norm:.3f} is not ~1")
    values = np.concatenate([quat, raw[4:7] / _ACC_SCALE, raw[7:10] / _GYRO_SCALE])
    return Frame(samples=values.reshape(1, 10))


def encode_imu(
    quat: tuple[float, ...], acc_g: tuple[float, ...], gyro_dps: tuple[float, ...]
) -> bytes:
    """The 20-byte IMU notification for one sample (inverse of :func:`decode_imu`)."""
    scaled = [q * _QUAT_SCALE for q in quat] + [a * _ACC_SCALE for a in acc_g]
    scaled += [g * _GYRO_SCALE for g in gyro_dps]
    ints = [int(np.clip(round(v), -32768, 32767)) for v in scaled]
    return _IMU.pack(*ints)


PROFILE = DeviceProfile(
    key="myo",
    version=1,
    title="Thalmic Labs Myo armband (8-ch EMG 200 Hz + IMU 50 Hz)",
    match=Match(
        name_prefixes=("Myo",),
        service_uuids=(CONTROL_SERVICE_UUID,),
        manufacturer_ids=(THALMIC_COMPANY_ID,),
    ),
    streams=(
        StreamSpec(
            name="emg",
            char_uuids=EMG_DATA_UUIDS,
            fs_hz=200.0,
            channels=EMG_CHANNELS,
            unit="counts",
            decode=decode_emg,
        ),
        StreamSpec(
            name="imu",
            char_uuids=(IMU_DATA_UUID,),
            fs_hz=50.0,
            channels=IMU_CHANNELS,
            unit="mixed",
            decode=decode_imu,
            derived=(DerivedStream("acc", ("acc_x", "acc_y", "acc_z"), "g", columns=(4, 5, 6)),),
        ),
        battery_stream(),
    ),
    gatt=(
        ServiceSpec(
            CONTROL_SERVICE_UUID,
            (
                CharSpec(FIRMWARE_VERSION_UUID, ("read",), bytes.fromhex("01000500b2070200")),
                CharSpec(COMMAND_UUID, ("write",)),
            ),
        ),
        ServiceSpec(IMU_SERVICE_UUID, (CharSpec(IMU_DATA_UUID, ("notify",)),)),
        ServiceSpec(EMG_SERVICE_UUID, tuple(CharSpec(u, ("notify",)) for u in EMG_DATA_UUIDS)),
        battery_service(),
    ),
    init_writes=(
        GattWrite(COMMAND_UUID, CMD_NEVER_SLEEP),
        GattWrite(COMMAND_UUID, CMD_RAW_EMG_IMU),
    ),
    stop_writes=(
        GattWrite(COMMAND_UUID, CMD_STREAMS_OFF),
        GattWrite(COMMAND_UUID, CMD_NORMAL_SLEEP),
    ),
    notes=(
        "EMG in raw ADC counts (-128..127), no uV scale",
        "no sequence counter: packet loss is inferred from arrival timing",
        "stream modes reset on disconnect: init writes are re-sent after every reconnect",
    ),
)
