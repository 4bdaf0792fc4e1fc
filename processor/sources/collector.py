"""The live BLE collector: find, connect, start, watch and reconnect wearables.

A :class:`BleCentral` is shared by every wearable of a session (one adapter, one connect lock:
BlueZ accepts one connection attempt at a time). :meth:`BleCentral.source` gives one
:class:`WearableSource` per wearable; it implements the Source protocol, so the runtime runs one
detection pipeline per wearable and all of them stream concurrently.

Inside a source, bleak's notification callbacks only timestamp and enqueue a
:class:`~processor.model.RawNotification` in a bounded buffer (full: dropped and counted, never
blocking). ``items()`` is the consumer: it decodes through the
:class:`~processor.stages.assemble.FrameAssembler`, which numbers samples and marks every gap
(packet counter, device clock, or arrival timing), and yields chunks, gaps and status updates.
A supervisor task re-scans before every (re)connect, re-sends the init writes, treats a wearable
that stops sending as lost (data watchdog), and backs off exponentially after failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Final, Protocol, Self

import devices
from devices.profile import DeviceProfile
from processor.config.ble import BleConfig
from processor.errors import DeviceError
from processor.model import JsonValue, RawNotification, SourceItem, StatusUpdate
from processor.sources.ble import (
    BleBackends,
    BleLink,
    BluetoothUnavailableError,
    Sighting,
    scan,
)
from processor.sources.channel import DropChannel
from processor.sources.handshake import GiveUpError, bring_up, check_gatt
from processor.stages.assemble import FrameAssembler

_LOGGER = logging.getLogger(__name__)
_END: Final = object()
_NS = 1_000_000_000
_LATENCY_SAMPLES = 100_000
_QUIET_NS = 100_000_000  # after the stop writes, wait for this much silence (bounded)


class RawTap(Protocol):
    """Receives the raw stream as the consumer sees it (``record`` writes it to a file).

    Both methods are called from the consumer task, never from a BLE callback, and must not
    block (enqueue and return).
    """

    def on_note(self, note: RawNotification) -> None:
        """One notification, with its stream name resolved."""

    def on_link_lost(self, t_ns: int, wearable: str) -> None:
        """The link of ``wearable`` dropped at ``t_ns`` (``time.monotonic_ns()`` clock)."""


@dataclass(frozen=True, slots=True)
class _LinkLost:
    t_ns: int


@dataclass(frozen=True, slots=True)
class Found:
    """A wearable seen by a scan: address, advertised name, recognised profile, RSSI (dBm)."""

    address: str
    name: str | None
    profile: str | None
    rssi: int


def backoff_s(failures: int, cfg: BleConfig) -> float:
    """Wait before the next attempt: 0 after a plain link loss, then min * 2**(n-1), capped."""
    if failures <= 0:
        return 0.0
    return float(min(cfg.reconnect_max_s, cfg.reconnect_min_s * 2 ** min(failures - 1, 30)))


class BleCentral:
    """The adapter side of a session: backends, config and the shared connect lock."""

    def __init__(self, cfg: BleConfig, backends: BleBackends | None = None) -> None:
        self.cfg = cfg
        self.backends = backends or BleBackends()
        self.connect_lock = asyncio.Lock()

    async def scan(self, timeout_s: float | None = None) -> list[Found]:
        """Every advertiser heard within the timeout, with the profile that recognises it."""
        sightings = await scan(self.backends, timeout_s or self.cfg.scan_timeout_s)
        found = []
        for s in sightings:
            profile = devices.match_profile(s.name, s.service_uuids, s.manufacturer_ids)
            found.append(Found(s.address, s.name, profile.key if profile else None, s.rssi))
        return found

    def source(
        self,
        profile: DeviceProfile,
        *,
        wearable_id: str,
        address: str | None = None,
        name: str | None = None,
        raw_tap: RawTap | None = None,
    ) -> WearableSource:
        """A source streaming one wearable (the first match of ``profile`` without address/name)."""
        return WearableSource(
            self, profile, wearable_id=wearable_id, address=address, name=name, raw_tap=raw_tap
        )


class WearableSource:
    """One wearable as a Source: yields chunks, gaps and status until stopped or given up."""

    def __init__(
        self,
        central: BleCentral,
        profile: DeviceProfile,
        *,
        wearable_id: str,
        address: str | None,
        name: str | None,
        raw_tap: RawTap | None,
    ) -> None:
        self.profile = profile
        self.wearable_id = wearable_id
        self._central = central
        self._cfg = central.cfg
        self._address = address.upper() if address else None
        self._name = name
        self._raw_tap = raw_tap
        self._channel = DropChannel(self._cfg.queue_size)
        self._assembler = FrameAssembler(
            profile, wearable=wearable_id, silence_ms=self._cfg.silence_ms
        )
        self._stream_of = {u: s.name for s in profile.streams for u in s.char_uuids}
        self._link: BleLink | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._ended = False
        self._fatal: BluetoothUnavailableError | None = None
        self._last_rx_ns = 0
        self._counters = dict.fromkeys(
            ("received", "connects", "link_losses", "watchdog_trips", "failures"), 0
        )
        self.latencies_ns: deque[int] = deque(maxlen=_LATENCY_SAMPLES)
        self.last_status: StatusUpdate | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._supervise(), name=f"ble-{self.wearable_id}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def stats(self) -> dict[str, JsonValue]:
        """Link counters plus the assembler's per-stream counters (gaps, malformed, ...)."""
        asm = self._assembler.stats()
        out: dict[str, JsonValue] = dict(self._counters)
        out |= {"dropped": self._channel.dropped, "malformed": asm["malformed"], "assembler": asm}
        return out

    async def items(self) -> AsyncIterator[SourceItem]:
        """Decoded chunks and gaps, and status updates, until the source stops."""
        battery: int | None = None
        while (item := await self._channel.get()) is not _END:
            if isinstance(item, StatusUpdate):
                yield item
                continue
            if isinstance(item, _LinkLost):
                self._assembler.link_lost()
                if self._raw_tap is not None:
                    self._raw_tap.on_link_lost(item.t_ns, self.wearable_id)
                continue
            assert isinstance(item, RawNotification)  # noqa: S101 - only notes and status queued
            note = item
            if not note.stream:
                spec = self.profile.stream_for(note.char_uuid, note.payload)
                note = replace(note, stream=spec.name if spec else "")
            self._counters["received"] += 1
            if self._raw_tap is not None:
                self._raw_tap.on_note(note)
            out = self._assembler.push(note)
            if out:
                self.latencies_ns.append(time.monotonic_ns() - note.t_ns)
            for piece in out:
                yield piece
            if self._assembler.battery_pct != battery:
                battery = self._assembler.battery_pct
                yield StatusUpdate(self.wearable_id, self._link is not None, battery)
        if self._fatal is not None:
            raise self._fatal

    async def stop(self) -> None:
        """Send the stop writes, disconnect, and end ``items()`` after what is queued."""
        if self._stopping:
            return
        self._stopping = True
        link = self._link
        if link is not None and link.is_connected and self.profile.stop_writes:
            with contextlib.suppress(DeviceError, TimeoutError):
                async with asyncio.timeout(self._cfg.stop_timeout_s):
                    for write in self.profile.stop_writes:
                        await link.write(write.char_uuid, write.data, response=write.response)
                    await self._quiesce()
        try:
            if self._task is not None:
                self._task.cancel()
                await self._task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # our caller is being cancelled too (Ctrl-C twice): let it through
        finally:
            self._status(connected=False, detail=f"stopped ({self._summary()})")
            self._end()

    async def _quiesce(self) -> None:
        """Let notifications sent before the stop command arrive before disconnecting."""
        for _ in range(int(self._cfg.stop_timeout_s * _NS / _QUIET_NS) + 1):
            idle_ns = time.monotonic_ns() - self._last_rx_ns
            if idle_ns >= _QUIET_NS:
                return
            await asyncio.sleep((_QUIET_NS - idle_ns) / _NS)

    # supervisor ------------------------------------------------------------------------------

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._channel.put_control(_END)

    def _status(self, *, connected: bool, detail: str) -> None:
        update = StatusUpdate(self.wearable_id, connected, self._assembler.battery_pct, detail)
        self.last_status = update
        self._channel.put_control(update)

    def _summary(self) -> str:
        s = self.stats()
        return f"received {s['received']}, dropped {s['dropped']}, malformed {s['malformed']}"

    def _target(self) -> str:
        return self._address or (f"name {self._name!r}" if self._name else f"a {self.profile.key}")

    async def _supervise(self) -> None:
        try:
            await self._reconnect_loop()
        except Exception as exc:
            # a bug must end this wearable only, loudly, never the other wearables' streams
            _LOGGER.exception("%s: collector failed", self.wearable_id)
            self._status(connected=False, detail=f"error: collector failed ({exc!r})")
        finally:
            if not self._stopping:
                self._end()

    async def _reconnect_loop(self) -> None:
        failures = 0
        searching, missed = True, False
        while not self._stopping:
            try:
                if searching and not missed:
                    self._status(connected=False, detail=f"searching for {self._target()}")
                sighting = await self._find()
                if sighting is None:
                    if not missed:
                        missed = True
                        detail = f"searching: {self._target()} not in range"
                        self._status(connected=False, detail=detail)
                    await asyncio.sleep(self._cfg.rescan_pause_s)
                    continue
                searching = missed = False
                await self._session(sighting)
                failures = 0
                searching = True
                await asyncio.sleep(self._relink_pause_s())
                continue
            except BluetoothUnavailableError as exc:
                self._fatal = exc  # no adapter: nothing any wearable can do about it
                return
            except GiveUpError as exc:
                _LOGGER.error("%s: %s; giving this wearable up", self.wearable_id, exc)  # noqa: TRY400
                self._status(connected=False, detail=f"error: {exc}")
                return
            except DeviceError as exc:
                failures += 1
                searching = True
                self._counters["failures"] += 1
                _LOGGER.warning("%s: %s", self.wearable_id, exc)
                self._status(connected=False, detail=f"error: {exc}")
                if self._cfg.max_failures and failures >= self._cfg.max_failures:
                    detail = f"error: gave up after {failures} failures"
                    self._status(connected=False, detail=detail)
                    return
            await asyncio.sleep(max(backoff_s(failures, self._cfg), self._relink_pause_s()))

    def _relink_pause_s(self) -> float:
        return self._cfg.relink_pause_s

    async def _find(self) -> Sighting | None:
        def wanted(s: Sighting) -> bool:
            if self._address:
                return s.address == self._address
            if self._name:
                return s.name == self._name
            match = devices.match_profile(s.name, s.service_uuids, s.manufacturer_ids)
            return match is not None and match.key == self.profile.key

        sightings = await scan(self._central.backends, self._cfg.scan_timeout_s, stop_when=wanted)
        return next((s for s in sightings if wanted(s)), None)

    async def _session(self, sighting: Sighting) -> None:
        lost = asyncio.Event()
        async with self._central.connect_lock:
            link = await BleLink.open(
                sighting,
                self._central.backends,
                timeout_s=self._cfg.connect_timeout_s,
                pair=self.profile.needs_pairing,
                on_disconnect=functools.partial(self._on_disconnect, lost),
            )
        self._link = link
        try:
            if self.profile.min_mtu and link.mtu < self.profile.min_mtu:
                _LOGGER.warning(
                    "%s: ATT MTU reported as %d, below the %d this device needs "
                    "(BlueZ may report 23 whatever was negotiated)",
                    self.wearable_id,
                    link.mtu,
                    self.profile.min_mtu,
                )
            _LOGGER.info(
                "%s: connected to %s, MTU %d", self.wearable_id, sighting.address, link.mtu
            )
            check_gatt(link, self.profile, sighting.address)
            await bring_up(link, self.profile, self._cfg.reply_timeout_s, self._on_notify)
            self._counters["connects"] += 1
            self._status(
                connected=True, detail=f"streaming from {sighting.address} (MTU {link.mtu})"
            )
            reason = await self._watch(link, lost)
            _LOGGER.warning("%s: %s; reconnecting", self.wearable_id, reason)
            self._status(connected=False, detail=f"{reason}; reconnecting")
        finally:
            self._link = None
            await link.close()

    def _on_disconnect(self, lost: asyncio.Event) -> None:
        if not lost.is_set():
            lost.set()
            self._channel.put_control(_LinkLost(time.monotonic_ns()))

    def _on_notify(self, uuid: str, data: bytearray) -> None:
        self._last_rx_ns = time.monotonic_ns()
        self._channel.offer(
            RawNotification(
                self._last_rx_ns, self.wearable_id, self._stream_of.get(uuid, ""), bytes(data), uuid
            )
        )

    async def _watch(self, link: BleLink, lost: asyncio.Event) -> str:
        cfg = self._cfg
        started = time.monotonic_ns()
        next_status = started + int(cfg.status_interval_s * _NS)
        watchdog_ns = int(cfg.watchdog_s * _NS)
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(cfg.watchdog_s / 4, 0.25)):
                    await lost.wait()
            if lost.is_set() or not link.is_connected:
                self._counters["link_losses"] += 1
                return "link lost"
            now = time.monotonic_ns()
            if self._last_rx_ns < started and now - started > watchdog_ns:
                raise DeviceError(
                    f"{self.profile.key} sent no data within {cfg.watchdog_s:g} s of the init "
                    "writes (it did not answer the init handshake)"
                )
            if started <= self._last_rx_ns < now - watchdog_ns:
                self._counters["watchdog_trips"] += 1
                return f"no data for {cfg.watchdog_s:g} s (watchdog)"
            if now >= next_status:
                next_status = now + int(cfg.status_interval_s * _NS)
                self._status(connected=True, detail=self._summary())
