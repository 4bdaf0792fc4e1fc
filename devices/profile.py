"""Frozen device-profile types and the decode error: the whole vocabulary of the byte library.

A device is data (a :class:`DeviceProfile`) plus pure decode functions ``bytes -> Frame``.
Nothing here knows about BLE libraries, asyncio or the processor package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


class DecodeError(ValueError):
    """A notification payload cannot be decoded (wrong length, bad type byte, impossible value)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """Samples decoded from one notification.

    Attributes:
        samples: shape (n_samples_in_packet, n_channels), float64, in the stream's unit.
        seq: packet counter where the device sends one, else None.
        device_time_ns: device timestamp of the *last* sample, ns since 1970-01-01 UTC, else None.
    """

    samples: NDArray[np.float64]
    seq: int | None = None
    device_time_ns: int | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """How a scan result is recognised (any given field must match)."""

    name_prefixes: tuple[str, ...] = ()
    service_uuids: tuple[str, ...] = ()
    manufacturer_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class GattWrite:
    """One write to a characteristic (init/stop commands)."""

    char_uuid: str
    data: bytes
    response: bool = True


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One stream a device sends.

    Attributes:
        name: ``emg``, ``acc``, ``ecg``, ``imu`` or ``battery``.
        char_uuids: notify characteristic(s) carrying it (lowercase 128-bit UUIDs).
        fs_hz: nominal sample rate in Hz.
        channels: channel names, one per decoded column.
        unit: unit of the decoded samples (``uV``, ``counts``, ``g``, ``pct``, ...).
        decode: pure ``bytes -> Frame``; raises :class:`DecodeError`.
        seq_modulus: packet counter wraps at this value (None: the device sends no counter).
        seq_step: counter increment per packet.
    """

    name: str
    char_uuids: tuple[str, ...]
    fs_hz: float
    channels: tuple[str, ...]
    unit: str
    decode: Callable[[bytes], Frame]
    seq_modulus: int | None = None
    seq_step: int = 1


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """A wearable: how to find it, what it streams, and the writes that start/stop streaming.

    Attributes:
        key: stable id used on the command line, in configs and in recordings (``myo``).
        version: bump when decode semantics change; written into recordings.
        title: human-readable name.
        match: how a scan result is recognised.
        streams: the streams it sends.
        init_writes: writes that start streaming, re-sent after every reconnect.
        stop_writes: writes sent before a clean disconnect.
        min_mtu: ATT MTU the device needs (0: default is enough).
        needs_pairing: whether the device must be bonded first.
    """

    key: str
    version: int
    title: str
    match: Match
    streams: tuple[StreamSpec, ...]
    init_writes: tuple[GattWrite, ...] = ()
    stop_writes: tuple[GattWrite, ...] = ()
    min_mtu: int = 0
    needs_pairing: bool = False

    def stream(self, name: str) -> StreamSpec:
        """The stream called ``name``; KeyError naming the choices if there is none."""
        for spec in self.streams:
            if spec.name == name:
                return spec
        choices = ", ".join(s.name for s in self.streams)
        raise KeyError(f"{self.key} has no stream {name!r} (streams: {choices})")
