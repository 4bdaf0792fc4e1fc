"""MqttSink against a real Mosquitto: discovery, retained state, HA birth, LWT, no raw data."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from processor.model import Event, EventType, JsonValue, StatusUpdate
from processor.sinks.ha_discovery import DeviceInfo, DiscoveryOptions, wearable_configs
from processor.sinks.mqtt import MqttSink
from processor.sinks.outbox import Outbox
from processor.sinks.topics import TopicTree
from tests.broker import Broker, FaultProxy, publish_raw, wait_until
from tests.sinks.conftest import fast_cfg

pytestmark = pytest.mark.broker
ROOT = Path(__file__).resolve().parents[2]


def event(i: int, etype: EventType, wearable: str = "left_calf", **extras: JsonValue) -> Event:
    end = None if etype is EventType.SPASM else i + 0.05
    return Event(
        f"e{i}",
        etype,
        "emg_calf",
        float(i),
        end,
        i + 0.1,
        wearable=wearable,
        extras={"alert": etype is EventType.SPASM, **extras},
    )


async def test_discovery_state_and_events_on_the_broker(
    broker: Broker, watchers, tmp_path: Path
) -> None:
    live = watchers(broker.port, ["#"])
    cfg = fast_cfg(broker.url)
    async with MqttSink(cfg, outbox_path=tmp_path / "o.db") as sink:
        await sink.status(StatusUpdate("left_calf", connected=True, battery_pct=81))
        await sink.send(event(1, EventType.SPASM))
        await sink.send(event(2, EventType.FASCICULATION, rate_per_min=4.0, peak_uv=120.0))
        assert await sink.drained(5)
        late = watchers(broker.port, ["#"])  # sees only what is retained
        opts = DiscoveryOptions(TopicTree("twitchwatch", "test", "homeassistant"), 1, "0.1.0", 180)
        expected = wearable_configs(DeviceInfo("left_calf"), opts)
        # the broker sends retained messages in no promised order: wait for all of them
        wanted = {
            *expected,
            "twitchwatch/bridge/test/status",
            "twitchwatch/left_calf/availability",
            "twitchwatch/left_calf/state",
        }
        await asyncio.to_thread(late.wait_for, lambda ms: wanted <= {m.topic for m in ms})
        retained = {m.topic: m for m in late.snapshot()}
        assert all(m.retain for m in retained.values())
        for topic, payload in expected.items():
            assert retained[topic].json() == payload
        assert retained["twitchwatch/bridge/test/status"].payload == b"online"
        assert retained["twitchwatch/left_calf/availability"].payload == b"online"
        state = retained["twitchwatch/left_calf/state"].json()
        assert state["spasm_active"] == "ON"
        assert state["battery"] == 81
        assert not any(t.endswith("/event") for t in retained), "events are never retained"
    events = [m.json() for m in live.on("twitchwatch/left_calf/event")]
    assert [(e["event_id"], e["event_type"]) for e in events] == [
        ("e1", "spasm"),
        ("e2", "fasciculation"),
    ]
    assert events[1]["peak_uv"] == 120.0
    assert events[0]["wearable"] == "left_calf"
    after = watchers(broker.port, ["twitchwatch/#"])
    after.wait_for(lambda ms: len({m.topic for m in ms}) >= 3, what="retained after shutdown")
    assert after.on("twitchwatch/bridge/test/status")[-1].payload == b"offline", "explicit offline"
    assert after.on("twitchwatch/left_calf/availability")[-1].payload == b"offline"


async def test_ha_birth_reannounces_each_config_once_then_state(
    broker: Broker, watchers, tmp_path: Path
) -> None:
    cfg = fast_cfg(broker.url)
    async with MqttSink(cfg, outbox_path=tmp_path / "o.db") as sink:
        await sink.status(StatusUpdate("left_calf", connected=True, battery_pct=50))
        w = watchers(broker.port, ["homeassistant/+/+/+/config", "twitchwatch/+/state"])
        await asyncio.to_thread(
            w.wait_for, lambda ms: len([m for m in ms if m.topic.endswith("/config")]) == 6
        )
        for m in w.snapshot():  # wipe retained discovery, as a broker without persistence would
            if m.topic.endswith("/config"):
                publish_raw(broker.port, m.topic, b"", retain=True)
        w.clear()
        publish_raw(broker.port, "homeassistant/status", "offline")
        publish_raw(broker.port, "homeassistant/status", "online")
        started = time.monotonic()
        await asyncio.to_thread(w.wait_for, lambda ms: any(m.topic.endswith("/state") for m in ms))
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.3)  # anything extra (a second announce) would show up now
        msgs = w.snapshot()
        configs = Counter(m.topic for m in msgs if m.topic.endswith("/config") and m.payload)
        assert len(configs) == 6, configs
        assert set(configs.values()) == {1}, configs
        first_state = next(i for i, m in enumerate(msgs) if m.topic.endswith("/state"))
        assert first_state > max(i for i, m in enumerate(msgs) if m.topic.endswith("/config"))
        assert elapsed < cfg.ha_birth_delay_s + cfg.ha_birth_jitter_s + 1.0
        assert sink.stats()["ha_reannounce"] == 1


async def test_no_raw_samples_reach_a_hash_subscriber(
    broker: Broker, watchers, tmp_path: Path
) -> None:
    w = watchers(broker.port, ["#"])
    async with MqttSink(fast_cfg(broker.url), outbox_path=tmp_path / "o.db") as sink:
        await sink.status(StatusUpdate("AA:BB:CC:DD:EE:FF", connected=True, battery_pct=90))
        for i, etype in enumerate(
            [
                EventType.FASCICULATION,
                EventType.FIBRILLATION,
                EventType.RATE,
                EventType.CONTRACTION,
                EventType.SIGNAL_QUALITY,
                EventType.SPASM,
            ]
        ):
            await sink.send(event(i, etype, wearable="AA:BB:CC:DD:EE:FF", quality=["ok"]))
        assert await sink.drained(5)
    allowed = re.compile(
        r"^(twitchwatch/(bridge/test/status|tw_[0-9a-f]{8}/(event|state|availability))"
        r"|homeassistant/(event|sensor|binary_sensor)/[A-Za-z0-9_-]+/[a-z_]+/config)$"
    )
    msgs = w.wait_for(lambda ms: any(m.payload == b"offline" for m in ms), what="shutdown")
    for m in msgs:
        assert allowed.match(m.topic), m.topic
        assert b"AA:BB" not in m.payload
        assert "AA:BB" not in m.topic
        if m.payload.startswith(b"{"):
            body = m.json()
            assert not {"samples", "data", "emg", "acc", "raw"} & set(body)
            assert all(
                not (isinstance(v, list) and any(isinstance(x, float) for x in v))
                for v in body.values()
            )
    types = [m.json()["event_type"] for m in msgs if m.topic.endswith("/event")]
    assert types == ["fasciculation", "fibrillation", "spasm"], "contraction/quality stay local"


def _publisher(broker: Broker, outbox: Path, *args: str) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-m",
        "tests.sinks.mqtt_publisher",
        "--url",
        broker.url,
        "--outbox",
        str(outbox),
        *args,
    ]
    pipe = subprocess.PIPE
    return subprocess.Popen(cmd, cwd=ROOT, stdout=pipe, stderr=pipe, text=True)  # noqa: S603


def _read_until(proc: subprocess.Popen[str], line: str, timeout_s: float = 20) -> list[str]:
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = proc.stdout.readline().strip()
        if not got and proc.poll() is not None:
            break
        seen.append(got)
        if got == line:
            return seen
    err = proc.stderr.read() if proc.stderr and proc.poll() is not None else ""
    raise AssertionError(f"publisher never printed {line!r}; last {seen[-3:]} {err[-800:]}")


def test_lwt_offline_when_the_processor_is_killed(broker: Broker, watchers, tmp_path: Path) -> None:
    w = watchers(broker.port, ["twitchwatch/bridge/proc/status"])
    proc = _publisher(broker, tmp_path / "o.db", "--count", "1", "--hold", "--keepalive-s", "5")
    try:
        _read_until(proc, "sent ev00000")
        w.wait_for(lambda ms: bool(ms) and ms[-1].payload == b"online", what="online")
        killed = time.monotonic()
        proc.kill()
        w.wait_for(lambda ms: ms[-1].payload == b"offline", timeout_s=7.5, what="LWT offline")
        assert time.monotonic() - killed < 1.5 * 5
    finally:
        proc.kill()
        proc.communicate()
    late = watchers(broker.port, ["twitchwatch/bridge/proc/status"])
    assert late.wait_for(bool)[0].payload == b"offline"
    assert late.snapshot()[0].retain


def _dedupe_check(payloads: list[dict[str, object]]) -> dict[str, int]:
    """Duplicates must be the same message (same event_id, same content)."""
    by_id: dict[str, dict[str, object]] = {}
    counts: Counter[str] = Counter()
    for body in payloads:
        key = str(body["event_id"])
        counts[key] += 1
        assert by_id.setdefault(key, body) == body, f"two different messages share {key}"
    return dict(counts)


def test_processor_killed_while_broker_down_then_both_restart(
    broker: Broker, watchers, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox.db"
    w = watchers(broker.port, ["twitchwatch/+/event"], client_id="ha-durable", durable=True)
    proc = _publisher(broker, outbox, "--count", "40", "--rate-hz", "40", "--hold")
    try:
        w.wait_for(lambda ms: len(ms) >= 10, what="first alerts")
        broker.kill()
        _read_until(proc, "sent ev00039")  # the rest was outboxed while the broker was down
        proc.kill()  # SIGKILL: paho's in-memory queue dies with it
        proc.communicate()
        before = {m.json()["event_id"] for m in w.snapshot()}
        box = Outbox(outbox, max_rows=100)
        waiting = len(box)
        box.close()
        assert waiting >= 40 - len(before) > 0, "the undelivered alerts are on disk"
        broker.start()
        wait_until(w.connected.is_set, 10, "watcher back")
        proc = _publisher(broker, outbox, "--count", "0", "--drain-s", "15")
        out = _read_until(proc, "done")
        assert "drained" in out
    finally:
        proc.kill()
        proc.communicate()
    msgs = w.wait_for(lambda ms: len({m.json()["event_id"] for m in ms}) >= 40, what="all 40")
    counts = _dedupe_check([m.json() for m in msgs])
    assert sorted(counts) == [f"ev{i:05d}" for i in range(40)], "every outboxed alert delivered"
    box = Outbox(outbox, max_rows=10)
    assert len(box) == 0
    assert box.counters()["acked"] >= 40 - 10
    box.close()


async def test_broker_killed_mid_stream_loses_nothing(
    broker: Broker, watchers, tmp_path: Path
) -> None:
    w = watchers(broker.port, ["twitchwatch/+/event"], client_id="ha-durable", durable=True)
    n = 150
    async with MqttSink(fast_cfg(broker.url), outbox_path=tmp_path / "o.db") as sink:
        for i in range(n):
            await sink.send(event(i, EventType.SPASM))
            await asyncio.sleep(0.005)
            if i == 50:
                broker.kill()
            if i == 100:
                broker.start()
        assert await sink.drained(20), sink.stats()
        stats = sink.stats()
    msgs = w.wait_for(
        lambda ms: len({m.json()["event_id"] for m in ms}) >= n, timeout_s=20, what="all alerts"
    )
    counts = _dedupe_check([m.json() for m in msgs])
    assert len(counts) == n, "0 lost"
    assert sum(counts.values()) - n <= 20, "duplicates bounded by the in-flight window"
    assert stats["outbox_acked"] == n
    disconnects = stats["disconnects"]
    assert isinstance(disconnects, int)
    assert disconnects >= 1


@pytest.mark.slow
def test_replay_with_mqtt_end_to_end(broker: Broker, watchers, tmp_path: Path) -> None:
    """`twitchwatch replay REC --mqtt URL`: every spasm / rate alert reaches '#', nothing raw."""
    recording = ROOT / "recordings" / "twitches_no_acc.csv"
    if not recording.exists():
        pytest.skip("bundled recording not present")
    w = watchers(broker.port, ["#"])
    config = tmp_path / "c.toml"
    config.write_text(f'[mqtt]\ninstance = "e2e"\noutbox_path = "{tmp_path / "o.db"}"\n')
    log = tmp_path / "events.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "processor",
        "replay",
        str(recording),
        "--mqtt",
        broker.url,
        "--config",
        str(config),
        "--no-history",
        "--quiet",
        "--events-out",
        str(log),
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=100, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr[-2000:]
    msgs = w.wait_for(lambda ms: any(m.payload == b"offline" for m in ms), what="shutdown")
    lines = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    on_broker = [m.json() for m in msgs if m.topic.endswith("/event")]
    logged_ids = {x["event_id"] for x in lines}
    assert {e["event_id"] for e in on_broker} <= logged_ids
    must = {x["event_id"] for x in lines if x["type"] == "spasm" or x.get("alert") is True}
    assert must <= {e["event_id"] for e in on_broker}, "alerts are never coalesced away"
    for m in msgs:
        assert m.topic.startswith(("twitchwatch/", "homeassistant/")), m.topic
        assert len(m.payload) < 2000, "derived events only, no sample windows"


async def test_broker_restart_without_state_republishes_retained_state(
    tmp_path: Path, watchers
) -> None:
    """HA-reconnect window: an alert nobody hears (v5 reason 16); the retained state recovers."""
    broker = Broker(tmp_path / "plain", persistence=False).start()
    try:
        async with MqttSink(fast_cfg(broker.url), outbox_path=tmp_path / "o.db") as sink:
            await sink.send(event(1, EventType.SPASM))
            assert await sink.drained(5)
            broker.kill()  # loses every retained message and session
            broker.start()
            for _ in range(500):
                if sink.stats().get("connects") == 2:
                    break
                await asyncio.sleep(0.02)
            await sink.send(event(2, EventType.SPASM))  # no subscriber yet: reason 16
            assert await sink.drained(5)
            assert sink.stats()["no_subscribers"] == 2
            late = watchers(broker.port, ["twitchwatch/#", "homeassistant/#"])
            msgs = await asyncio.to_thread(
                late.wait_for,
                # retained messages come filter by filter: the state's before discovery's
                lambda ms: (
                    any(m.topic.endswith("/state") for m in ms)
                    and any(m.topic.endswith("twitch/config") for m in ms)
                ),
            )
            state = next(m for m in msgs if m.topic == "twitchwatch/left_calf/state")
            assert state.retain
            assert state.json()["spasm_active"] == "ON"
            assert any(m.topic.endswith("twitch/config") for m in msgs), "discovery re-published"
    finally:
        broker.kill()


@pytest.mark.slow
async def test_client_id_collision_is_detected(broker: Broker, tmp_path: Path) -> None:
    cfg = fast_cfg(broker.url)
    async with (
        MqttSink(cfg, outbox_path=tmp_path / "a.db") as first,
        MqttSink(cfg, outbox_path=tmp_path / "b.db") as second,
    ):
        for _ in range(250):
            taken = first.stats().get("reconnect_storm", 0) or second.stats().get(
                "reconnect_storm", 0
            )
            if taken:
                break
            await asyncio.sleep(0.02)
        assert taken, (first.stats(), second.stats())


async def test_lost_pubacks_give_bounded_identical_duplicates(
    broker: Broker, watchers, tmp_path: Path
) -> None:
    """Broker->client bytes vanish (PUBACKs lost), then the link resets: the client
    retransmits its in-flight window; duplicates are bounded and identical (dedupe on id)."""
    proxy = FaultProxy(broker.port)
    w = watchers(broker.port, ["twitchwatch/+/event"])
    n = 120
    cfg = fast_cfg(f"mqtt://127.0.0.1:{proxy.port}", max_inflight=10)
    try:
        async with MqttSink(cfg, outbox_path=tmp_path / "o.db") as sink:
            for i in range(n):
                if i == 40:
                    proxy.blackhole.set()
                if i == 60:
                    proxy.reset()
                await sink.send(event(i, EventType.SPASM))
                await asyncio.sleep(0.005)
            assert await sink.drained(20), sink.stats()
            stats = sink.stats()
    finally:
        proxy.close()
    msgs = await asyncio.to_thread(
        w.wait_for, lambda ms: len({m.json()["event_id"] for m in ms}) >= n, 10
    )
    counts = _dedupe_check([m.json() for m in msgs])
    assert len(counts) == n, "0 lost"
    duplicates = sum(counts.values()) - n
    assert duplicates <= cfg.max_inflight, counts
    assert stats["outbox_acked"] == n


async def test_stale_alerts_expire_in_broker_queues(
    broker: Broker, watchers, tmp_path: Path
) -> None:
    """MQTT v5 message expiry = remaining TTL: an offline subscriber never gets a stale alert."""
    offline = watchers(broker.port, ["twitchwatch/+/event"], client_id="ha-away", durable=True)
    offline.close()  # its session (and subscription) stays on the broker, queueing alerts
    cfg = fast_cfg(broker.url, alert_ttl_s=1.0)
    async with MqttSink(cfg, outbox_path=tmp_path / "o.db") as sink:
        await sink.send(event(1, EventType.SPASM))
        assert await sink.drained(5)
        await asyncio.sleep(2.2)  # e1 is now older than its TTL, still queued at the broker
        await sink.send(event(2, EventType.SPASM))
        assert await sink.drained(5)
        back = watchers(broker.port, ["twitchwatch/+/event"], client_id="ha-away", durable=True)
        msgs = await asyncio.to_thread(back.wait_for, lambda ms: len(ms) >= 1)
        await asyncio.sleep(0.2)
    assert [m.json()["event_id"] for m in back.snapshot()] == ["e2"]
    assert msgs
