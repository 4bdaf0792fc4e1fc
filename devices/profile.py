"""Frozen device-profile types and the decode error: the whole vocabulary of the byte library.

A device is data (a :class:`DeviceProfile`) plus pure decode functions ``bytes -> Frame``.
Nothing here knows about BLE libraries, asyncio or the processor package.

How a collector uses a profile (the order matters, see :class:`DeviceProfile`):

1. scan: :func:`match_profile` on each advertisement (name, service UUIDs, manufacturer ids);
2. connect (one device at a time on BlueZ), request ``min_mtu`` and pair if ``needs_pairing``;
3. check that every characteristic of ``profile.gatt`` marked ``required`` exists;
4. subscribe to ``pre_subscribe`` (control points whose replies come as notifications), then
   to every stream characteristic with ``notify`` (:meth:`DeviceProfile.notify_uuids`);
5. send ``init_writes`` in order; a write with ``reply_prefix`` waits for the notification on
   ``reply_uuid`` that starts with it and checks it with :meth:`GattWrite.reply_ok`;
6. read streams with ``read_initial`` once (battery) and treat the value as a notification;
7. stream: label each notification with :meth:`DeviceProfile.stream_for`;
8. after a reconnect repeat 2-6 when ``reinit_on_reconnect`` (every current device);
9. before a clean disconnect send ``stop_writes``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


class DecodeError(ValueError):
    """A notification payload cannot be decoded (wrong length, bad type byte, impossible value)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """Samples decoded from one notification.

    Attributes:
        samples: shape (n_samples_in_packet, n_channels), float64, in the stream's unit. May
            have zero rows for packets that carry no samples (Ganglion impedance/ASCII packets).
        seq: packet counter where the device sends one, else None.
        device_time_ns: device timestamp of the *last* sample, ns since 1970-01-01 UTC, else None.
        aux: side-channel values carried by the packet, ``(channel, value)`` pairs in the unit of
            a :class:`DerivedStream` (the Ganglion sends one accelerometer axis per packet).
    """

    samples: NDArray[np.float64]
    seq: int | None = None
    device_time_ns: int | None = None
    aux: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    """How a scan result is recognised (any given field may match; names are the strongest)."""

    name_prefixes: tuple[str, ...] = ()
    service_uuids: tuple[str, ...] = ()
    manufacturer_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class GattWrite:
    """One write to a characteristic (init/stop commands).

    Attributes:
        char_uuid: characteristic written (lowercase 128-bit).
        data: exact bytes.
        response: write with response (True) or write-without-response/command (False).
        reply_uuid: characteristic whose notification answers this write ("" = no reply). It is
            listed in ``DeviceProfile.pre_subscribe`` so it is subscribed before the write.
        reply_prefix: a notification on ``reply_uuid`` starting with these bytes is the answer
            (Polar PMD: ``F0 <opcode> <measurement type>``); empty: do not wait for one.
        ok_status: the byte right after ``reply_prefix`` must be one of these for success.
    """

    char_uuid: str
    data: bytes
    response: bool = True
    reply_uuid: str = ""
    reply_prefix: bytes = b""
    ok_status: tuple[int, ...] = (0,)

    def reply_ok(self, reply: bytes) -> bool | None:
        """None if ``reply`` is not the answer to this write, else whether it reports success."""
        if not self.reply_prefix or not reply.startswith(self.reply_prefix):
            return None
        if len(reply) <= len(self.reply_prefix):
            return False
        return reply[len(self.reply_prefix)] in self.ok_status


@dataclass(frozen=True, slots=True)
class CharSpec:
    """One characteristic of the device's GATT table (for checks and for emulators).

    Attributes:
        uuid: lowercase 128-bit UUID.
        properties: subset of ``read``, ``write``, ``write_without_response``, ``notify``,
            ``indicate``.
        value: initial value an emulator serves on read (battery ``0x64``, PMD feature bitmap).
        required: the collector refuses the device when it is missing.
    """

    uuid: str
    properties: tuple[str, ...]
    value: bytes = b""
    required: bool = True


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One primary service and its characteristics."""

    uuid: str
    characteristics: tuple[CharSpec, ...]


@dataclass(frozen=True, slots=True)
class DerivedStream:
    """A stream computed from another stream's frames (Myo IMU -> ``acc``; Ganglion -> ``acc``).

    Either ``columns`` picks columns of every decoded sample (same rate as the source), or
    ``aux_emit_on`` builds one sample from the latest ``Frame.aux`` values of ``channels``
    each time a frame carries ``aux_emit_on``; that sample then stands for
    ``source_samples_per_sample`` source samples (rate = source rate / that).

    Attributes:
        name: derived stream name (``acc``).
        channels: its channel names (``acc_x``, ``acc_y``, ``acc_z``).
        unit: its unit (``g``).
        columns: source column indices, one per channel (column mode).
        aux_emit_on: aux channel that completes one sample (aux mode).
        source_samples_per_sample: decimation of the aux mode.
    """

    name: str
    channels: tuple[str, ...]
    unit: str
    columns: tuple[int, ...] = ()
    aux_emit_on: str = ""
    source_samples_per_sample: int = 1


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One stream a device sends.

    Attributes:
        name: ``emg``, ``acc``, ``ecg``, ``imu`` or ``battery``.
        char_uuids: notify characteristic(s) carrying it (lowercase 128-bit UUIDs).
        fs_hz: nominal sample rate in Hz (for ``regular=False`` streams: a nominal value only).
        channels: channel names, one per decoded column.
        unit: unit of the decoded samples (``uV``, ``counts``, ``g``, ``pct``, ...).
        decode: pure ``bytes -> Frame``; raises :class:`DecodeError`.
        seq_modulus: packet counter wraps at this value (None: the device sends no counter).
        seq_step: counter increment per packet.
        accepts: for a characteristic shared by several streams (Polar PMD data carries ACC and
            ECG), whether a payload belongs to this stream; None: every payload does.
        derived: streams computed from this one.
        regular: samples come at ``fs_hz`` (False: sporadic values such as battery level, which
            are reported as status, not as sample chunks).
        read_initial: read the characteristic once after connecting (battery).
        has_device_time: frames carry ``device_time_ns`` (gap detection from device clock).
    """

    name: str
    char_uuids: tuple[str, ...]
    fs_hz: float
    channels: tuple[str, ...]
    unit: str
    decode: Callable[[bytes], Frame]
    seq_modulus: int | None = None
    seq_step: int = 1
    accepts: Callable[[bytes], bool] | None = None
    derived: tuple[DerivedStream, ...] = ()
    regular: bool = True
    read_initial: bool = False
    has_device_time: bool = False


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """A wearable: how to find it, what it streams, and the writes that start/stop streaming.

    Attributes:
        key: stable id used on the command line, in configs and in recordings (``myo``).
        version: bump when decode semantics change; written into recordings.
        title: human-readable name.
        match: how a scan result is recognised.
        streams: the streams it sends.
        gatt: services and characteristics the device exposes (the ones we use).
        pre_subscribe: characteristics to subscribe to before any init write (control points).
        init_writes: writes that start streaming, in order.
        reinit_on_reconnect: re-subscribe and re-send ``init_writes`` after every reconnect
            (stream modes reset on disconnect on every supported device).
        stop_writes: writes sent before a clean disconnect.
        min_mtu: ATT MTU the device needs (0: default is enough).
        needs_pairing: whether the device must be bonded first (some stacks, Polar PMD).
        notes: quirks worth showing to users (``twitchwatch devices``).
    """

    key: str
    version: int
    title: str
    match: Match
    streams: tuple[StreamSpec, ...]
    gatt: tuple[ServiceSpec, ...] = ()
    pre_subscribe: tuple[str, ...] = ()
    init_writes: tuple[GattWrite, ...] = ()
    reinit_on_reconnect: bool = True
    stop_writes: tuple[GattWrite, ...] = ()
    min_mtu: int = 0
    needs_pairing: bool = False
    notes: tuple[str, ...] = field(default=())

    def stream(self, name: str) -> StreamSpec:
        """The stream called ``name``; KeyError naming the choices if there is none."""
        for spec in self.streams:
            if spec.name == name:
                return spec
        choices = ", ".join(s.name for s in self.streams)
        raise KeyError(f"{self.key} has no stream {name!r} (streams: {choices})")

    def stream_for(self, char_uuid: str, payload: bytes) -> StreamSpec | None:
        """The stream a notification of ``char_uuid`` belongs to (None: not a stream char)."""
        uuid = char_uuid.lower()
        for spec in self.streams:
            if uuid in spec.char_uuids and (spec.accepts is None or spec.accepts(payload)):
                return spec
        return None

    def notify_uuids(self) -> tuple[str, ...]:
        """Stream characteristics to subscribe to, each once, in profile order."""
        seen: dict[str, None] = {}
        for spec in self.streams:
            for uuid in spec.char_uuids:
                if self._has_property(uuid, "notify"):
                    seen.setdefault(uuid, None)
        return tuple(seen)

    def _has_property(self, uuid: str, prop: str) -> bool:
        for service in self.gatt:
            for char in service.characteristics:
                if char.uuid == uuid:
                    return prop in char.properties
        return True  # not described in gatt: assume the stream characteristic notifies


def match_profile(
    profiles: tuple[DeviceProfile, ...] | list[DeviceProfile],
    name: str | None,
    service_uuids: tuple[str, ...] | list[str] = (),
    manufacturer_ids: tuple[int, ...] | list[int] = (),
) -> DeviceProfile | None:
    """The profile that best recognises a scan result, or None.

    A name-prefix match scores 4, an advertised service UUID 2, a manufacturer id 1; the highest
    score wins and ties go to the earlier profile. Polar straps share services and company id,
    so their advertised names (``Polar H10 ...``, ``Polar Sense ...``) tell them apart.

    Args:
        profiles: candidates, in priority order.
        name: advertised local name (None if absent).
        service_uuids: advertised service UUIDs (any case; 16-bit ones expanded or not).
        manufacturer_ids: company ids present in the manufacturer data.
    """
    uuids = {_expand(u) for u in service_uuids}
    best: DeviceProfile | None = None
    best_score = 0
    for profile in profiles:
        m = profile.match
        score = 0
        if name and any(name.startswith(p) for p in m.name_prefixes):
            score += 4
        if uuids & {_expand(u) for u in m.service_uuids}:
            score += 2
        if set(manufacturer_ids) & set(m.manufacturer_ids):
            score += 1
        if score > best_score:
            best, best_score = profile, score
    return best


def _expand(uuid: str) -> str:
    text = uuid.strip().lower()
    if len(text) == 4:  # noqa: PLR2004 - 16-bit SIG short form
        return f"0000{text}-0000-1000-8000-00805f9b34fb"
    return text
