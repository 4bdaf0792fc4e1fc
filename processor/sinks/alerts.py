"""Which events go to the broker as alerts, and the per-wearable state snapshot (pure).

Policy, per wearable, on the recording clock (``detected_at_s``, so it is deterministic):

* every ``spasm`` line (start and end) is an alert: never coalesced, never capped;
* a ``rate`` event with ``alert: true`` is an alert, subject to the per-wearable cap;
* a single twitch (``fasciculation``/``fibrillation``) is sent only while fewer than
  ``twitch_burst`` twitches were sent in the trailing ``twitch_window_s`` and the cap allows;
  the rest are coalesced: counted, carried by the rate sensor, and reported as ``coalesced`` on
  the next twitch that goes out;
* the cap: at most ``max_alerts_per_min`` twitch + rate alerts per wearable per trailing minute;
* everything else (``contraction``, ``signal_quality``, ``rate`` without ``alert``) only updates
  the state snapshot.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum

from processor.model import TWITCH_TYPES, Event, EventType, JsonValue
from processor.sinks.serialize import event_to_dict

_CAP_WINDOW_S = 60.0


class Priority(IntEnum):
    """Outbox priority: when the outbox is full the least important, oldest row goes first."""

    SPASM = 0
    RATE = 1
    TWITCH = 2


@dataclass(frozen=True, slots=True)
class AlertDecision:
    """What to do with one event."""

    publish: bool
    priority: Priority = Priority.TWITCH
    coalesced: int = 0


@dataclass(slots=True)
class _Window:
    twitch_sent: deque[float] = field(default_factory=deque)
    capped_sent: deque[float] = field(default_factory=deque)
    coalesced_pending: int = 0
    coalesced_total: int = 0


def _trim(times: deque[float], now_s: float, window_s: float) -> None:
    while times and times[0] <= now_s - window_s:
        times.popleft()


class AlertPolicy:
    """Decides per event whether it is published, with coalescing and per-wearable caps."""

    def __init__(
        self, *, publish_twitches: bool, twitch_burst: int, twitch_window_s: float, max_per_min: int
    ) -> None:
        self._publish_twitches = publish_twitches
        self._twitch_burst = twitch_burst
        self._twitch_window_s = twitch_window_s
        self._max_per_min = max_per_min
        self._windows: dict[str, _Window] = {}
        self.coalesced = 0
        self.capped = 0

    def decide(self, event: Event, wid: str) -> AlertDecision:
        """Decide for one event of wearable ``wid`` (events arrive in emission order)."""
        if event.type is EventType.SPASM:
            return AlertDecision(publish=True, priority=Priority.SPASM)
        now_s = float(event.detected_at_s)
        win = self._windows.setdefault(wid, _Window())
        _trim(win.capped_sent, now_s, _CAP_WINDOW_S)
        under_cap = len(win.capped_sent) < self._max_per_min
        if event.type is EventType.RATE:
            return self._rate(event, win, now_s, under_cap=under_cap)
        if event.type not in TWITCH_TYPES or not self._publish_twitches:
            return AlertDecision(publish=False)
        _trim(win.twitch_sent, now_s, self._twitch_window_s)
        if len(win.twitch_sent) >= self._twitch_burst or not under_cap:
            win.coalesced_pending += 1
            win.coalesced_total += 1
            self.coalesced += 1
            return AlertDecision(publish=False)
        win.twitch_sent.append(now_s)
        win.capped_sent.append(now_s)
        folded, win.coalesced_pending = win.coalesced_pending, 0
        return AlertDecision(publish=True, priority=Priority.TWITCH, coalesced=folded)

    def coalesced_for(self, wid: str) -> int:
        """Twitches of ``wid`` coalesced so far."""
        win = self._windows.get(wid)
        return win.coalesced_total if win is not None else 0

    def _rate(self, event: Event, win: _Window, now_s: float, *, under_cap: bool) -> AlertDecision:
        if event.extras.get("alert") is not True:
            return AlertDecision(publish=False)
        if not under_cap:
            self.capped += 1
            return AlertDecision(publish=False)
        win.capped_sent.append(now_s)
        return AlertDecision(publish=True, priority=Priority.RATE)


def ha_event_type(event: Event) -> str:
    """The HA ``event_type`` of an alert (see ``ha_discovery.EVENT_TYPES``)."""
    if event.type is EventType.SPASM and event.end_s is not None:
        return "spasm_end"
    if event.type is EventType.RATE:
        return "twitch_rate"
    return str(event.type)


def alert_key(event: Event) -> str:
    """Outbox key: unique per message (a spasm's start and end lines share one ``event_id``)."""
    phase = "end" if event.type is EventType.SPASM and event.end_s is not None else "on"
    return f"{event.event_id}:{phase}"


def alert_payload(event: Event, wid: str, coalesced: int) -> str:
    """The alert JSON: the event-log serializer's dict plus ``event_type`` (HA) and ``wearable``."""
    body = event_to_dict(event)
    body["event_type"] = ha_event_type(event)
    body["wearable"] = wid
    if coalesced:
        body["coalesced"] = coalesced
    return json.dumps(body, separators=(",", ":"), allow_nan=False)


@dataclass(slots=True)
class WearableState:
    """What HA shows for one wearable; serialized to the retained ``state`` topic."""

    active_spasms: set[str] = field(default_factory=set)
    rate_by_channel: dict[str, float] = field(default_factory=dict)
    battery_pct: int | None = None
    connected: bool = True
    last_event_s: float | None = None
    coalesced_total: int = 0

    @property
    def spasm_active(self) -> bool:
        """Whether any spasm is confirmed and not yet ended."""
        return bool(self.active_spasms)

    def apply(self, event: Event) -> bool:
        """Fold one event in; returns whether ``spasm_active`` changed."""
        before = self.spasm_active
        if event.type is EventType.SPASM:
            if event.end_s is None:
                self.active_spasms.add(event.event_id)
            else:
                self.active_spasms.discard(event.event_id)
        rate = event.extras.get("rate_per_min")
        if isinstance(rate, int | float) and not isinstance(rate, bool):
            self.rate_by_channel[event.channel] = float(rate)
        if event.type in TWITCH_TYPES or event.type is EventType.SPASM:
            self.last_event_s = float(event.detected_at_s)
        return before != self.spasm_active

    def snapshot(self) -> dict[str, JsonValue]:
        """The retained state JSON (no event ids: they would churn HA's attributes)."""
        rate = max(self.rate_by_channel.values(), default=0.0)
        return {
            "spasm_active": "ON" if self.spasm_active else "OFF",
            "twitch_rate_per_min": round(rate, 2),
            "battery": self.battery_pct,
            "connected": "online" if self.connected else "offline",
            "last_event_s": None if self.last_event_s is None else round(self.last_event_s, 3),
            "coalesced_twitches": self.coalesced_total,
        }

    def snapshot_json(self) -> str:
        """:meth:`snapshot` as compact JSON."""
        return json.dumps(self.snapshot(), separators=(",", ":"), sort_keys=True)
