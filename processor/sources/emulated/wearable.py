"""An emulated wearable: a Bumble peripheral serving a device profile's real GATT table.

The wearable advertises like the real device (name, service UUID, company id), serves the
services and characteristics of ``profile.gatt``, records every write, starts streaming only
after it has received the profile's init writes in order (answering the ones that expect a reply
on a control point, as Polar's PMD does), forgets its mode when the link drops, and paces its
notifications at the device's real rate from a :class:`WearableSignal`.

Fault injection: :meth:`EmulatedWearable.drop_link` (the band drops the link mid-stream),
:meth:`vanish` / :meth:`reappear` (out of range, then back), :meth:`go_silent` (connected but no
data), and the :class:`Faults` given at construction (ignore the init handshake, characteristics
missing from the GATT table, every n-th notification malformed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bumble import hci
from bumble.att import ATT_Error, ErrorCode
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from devices.profile import CharSpec, DeviceProfile, GattWrite
from processor.model import FloatArray
from processor.sources.emulated.air import VirtualAir
from processor.sources.emulated.encoders import (
    POLAR_CLOCK_START_NS,
    PacketPlan,
    ecg_uv,
    packet_plans,
)
from processor.sources.emulated.signal import WearableSignal

_LOGGER = logging.getLogger(__name__)
_ADV_MAX_BYTES = 31
_ADV_INTERVAL_MS = 20.0
_CONNECTION_TIMEOUT = 0x08  # HCI reason "connection timeout": what a real link loss reports
_PROPS = {
    "read": Characteristic.Properties.READ,
    "write": Characteristic.Properties.WRITE,
    "write_without_response": Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
    "notify": Characteristic.Properties.NOTIFY,
    "indicate": Characteristic.Properties.INDICATE,
}


@dataclass(frozen=True, slots=True)
class Faults:
    """Misbehaviour fixed at construction.

    Attributes:
        ignore_init: accept init writes but never start streaming nor answer control points.
        missing_chars: characteristic UUIDs left out of the GATT table.
        malformed_every: every n-th notification of the first stream is one byte short (0: off).
    """

    ignore_init: bool = False
    missing_chars: frozenset[str] = field(default_factory=frozenset)
    malformed_every: int = 0


def _adv_data(name: str, profile: DeviceProfile) -> bytes:
    """Advertising data within the 31-byte legacy limit (Bumble drops scan responses)."""
    fields: list[tuple[Any, bytes]] = [(AdvertisingData.FLAGS, bytes([0x06]))]
    fields.append((AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()))
    optional: list[tuple[Any, bytes]] = []
    for uuid in profile.match.service_uuids[:1]:
        u = UUID(uuid)
        kind = (
            AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS
            if len(u.to_bytes()) == 2  # noqa: PLR2004 - 16-bit SIG UUID
            else AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS
        )
        optional.append((kind, u.to_bytes()))
    optional.extend(
        (AdvertisingData.MANUFACTURER_SPECIFIC_DATA, company.to_bytes(2, "little") + b"\x01")
        for company in profile.match.manufacturer_ids[:1]
    )
    size = sum(2 + len(v) for _, v in fields)
    for kind, value in optional:
        if size + 2 + len(value) <= _ADV_MAX_BYTES:
            fields.append((kind, value))
            size += 2 + len(value)
    return bytes(AdvertisingData(fields))


class EmulatedWearable:
    """One emulated band on a :class:`VirtualAir` (create and ``await start()`` in a loop).

    Args:
        air: the radio it advertises on.
        profile: the device it emulates (GATT table, init writes, streams).
        signal: what it measures; looped, and read at the position of the band's own clock.
        name: advertised local name (must be recognised by ``profile.match``).
        address: static random address, ``AA:BB:CC:DD:EE:FF``.
        faults: misbehaviour fixed at construction.
        start_s: where in ``signal`` the band's clock starts, seconds.

    Attributes:
        commands: every write received, ``(char_uuid, bytes)`` in arrival order.
        packets_sent: notifications sent per stream.
        samples_sent: samples sent per stream.
        samples_skipped: samples the band's clock went past while it was not streaming (link
            down, before the init writes on a reconnect): what a collector must mark as gaps.
        connections: how many times a central connected.
    """

    def __init__(
        self,
        air: VirtualAir,
        profile: DeviceProfile,
        signal: WearableSignal,
        *,
        name: str,
        address: str,
        faults: Faults | None = None,
        start_s: float = 0.0,
    ) -> None:
        self.profile = profile
        self.name = name
        self.address = address.upper()
        self.faults = faults or Faults()
        self.commands: list[tuple[str, bytes]] = []
        self.packets_sent: Counter[str] = Counter()
        self.samples_sent: Counter[str] = Counter()
        self.samples_skipped: Counter[str] = Counter()
        self.malformed_sent = 0
        self.connections = 0
        self._air = air
        self._signal = signal
        self._plans = packet_plans(profile)
        self._device: Device = air.new_device(name, self.address)
        self._chars: dict[str, Characteristic[Any]] = {}
        self._connection: Connection | None = None
        self._init_progress = 0
        self._streaming = False
        self._silent = False
        self._hidden = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._stream_tasks: set[asyncio.Task[None]] = set()
        self._epoch = 0.0
        self._start_s = start_s
        self._next_packet: dict[str, int] = {}
        self._hci_lock = asyncio.Lock()  # Bumble's host takes one advertising command at a time
        self._build_gatt()

    # lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Power on and advertise."""
        self._device.on(Device.EVENT_CONNECTION, self._on_connection)
        await self._device.power_on()
        self._epoch = asyncio.get_running_loop().time() - self._start_s
        await self._advertise()

    async def stop(self) -> None:
        """Stop streaming, drop any link and stop advertising."""
        self._hidden = True
        self._stop_streaming()
        await self._drop(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR)
        await self._stop_advertising()
        for task in list(self._tasks):
            task.cancel()

    # fault injection ------------------------------------------------------------------------

    async def drop_link(self, reason: int = _CONNECTION_TIMEOUT) -> None:
        """Drop the link from the band's side (reason 0x08, as a real link loss); re-advertise."""
        await self._drop(reason)

    async def vanish(self) -> None:
        """Go out of range: drop the link and stop advertising until :meth:`reappear`."""
        self._hidden = True
        await self._drop(_CONNECTION_TIMEOUT)
        await self._stop_advertising()

    async def reappear(self) -> None:
        """Come back in range: advertise again."""
        self._hidden = False
        if self._connection is None:
            await self._advertise()

    def go_silent(self, silent: bool = True) -> None:
        """Stay connected but stop (or resume) sending notifications."""
        self._silent = silent

    @property
    def is_connected(self) -> bool:
        """Whether a central is connected."""
        return self._connection is not None

    @property
    def is_streaming(self) -> bool:
        """Whether the init handshake completed on the current link."""
        return self._streaming

    # GATT -----------------------------------------------------------------------------------

    def _build_gatt(self) -> None:
        services = []
        for svc in self.profile.gatt:
            chars = [self._characteristic(c) for c in svc.characteristics]
            present = [c for c in chars if c is not None]
            if present:
                services.append(Service(svc.uuid, present))
        self._device.add_services(services)

    def _characteristic(self, spec: CharSpec) -> Characteristic[Any] | None:
        if spec.uuid in self.faults.missing_chars:
            return None
        props = Characteristic.Properties(0)
        for name in spec.properties:
            props |= _PROPS[name]
        writable = bool(props & (_PROPS["write"] | _PROPS["write_without_response"]))
        uuid, value = spec.uuid, spec.value

        def on_write(_connection: Connection, data: bytes) -> None:
            if not writable:
                raise ATT_Error(ErrorCode.WRITE_NOT_PERMITTED)
            self._on_write(uuid, bytes(data))

        char: Characteristic[Any] = Characteristic(
            spec.uuid,
            props,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=lambda _conn: value, write=on_write),
        )
        self._chars[spec.uuid] = char
        return char

    # behaviour ------------------------------------------------------------------------------

    def _on_write(self, char_uuid: str, data: bytes) -> None:
        self.commands.append((char_uuid, data))
        if any(w.char_uuid == char_uuid and w.data == data for w in self.profile.stop_writes):
            self._stop_streaming()
            self._init_progress = 0
            return
        writes = self.profile.init_writes
        if self._init_progress < len(writes) and _same(
            writes[self._init_progress], char_uuid, data
        ):
            step = writes[self._init_progress]
            self._init_progress += 1
        elif writes and _same(writes[0], char_uuid, data):
            step, self._init_progress = writes[0], 1
        else:
            return
        if self.faults.ignore_init:
            return
        if step.reply_uuid and step.reply_prefix:
            self._spawn(
                self._notify(step.reply_uuid, step.reply_prefix + bytes([step.ok_status[0], 0]))
            )
        if self._init_progress == len(writes) and not self._streaming:
            self._start_streaming()

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self.connections += 1
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, _reason: int) -> None:
        self._connection = None
        self._stop_streaming()
        self._init_progress = 0  # stream modes reset on disconnect on every supported device
        if not self._hidden:
            self._spawn(self._advertise())

    async def _stop_advertising(self) -> None:
        async with self._hci_lock:
            if self._device.is_advertising:
                with contextlib.suppress(hci.HCI_Error):
                    await self._device.stop_advertising()

    async def _advertise(self) -> None:
        async with self._hci_lock:
            if self._hidden or self._connection is not None or self._device.is_advertising:
                return
            with contextlib.suppress(hci.HCI_Error):
                await self._device.start_advertising(
                    advertising_data=_adv_data(self.name, self.profile),
                    advertising_interval_min=_ADV_INTERVAL_MS,
                    advertising_interval_max=_ADV_INTERVAL_MS,
                )

    async def _drop(self, reason: int) -> None:
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(hci.HCI_Error, asyncio.CancelledError):
                await connection.disconnect(reason)

    def _spawn(self, coro: Coroutine[object, object, None], *, stream: bool = False) -> None:
        tasks = self._stream_tasks if stream else self._tasks
        task = asyncio.get_running_loop().create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def _start_streaming(self) -> None:
        self._streaming = True
        for i, plan in enumerate(self._plans):
            self._spawn(self._stream(plan, malformed=i == 0), stream=True)

    def _stop_streaming(self) -> None:
        self._streaming = False
        for task in list(self._stream_tasks):
            task.cancel()

    async def _notify(self, char_uuid: str, payload: bytes) -> None:
        char = self._chars.get(char_uuid)
        if char is None or self._connection is None:
            return
        with contextlib.suppress(hci.HCI_Error, ConnectionError, TimeoutError):
            if char.properties & Characteristic.Properties.NOTIFY:
                await self._device.notify_subscribers(char, payload)
            else:
                await self._device.indicate_subscribers(char, payload)

    def _resampled(
        self, data: FloatArray, rate_hz: float, plan: PacketPlan, first: int
    ) -> FloatArray:
        idx = (np.arange(first, first + plan.samples_per_packet) * rate_hz / plan.fs_hz).astype(int)
        return np.asarray(data[idx % data.shape[0]], dtype=np.float64)

    def _payload(self, plan: PacketPlan, first: int, k: int, t_last_ns: int) -> bytes:
        sig = self._signal
        acc = self._resampled(sig.acc_g, sig.acc_fs_hz, plan, first)
        if plan.source == "acc":
            samples = acc
        elif plan.source == "ecg":
            samples = ecg_uv(np.arange(first, first + plan.samples_per_packet) / plan.fs_hz)
        else:
            samples = self._resampled(sig.emg_uv, sig.fs_hz, plan, first)
        return plan.encode(samples, acc, k, t_last_ns)

    async def _stream(self, plan: PacketPlan, *, malformed: bool) -> None:
        """Send ``plan``'s packets at the real rate until the stream stops."""
        loop = asyncio.get_running_loop()
        period = plan.samples_per_packet / plan.fs_hz
        # the band keeps its own clock: the signal position follows wall time since power-on
        packet = int((loop.time() - self._epoch) / period)
        if plan.stream in self._next_packet:  # samples the band measured while nobody listened
            gone = max(0, packet - self._next_packet[plan.stream])
            self.samples_skipped[plan.stream] += gone * plan.samples_per_packet
        k = 0
        next_t = loop.time()
        while self._streaming:
            first = packet * plan.samples_per_packet
            t_last_ns = POLAR_CLOCK_START_NS + int(
                (first + plan.samples_per_packet - 1) / plan.fs_hz * 1e9
            )
            payload = self._payload(plan, first, k, t_last_ns)
            if (
                malformed
                and self.faults.malformed_every
                and (k + 1) % self.faults.malformed_every == 0
            ):
                payload = payload[:-1]
                self.malformed_sent += 1
            if not self._silent and self._connection is not None:
                # counted first: a stop may cancel this task while the send is being awaited
                self.packets_sent[plan.stream] += 1
                self.samples_sent[plan.stream] += plan.samples_per_packet
                await self._notify(plan.char_uuids[k % len(plan.char_uuids)], payload)
            packet += 1
            self._next_packet[plan.stream] = packet
            k += 1
            next_t += period
            await asyncio.sleep(max(0.0, next_t - loop.time()))


def _same(write: GattWrite, char_uuid: str, data: bytes) -> bool:
    return write.char_uuid == char_uuid and write.data == data
