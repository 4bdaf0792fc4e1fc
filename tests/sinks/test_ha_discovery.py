"""Home Assistant discovery payloads: pure builders against stored golden JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from processor.model import Event, EventType
from processor.sinks.alerts import alert_payload
from processor.sinks.ha_discovery import (
    EVENT_TYPES,
    DeviceInfo,
    DiscoveryOptions,
    bridge_configs,
    bridge_messages,
    discovery_messages,
    removal_messages,
    wearable_configs,
)
from processor.sinks.topics import TopicTree

GOLDEN = Path(__file__).parent / "golden"
OPTS = DiscoveryOptions(TopicTree("twitchwatch", "kitchenpi", "homeassistant"), 1, "0.1.0", 180)
DEVICE = DeviceInfo(
    "tw_3f9c2a71", name="EMG band (left forearm)", model="myo", manufacturer="Thalmic Labs"
)
TOPIC = re.compile(
    r"^homeassistant/(event|sensor|binary_sensor)/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/config$"
)


def _golden(name: str) -> dict[str, object]:
    data = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_wearable_configs_match_golden() -> None:
    assert wearable_configs(DEVICE, OPTS) == _golden("wearable_tw_3f9c2a71.json")


def test_bridge_config_matches_golden() -> None:
    assert bridge_configs(OPTS) == _golden("bridge_kitchenpi.json")


def test_entities_one_device_with_required_keys() -> None:
    configs: dict[str, Any] = json.loads(json.dumps(wearable_configs(DEVICE, OPTS)))
    components = sorted(t.split("/")[1] for t in configs)
    assert components == ["binary_sensor", "binary_sensor", "event", "sensor", "sensor"]
    unique_ids = [c["unique_id"] for c in configs.values()]
    assert len(set(unique_ids)) == len(unique_ids)
    for topic, cfg in configs.items():
        assert TOPIC.match(topic), topic
        assert cfg["qos"] == 1
        assert cfg["origin"]["name"] == "twitchwatch"
        assert cfg["device"]["identifiers"] == ["twitchwatch_tw_3f9c2a71"]
        assert cfg["device"]["name"]  # HA wants the name in every block
    event = configs["homeassistant/event/tw_3f9c2a71/twitch/config"]
    assert {"fasciculation", "fibrillation", "spasm"} <= set(event["event_types"])
    diagnostic = {t.split("/")[3] for t, c in configs.items() if c.get("entity_category")}
    assert diagnostic == {"battery", "connected"}
    # The connectivity entity follows the bridge only: "Disconnected", not "Unavailable".
    conn = configs["homeassistant/binary_sensor/tw_3f9c2a71/connected/config"]
    assert conn["availability"] == [{"topic": "twitchwatch/bridge/kitchenpi/status"}]


def test_messages_are_retained_json_and_removal_is_empty_retained() -> None:
    msgs = discovery_messages(DEVICE, OPTS) + bridge_messages(OPTS)
    assert all(m.retain and m.qos == 1 for m in msgs)
    assert all(isinstance(json.loads(m.payload), dict) for m in msgs)
    removal = removal_messages(DEVICE.wid, OPTS)
    assert all(m.retain and m.payload == "" for m in removal)
    assert {m.topic for m in discovery_messages(DEVICE, OPTS)} < {m.topic for m in removal}
    assert "twitchwatch/tw_3f9c2a71/state" in {m.topic for m in removal}


def test_no_expire_after_when_disabled() -> None:
    opts = DiscoveryOptions(OPTS.topics, 1, "0.1.0", expire_after_s=0)
    assert all("expire_after" not in c for c in wearable_configs(DEVICE, opts).values())


@pytest.mark.parametrize(
    ("etype", "end_s", "expected"),
    [
        (EventType.FASCICULATION, 1.1, "fasciculation"),
        (EventType.FIBRILLATION, 1.1, "fibrillation"),
        (EventType.SPASM, None, "spasm"),
        (EventType.SPASM, 9.0, "spasm_end"),
        (EventType.RATE, 1.1, "twitch_rate"),
    ],
)
def test_alert_payload_event_type_is_declared(
    etype: EventType, end_s: float | None, expected: str
) -> None:
    event = Event(
        "e1",
        etype,
        "emg_calf",
        1.0,
        end_s,
        1.2,
        wearable="AA:BB:CC:DD:EE:FF",
        extras={"alert": True, "peak_uv": 80.0},
    )
    body = json.loads(alert_payload(event, "tw_x", coalesced=0))
    assert body["event_type"] == expected
    assert body["event_type"] in EVENT_TYPES
    # The event-log serializer's keys are all there, and no BLE address leaks.
    for key in ("event_id", "type", "channel", "start_s", "end_s", "detected_at_s"):
        assert key in body
    assert body["wearable"] == "tw_x"
    assert "AA:BB" not in json.dumps(body)
