"""How each emulated device packs its streams into notifications.

A :class:`PacketPlan` says which characteristic(s) carry one stream, how many samples go in one
notification, and the function that builds the bytes. The byte layouts are the inverse of the
decoders in ``devices/``; the encoders themselves live there too (``encode_emg``, ``encode_acc``,
...), so a decoder and its inverse are tested together, and the emulator tests check the round
trip through the profile's own decoders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from devices import ganglion, myo, polar_h10, polar_verity_sense
from devices.profile import DeviceProfile
from processor.model import FloatArray

#: Myo EMG is unitless int8; the emulator maps µV to counts with this gain (a 120 µV RMS cramp
#: then peaks near the int8 limit, as a real armband saturates in strong contractions).
MYO_UV_PER_COUNT = 4.0
#: The emulated Polar clock starts at 2026-01-01T00:00:00Z (ns since 1970), then runs on.
POLAR_CLOCK_START_NS = 1_767_225_600 * 1_000_000_000

#: ``(samples (k, c) of the plan's source, acc (k, 3) g, packet index, time of last sample ns)``
Encode = Callable[[FloatArray, FloatArray, int, int], bytes]


@dataclass(frozen=True, slots=True)
class PacketPlan:
    """How one stream is sent.

    Attributes:
        stream: stream name in the profile (``emg``, ``acc``, ``ecg``, ``imu``).
        source: which signal feeds it: ``emg`` (µV), ``acc`` (g) or ``ecg`` (µV).
        char_uuids: notify characteristic(s), used in rotation (Myo EMG uses four).
        samples_per_packet: samples in one notification.
        fs_hz: sample rate the device sends at.
        encode: builds one notification.
    """

    stream: str
    source: str
    char_uuids: tuple[str, ...]
    samples_per_packet: int
    fs_hz: float
    encode: Encode


def _myo_emg(emg_uv: FloatArray, _acc: FloatArray, _k: int, _t: int) -> bytes:
    return myo.encode_emg(emg_uv[:, :8] / MYO_UV_PER_COUNT)[0]


def _myo_imu(acc_g: FloatArray, _acc: FloatArray, _k: int, _t: int) -> bytes:
    return myo.encode_imu((1.0, 0.0, 0.0, 0.0), tuple(acc_g[0, :3].tolist()), (0.0, 0.0, 0.0))


def _ganglion_emg(emg_uv: FloatArray, acc_g: FloatArray, k: int, _t: int) -> bytes:
    accel = (float(acc_g[0, 0]), float(acc_g[0, 1]), float(acc_g[0, 2]))
    return ganglion.encode_emg(emg_uv[:, :4], first_id=k % ganglion.SEQ_MODULUS, accel_g=accel)[0]


def _mg(acc_g: FloatArray) -> list[list[int]]:
    return [[round(v) for v in row] for row in (acc_g[:, :3] * 1000.0).tolist()]


def _h10_acc(acc_g: FloatArray, _acc: FloatArray, _k: int, t_ns: int) -> bytes:
    return polar_h10.encode_acc(_mg(acc_g), t_ns)


def _h10_ecg(ecg_uv: FloatArray, _acc: FloatArray, _k: int, t_ns: int) -> bytes:
    return polar_h10.encode_ecg([round(v) for v in ecg_uv[:, 0].tolist()], t_ns)


def _verity_acc(acc_g: FloatArray, _acc: FloatArray, _k: int, t_ns: int) -> bytes:
    return polar_verity_sense.encode_acc(_mg(acc_g), t_ns)


_LAYOUT: dict[tuple[str, str], tuple[str, int, Encode]] = {
    ("myo", "emg"): ("emg", 2, _myo_emg),
    ("myo", "imu"): ("acc", 1, _myo_imu),
    ("ganglion", "emg"): ("emg", 2, _ganglion_emg),
    ("polar_h10", "acc"): ("acc", 20, _h10_acc),
    ("polar_h10", "ecg"): ("ecg", 13, _h10_ecg),
    ("polar_verity_sense", "acc"): ("acc", 13, _verity_acc),
}


def packet_plans(profile: DeviceProfile) -> tuple[PacketPlan, ...]:
    """Packet plans for every regular stream of ``profile`` that the emulator can feed."""
    plans = []
    for spec in profile.streams:
        layout = _LAYOUT.get((profile.key, spec.name))
        if spec.regular and layout is not None:
            source, per_packet, encode = layout
            plans.append(
                PacketPlan(spec.name, source, spec.char_uuids, per_packet, spec.fs_hz, encode)
            )
    return tuple(plans)


def ecg_uv(t_s: FloatArray) -> FloatArray:
    """A crude 60 bpm ECG (1 mV R waves) at times ``t_s``: shape (n, 1), µV."""
    phase = np.mod(t_s, 1.0)
    return np.asarray(1000.0 * np.exp(-0.5 * ((phase - 0.3) / 0.01) ** 2))[:, None]
