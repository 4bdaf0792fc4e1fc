"""Discovery, availability and the retained state snapshot of each wearable, over a link.

Runs on the event loop with the bridge. Publishing here is fire-and-forget at the configured QoS:
these messages are retained (latest wins) and re-published on every connect and HA birth, so
they need no outbox.
"""

from __future__ import annotations

import time

from processor import __version__
from processor.config.mqtt import MqttConfig
from processor.sinks.alerts import WearableState
from processor.sinks.ha_discovery import (
    DeviceInfo,
    DiscoveryOptions,
    MqttMessage,
    bridge_messages,
    discovery_messages,
)
from processor.sinks.mqtt_link import Link
from processor.sinks.topics import TopicTree


class Announcer:
    """Per-wearable state book and what HA must be told about it."""

    def __init__(self, cfg: MqttConfig, link: Link) -> None:
        self._cfg = cfg
        self._link = link
        self.topics = TopicTree(cfg.base_topic, cfg.instance, cfg.discovery_prefix)
        self.disc = DiscoveryOptions(self.topics, cfg.qos, __version__, cfg.state_expire_after_s)
        self.states: dict[str, WearableState] = {}
        self.dirty: set[str] = set()
        self._sent_at: dict[str, float] = {}
        self._settle_until: dict[str, float] = {}  # wid -> monotonic time its alerts may go
        self.online = False  # the link holds a connection the broker accepted

    def state(self, wid: str) -> WearableState:
        """The state of ``wid``, created (and announced, when online) on first sight."""
        state = self.states.get(wid)
        if state is None:
            state = self.states[wid] = WearableState()
            if self.online:
                self.announce(wid)
        return state

    def forget(self, wid: str) -> None:
        """Stop tracking a wearable (its retained messages are cleared by the caller)."""
        self.states.pop(wid, None)
        self.dirty.discard(wid)

    def state_message(self, wid: str) -> MqttMessage:
        """Retained state snapshot of ``wid``."""
        return MqttMessage(
            self.topics.state(wid), self.states[wid].snapshot_json(), True, self._cfg.qos
        )

    def availability_message(self, wid: str) -> MqttMessage:
        """Retained online/offline of ``wid`` (its BLE link)."""
        online = self.states[wid].connected
        return MqttMessage(
            self.topics.availability(wid), "online" if online else "offline", True, self._cfg.qos
        )

    def bridge_status(self, online: bool) -> MqttMessage:
        """Retained online/offline of this processor (the LWT topic)."""
        payload = "online" if online else "offline"
        return MqttMessage(self.topics.bridge_status, payload, True, self._cfg.qos)

    def publish(self, msg: MqttMessage) -> int | None:
        """Hand one message to the link; its message id (None: refused)."""
        return self._link.publish(msg.topic, msg.payload, qos=msg.qos, retain=msg.retain)

    def publish_state(self, wid: str) -> None:
        """Publish the state snapshot now (when online)."""
        if self.online and wid in self.states:
            self.publish(self.state_message(wid))
            self._sent_at[wid] = time.monotonic()
            self.dirty.discard(wid)

    def publish_availability(self, wid: str) -> None:
        """Publish the wearable's availability now (when online)."""
        if self.online and wid in self.states:
            self.publish(self.availability_message(wid))

    def announce(self, wid: str) -> None:
        """Discovery (if enabled), then availability, then state of one wearable."""
        if self._cfg.discovery:
            for msg in discovery_messages(DeviceInfo(wid), self.disc):
                self.publish(msg)
        if wid not in self._settle_until:
            settle_s = self._cfg.discovery_settle_s if self._cfg.discovery else 0.0
            self._settle_until[wid] = time.monotonic() + settle_s
        self.publish(self.availability_message(wid))
        self.publish_state(wid)

    def announce_all(self) -> None:
        """Bridge discovery, bridge ``online``, then every wearable (after CONNACK, HA birth)."""
        if self._cfg.discovery:
            for msg in bridge_messages(self.disc):
                self.publish(msg)
        self.publish(self.bridge_status(online=True))
        for wid in self.states:
            self.announce(wid)

    def settle_s(self, wid: str) -> float:
        """How long ``wid``'s alerts must still wait for HA to subscribe (announces if new)."""
        if wid not in self._settle_until:
            self.state(wid)
            if self.online:
                self.announce(wid)
        return self._settle_until.get(wid, 0.0) - time.monotonic()

    def tick(self) -> None:
        """Rate-only changes at most every ``state_min_interval_s``; heartbeats."""
        now = time.monotonic()
        for wid in list(self.states):
            since = now - self._sent_at.get(wid, 0.0)
            due = wid in self.dirty and since >= self._cfg.state_min_interval_s
            if due or since >= self._cfg.state_heartbeat_s:
                self.publish_state(wid)
