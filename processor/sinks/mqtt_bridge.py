"""The MQTT alert bridge: outbox, alert policy, HA discovery and state, over any :class:`Link`.

Everything here runs on the event loop. One task (the sender) owns alert publishing: it takes
the oldest unexpired rows from the durable outbox, hands at most ``max_inflight`` to the client
and deletes a row only when its PUBACK arrives (``Acked`` note, reason code checked). After a
reconnect the client retransmits what it already holds; after a restart the outbox replays.
Alerts still in the outbox when the sink closes are kept for the next run and make ``__aexit__``
raise :class:`SinkError` (an output failed: exit code 1). ``MqttSink`` in ``mqtt.py`` is this
bridge with the paho link.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Self

from processor.config.mqtt import MqttConfig
from processor.errors import SinkError
from processor.model import Event, JsonValue, StatusUpdate
from processor.sinks import alerts
from processor.sinks.ha_discovery import MqttMessage, removal_messages
from processor.sinks.mqtt_link import (
    NO_MATCHING_SUBSCRIBERS,
    Acked,
    Connected,
    Disconnected,
    Link,
    Note,
    Received,
)
from processor.sinks.mqtt_state import Announcer
from processor.sinks.outbox import DeliveryReport, Outbox, OutboxRow, default_outbox_path
from processor.sinks.topics import opaque_wearable_id

log = logging.getLogger(__name__)
_SHORT_SESSION_S = 5.0
_STORM_SESSIONS = 3


class AlertBridge:
    """Sink that sends alerts, state and HA discovery through a :class:`Link`.

    Args:
        cfg: the ``[mqtt]`` section.
        link: the MQTT client.
        outbox_path: overrides ``cfg.outbox_path``.
        fail_on_undelivered: raise :class:`SinkError` on a clean exit that leaves alerts in the
            outbox (after they are safely stored); False: only log it (benchmarks, tests).
    """

    def __init__(
        self,
        cfg: MqttConfig,
        link: Link,
        *,
        outbox_path: Path | None = None,
        fail_on_undelivered: bool = True,
    ) -> None:
        self._cfg = cfg
        self.fail_on_undelivered = fail_on_undelivered
        self._link = link
        self._outbox_path = outbox_path or (
            Path(cfg.outbox_path) if cfg.outbox_path else default_outbox_path()
        )
        self._book = Announcer(cfg, link)
        self.topics = self._book.topics
        self._policy = alerts.AlertPolicy(
            publish_twitches=cfg.publish_twitches,
            twitch_burst=cfg.twitch_burst,
            twitch_window_s=cfg.twitch_window_s,
            max_per_min=cfg.max_alerts_per_min,
        )
        self._handed: dict[int, str] = {}  # paho mid -> outbox key (the client owns these now)
        self._tracked: dict[int, asyncio.Future[str]] = {}
        self._outbox: Outbox | None = None
        self._wake = asyncio.Event()
        self._connected_at = -math.inf
        self._short_sessions = 0
        self._first_outcome = asyncio.Event()  # set by the first CONNACK or connect failure
        self._tasks: list[asyncio.Task[None]] = []
        self._reannounce: asyncio.Task[None] | None = None
        self._refusals_logged: set[str] = set()
        self._rng = random.Random()  # noqa: S311 - jitter, not security
        self.counters: Counter[str] = Counter()
        self._final_stats: dict[str, JsonValue] = {}
        self._report: DeliveryReport | None = None

    async def __aenter__(self) -> Self:
        outbox = self._outbox = await asyncio.to_thread(
            Outbox,
            self._outbox_path,
            max_rows=self._cfg.outbox_max_rows,
            broker=self._cfg.outbox_broker,
        )
        if elsewhere := await asyncio.to_thread(outbox.elsewhere):
            log.warning(
                "mqtt: %d alert(s) in %s wait for another broker (%s), not %s; see"
                " `twitchwatch mqtt outbox`",
                sum(b.rows for b in elsewhere),
                outbox.path,
                ", ".join(b.broker or "unknown" for b in elsewhere),
                self._cfg.outbox_broker,
            )
        for wid in await asyncio.to_thread(outbox.wearables):
            self._book.state(wid)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._pump(outbox), name="mqtt-pump"),
            loop.create_task(self._sender(outbox), name="mqtt-sender"),
            loop.create_task(self._state_loop(), name="mqtt-state"),
        ]
        self._link.start(loop)
        self._wake.set()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._outbox is not None and len(self._outbox):
                # A short replay can end before the first CONNACK: give the connection a chance.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._first_outcome.wait(), self._cfg.connect_timeout_s)
            await self.drained(self._cfg.flush_timeout_s, give_up_offline=True)
            if self._connected:
                last: list[MqttMessage] = []
                for wid, state in self._book.states.items():
                    state.connected = False
                    last.append(self._book.state_message(wid))
                    last.append(self._book.availability_message(wid))
                last.append(self._book.bridge_status(online=False))
                await self._publish_and_wait(last, timeout_s=min(2.0, self._cfg.flush_timeout_s))
        finally:
            for task in [*self._tasks, *([self._reannounce] if self._reannounce else [])]:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await asyncio.to_thread(self._link.stop)
            log.info("mqtt: stopped (%s)", self._summary())
            if self._outbox is not None:
                if await asyncio.to_thread(self._outbox.expire):  # never sent: not "kept"
                    log.warning(
                        "mqtt: dropped expired alerts (older than %gs)", self._cfg.alert_ttl_s
                    )
                self._report = DeliveryReport(
                    broker=self._cfg.outbox_broker,
                    undelivered=len(self._outbox),
                    outbox_path=self._outbox.path,
                    reached=self.counters["connects"] > 0,
                    acked=self.counters["acked"],
                    ttl_s=self._cfg.alert_ttl_s,
                )
                self._final_stats = self.stats()
                await asyncio.to_thread(self._outbox.close)
                self._outbox = None
        report = self._report
        if report is not None and report.failed:
            if exc_type is None and self.fail_on_undelivered:
                raise SinkError(report.message())
            log.warning("%s", report.message())

    def delivery_report(self) -> DeliveryReport | None:
        """How the alerts were left at close (None before the sink closed)."""
        return self._report

    async def send(self, event: Event) -> None:
        """Fold the event into the state; if the policy says alert, outbox it, then publish."""
        wid = opaque_wearable_id(event.wearable, self._cfg.effective_replay_wearable)
        state = self._book.state(wid)
        spasm_changed = state.apply(event)
        decision = self._policy.decide(event, wid)
        state.coalesced_total = self._policy.coalesced_for(wid)
        self._book.dirty.add(wid)
        if spasm_changed:
            self._book.publish_state(wid)
        if not decision.publish:
            return
        now_s = time.time()
        row = OutboxRow(
            key=alerts.alert_key(event),
            event_id=event.event_id,
            wearable=wid,
            topic=self.topics.event(wid),
            payload=alerts.alert_payload(event, wid, decision.coalesced),
            priority=int(decision.priority),
            created_s=now_s,
            expires_s=now_s + self._cfg.alert_ttl_s,
        )
        if self._outbox is None:
            raise SinkError("MqttSink.send() called outside 'async with'")
        if await asyncio.to_thread(self._outbox.put, row):
            self.counters["outboxed"] += 1
        self._wake.set()

    async def status(self, update: StatusUpdate) -> None:
        """Battery and BLE link of a wearable: retained availability and state."""
        wid = opaque_wearable_id(update.wearable, self._cfg.effective_replay_wearable)
        state = self._book.state(wid)
        if update.battery_pct is not None:
            state.battery_pct = update.battery_pct
            self._book.dirty.add(wid)
        if update.connected is not None and update.connected != state.connected:
            state.connected = update.connected
            self._book.publish_availability(wid)
            self._book.publish_state(wid)

    async def remove_wearable(self, wearable: str) -> None:
        """Delete a wearable from HA: empty retained discovery, state and availability."""
        wid = opaque_wearable_id(wearable, self._cfg.effective_replay_wearable)
        self._book.forget(wid)
        await self._publish_and_wait(removal_messages(wid, self._book.disc), timeout_s=5.0)

    @property
    def connected(self) -> bool:
        """Whether the broker accepted our connection (and it has not dropped since)."""
        return self._book.online

    @property
    def _connected(self) -> bool:
        return self._book.online

    def stats(self) -> dict[str, JsonValue]:
        """Counters for the run summary and benchmarks."""
        if self._outbox is None and self._final_stats:
            return dict(self._final_stats)
        out: dict[str, JsonValue] = dict(self.counters)
        out["pending"] = len(self._outbox) if self._outbox is not None else 0
        out["inflight"] = len(self._handed)
        out["coalesced"] = self._policy.coalesced
        out["capped"] = self._policy.capped
        if self._outbox is not None:
            out.update({f"outbox_{k}": v for k, v in self._outbox.counters().items()})
        return out

    def _summary(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self.stats().items()))

    async def drained(self, timeout_s: float, *, give_up_offline: bool = False) -> bool:
        """Wait until every outboxed alert is acknowledged (or expired); False on timeout.

        With ``give_up_offline``, return False at once while the broker is unreachable.
        """
        deadline = time.monotonic() + timeout_s
        while self._outbox is not None and (len(self._outbox) or self._handed):
            offline = not (self._connected or self._handed)
            if time.monotonic() >= deadline or (give_up_offline and offline):
                return False
            await asyncio.sleep(0.01)
        return True

    async def _publish_and_wait(self, msgs: list[MqttMessage], *, timeout_s: float) -> bool:
        loop = asyncio.get_running_loop()
        futures = []
        for msg in msgs:
            mid = self._book.publish(msg)
            if mid is not None:
                fut = self._tracked[mid] = loop.create_future()
                futures.append(fut)
        if not futures:
            return not msgs
        done, _ = await asyncio.wait(futures, timeout=timeout_s)
        return len(done) == len(futures)

    async def _pump(self, outbox: Outbox) -> None:
        """Apply the client's notes in order; acks are batched into one outbox transaction."""
        while True:
            batch: list[Note] = [await self._link.notes.get()]
            while not self._link.notes.empty():
                batch.append(self._link.notes.get_nowait())
            acks = [n for n in batch if isinstance(n, Acked)]
            ok_keys, failed_keys = [], []
            for ack in acks:
                fut = self._tracked.pop(ack.mid, None)
                if fut is not None and not fut.done():
                    fut.set_result(ack.reason)
                key = self._handed.get(ack.mid)
                if key is None:
                    continue
                if ack.failure:
                    failed_keys.append(key)
                    log.warning("mqtt: broker rejected an alert (%s); dropped", ack.reason)
                else:
                    ok_keys.append(key)
                    if ack.reason_value == NO_MATCHING_SUBSCRIBERS:
                        if not self.counters["no_subscribers"]:
                            log.info("mqtt: an alert had no subscriber (is Home Assistant up?)")
                        self.counters["no_subscribers"] += 1
            await asyncio.to_thread(outbox.remove, ok_keys)
            await asyncio.to_thread(outbox.remove, failed_keys, counter="failed")
            for ack in acks:
                self._handed.pop(ack.mid, None)
            self.counters["acked"] += len(ok_keys)
            for note in batch:
                if not isinstance(note, Acked):
                    self._on_note(note)
            self._wake.set()

    def _on_note(self, note: Note) -> None:
        if isinstance(note, Connected):
            self._first_outcome.set()
            if note.ok:
                self._book.online = True
                self._connected_at = time.monotonic()
                self.counters["connects"] += 1
                self._refusals_logged.clear()
                log.info("mqtt: connected to %s", self._cfg.broker)
                self._link.subscribe(self._cfg.ha_status_topic, self._cfg.qos)
                self._book.announce_all()
            else:
                self._book.online = False
                self.counters["connect_failures"] += 1
                if note.reason not in self._refusals_logged:
                    self._refusals_logged.add(note.reason)
                    log.warning("mqtt: cannot connect to %s: %s", self._cfg.broker, note.reason)
        elif isinstance(note, Disconnected):
            self._note_short_session(note.reason)
            if self._connected:
                self.counters["disconnects"] += 1
                log.warning("mqtt: connection lost (%s); reconnecting", note.reason)
            self._book.online = False
        elif (
            isinstance(note, Received)
            and note.topic == self._cfg.ha_status_topic
            and note.payload.strip() == b"online"
            and self._connected
        ):
            # Several births in a row (HA restarting twice) re-announce once.
            if self._reannounce is not None:
                self._reannounce.cancel()
            delay = self._cfg.ha_birth_delay_s + self._rng.uniform(0, self._cfg.ha_birth_jitter_s)
            self._reannounce = asyncio.get_running_loop().create_task(self._reannounce_after(delay))

    def _note_short_session(self, reason: str) -> None:
        """Sessions that keep dropping right after CONNACK: usually a duplicate client id."""
        short = time.monotonic() - self._connected_at < _SHORT_SESSION_S
        self._short_sessions = self._short_sessions + 1 if short else 0
        if self._short_sessions == _STORM_SESSIONS or "taken over" in reason.lower():
            self.counters["reconnect_storm"] += 1
            log.error(
                "mqtt: the connection keeps dropping right after connecting (%s): is another"
                " client using the client id %r? Give each processor its own mqtt.instance",
                reason,
                self._cfg.effective_client_id,
            )

    async def _reannounce_after(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        if self._connected:
            self.counters["ha_reannounce"] += 1
            self._book.announce_all()

    async def _sender(self, outbox: Outbox) -> None:
        """The one owner of alert publishing: outbox rows in order, bounded in flight."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._connected:
                continue
            if await asyncio.to_thread(outbox.expire):
                log.warning("mqtt: dropped expired alerts (older than %gs)", self._cfg.alert_ttl_s)
            room = self._cfg.max_inflight - len(self._handed)
            rows = await asyncio.to_thread(outbox.pending, room, frozenset(self._handed.values()))
            for row in rows:
                wait_s = self._book.settle_s(row.wearable)
                if wait_s > 0:  # HA subscribes to a new entity's topic a moment after its config
                    await asyncio.sleep(wait_s)
                if not self._connected:
                    break
                expiry_s = max(1, math.ceil(row.expires_s - time.time()))
                mid = self._link.publish(
                    row.topic, row.payload, qos=self._cfg.qos, retain=False, expiry_s=expiry_s
                )
                if mid is None:
                    self.counters["client_queue_full"] += 1
                    break
                self._handed[mid] = row.key
                self.counters["published"] += 1
            if rows and len(rows) >= room:
                self._wake.set()

    async def _state_loop(self) -> None:
        tick_s = min(max(self._cfg.state_min_interval_s, 0.05), 1.0)
        while True:
            await asyncio.sleep(tick_s)
            self._book.tick()
