"""The alert bridge over a scripted in-memory link: outbox ownership, acks, window, replay."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from processor.config.mqtt import MqttConfig
from processor.errors import SinkError
from processor.model import Event, EventType, StatusUpdate
from processor.sinks.mqtt_bridge import AlertBridge
from processor.sinks.mqtt_link import Acked, Connected, Disconnected, Note, Received
from processor.sinks.outbox import Outbox


@dataclass
class Sent:
    mid: int
    topic: str
    payload: str
    retain: bool
    expiry_s: int | None


class FakeLink:
    def __init__(self) -> None:
        self.notes: asyncio.Queue[Note] = asyncio.Queue()
        self.sent: list[Sent] = []
        self.subscribed: list[str] = []
        self._mid = 0
        self.up = False
        self.stopped = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        pass

    def publish(
        self, topic: str, payload: str, *, qos: int, retain: bool, expiry_s: int | None = None
    ) -> int | None:
        self._mid += 1
        self.sent.append(Sent(self._mid, topic, payload, retain, expiry_s))
        return self._mid

    def subscribe(self, topic: str, qos: int) -> int | None:
        self.subscribed.append(topic)
        return 1

    def is_connected(self) -> bool:
        return self.up

    def stop(self) -> None:
        self.stopped = True

    def connect(self) -> None:
        self.up = True
        self.notes.put_nowait(Connected(ok=True, reason="Success"))

    def drop(self) -> None:
        self.up = False
        self.notes.put_nowait(Disconnected("Unspecified error"))

    def events(self) -> list[Sent]:
        return [s for s in self.sent if s.topic.endswith("/event")]

    def ack(
        self, mid: int, value: int = 0, *, failure: bool = False, reason: str = "Success"
    ) -> None:
        self.notes.put_nowait(Acked(mid, value, reason, failure))


CFG = MqttConfig(
    url="mqtt://127.0.0.1:1",
    instance="t",
    discovery_settle_s=0.0,
    ha_birth_delay_s=0.05,
    ha_birth_jitter_s=0.0,
    flush_timeout_s=0.2,
    max_inflight=3,
    connect_timeout_s=0.3,
)


def spasm(i: int) -> Event:
    return Event(
        f"s{i}",
        EventType.SPASM,
        "emg",
        float(i),
        None,
        i + 3.0,
        wearable="left_calf",
        extras={"alert": True},
    )


async def until(cond, timeout_s: float = 3.0) -> None:
    for _ in range(int(timeout_s / 0.005)):
        if cond():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


async def test_outboxed_while_down_then_window_and_acks(tmp_path: Path) -> None:
    link = FakeLink()
    async with AlertBridge(CFG, link, outbox_path=tmp_path / "o.db") as bridge:
        for i in range(5):
            await bridge.send(spasm(i))
        await asyncio.sleep(0.05)
        assert link.sent == [], "nothing goes out before CONNACK"
        assert bridge.stats()["pending"] == 5
        link.connect()
        await until(lambda: len(link.events()) == 3)
        await asyncio.sleep(0.05)
        assert len(link.events()) == 3, "at most max_inflight awaiting PUBACK"
        topics = [s.topic for s in link.sent]
        first_event = topics.index("twitchwatch/left_calf/event")
        assert topics.index("twitchwatch/bridge/t/status") < first_event
        assert topics.index("homeassistant/event/left_calf/twitch/config") < first_event
        assert topics.index("twitchwatch/left_calf/state") < first_event
        assert all(not s.retain and s.expiry_s and s.expiry_s > 500 for s in link.events())
        for s in link.events():
            link.ack(s.mid)
        await until(lambda: len(link.events()) == 5)
        for s in link.events()[3:]:
            link.ack(s.mid, 16, reason="No matching subscribers")
        await until(lambda: bridge.stats()["pending"] == 0)
        assert [json.loads(s.payload)["event_id"] for s in link.events()] == [
            f"s{i}" for i in range(5)
        ]
        assert bridge.stats()["no_subscribers"] == 2
    assert link.stopped
    assert link.sent[-1].topic == "twitchwatch/bridge/t/status"
    assert link.sent[-1].payload == "offline"
    assert link.sent[-1].retain


async def test_rejected_alert_is_dead_lettered_not_retried(tmp_path: Path) -> None:
    link = FakeLink()
    async with AlertBridge(CFG, link, outbox_path=tmp_path / "o.db") as bridge:
        link.connect()
        await bridge.send(spasm(1))
        await until(lambda: len(link.events()) == 1)
        link.ack(link.events()[0].mid, 135, failure=True, reason="Not authorized")
        await until(lambda: bridge.stats()["pending"] == 0)
        await asyncio.sleep(0.05)
        assert len(link.events()) == 1
        assert bridge.stats()["outbox_failed"] == 1


async def test_reconnect_does_not_republish_what_the_client_holds(tmp_path: Path) -> None:
    link = FakeLink()
    async with AlertBridge(CFG, link, outbox_path=tmp_path / "o.db") as bridge:
        link.connect()
        for i in range(3):
            await bridge.send(spasm(i))
        await until(lambda: len(link.events()) == 3)
        link.drop()
        await until(lambda: not bridge.connected)
        link.connect()
        await until(lambda: bridge.connected)
        await asyncio.sleep(0.05)
        assert len(link.events()) == 3, "paho retransmits its own in-flight messages"
        for s in link.events():
            link.ack(s.mid)
        await until(lambda: bridge.stats()["pending"] == 0)


async def test_restart_replays_unsent_alerts_first(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    first = FakeLink()

    async def offline_run() -> None:
        async with AlertBridge(CFG, first, outbox_path=path) as bridge:
            for i in range(4):
                await bridge.send(spasm(i))

    with pytest.raises(SinkError, match=r"4 alert\(s\) not delivered .*never reachable"):
        await offline_run()
    assert first.stopped
    assert len(Outbox(path, max_rows=10)) == 4
    second = FakeLink()
    async with AlertBridge(CFG, second, outbox_path=path) as bridge:
        await bridge.send(spasm(10))
        second.connect()
        acked: set[int] = set()

        async def ack_all() -> None:
            while True:
                for s in second.events():
                    if s.mid not in acked:
                        acked.add(s.mid)
                        second.ack(s.mid)
                await asyncio.sleep(0.005)

        acker = asyncio.create_task(ack_all())
        await until(lambda: bridge.stats()["pending"] == 0)
        acker.cancel()
        ids = [json.loads(s.payload)["event_id"] for s in second.events()]
        assert ids == ["s0", "s1", "s2", "s3", "s10"]


async def test_ha_birth_reannounces_discovery_then_state(tmp_path: Path) -> None:
    link = FakeLink()
    async with AlertBridge(CFG, link, outbox_path=tmp_path / "o.db") as bridge:
        link.connect()
        await bridge.status(StatusUpdate("left_calf", connected=True, battery_pct=77))
        await until(lambda: any(s.topic.endswith("/state") for s in link.sent))
        assert "homeassistant/status" in link.subscribed
        link.sent.clear()
        for payload in (b"offline", b"online", b"online"):
            link.notes.put_nowait(Received("homeassistant/status", payload, retained=False))
        await until(lambda: any(s.topic.endswith("/state") for s in link.sent))
        await asyncio.sleep(0.1)
        configs = [s.topic for s in link.sent if s.topic.endswith("/config")]
        assert len(configs) == len(set(configs)) == 6, "each config once, bridge + 5 entities"
        last_config = max(i for i, s in enumerate(link.sent) if s.topic.endswith("/config"))
        state_at = [i for i, s in enumerate(link.sent) if s.topic.endswith("/state")]
        assert state_at
        assert state_at[0] > last_config
        assert json.loads(link.sent[state_at[0]].payload)["battery"] == 77
        assert bridge.stats()["ha_reannounce"] == 1
