"""Alert policy (coalescing, caps, spasms never dropped), state snapshot, topics, config."""

from __future__ import annotations

import dataclasses
import json

import pytest

from processor.config import load_config
from processor.config.mqtt import MqttConfig, parse_broker_url
from processor.errors import ConfigError, InputError
from processor.model import Event, EventType
from processor.sinks.alerts import AlertPolicy, Priority, WearableState, alert_key
from processor.sinks.topics import TopicTree, opaque_wearable_id


def ev(
    t: float,
    etype: EventType = EventType.FASCICULATION,
    *,
    eid: str = "",
    end: float | None = 0,
    **extras: object,
) -> Event:
    end_s = t if end == 0 else end
    return Event(eid or f"{etype}-{t}", etype, "emg_calf", t - 0.05, end_s, t, extras=extras)  # type: ignore[arg-type]


def policy(**kw: object) -> AlertPolicy:
    args: dict[str, object] = {
        "publish_twitches": True,
        "twitch_burst": 3,
        "twitch_window_s": 60.0,
        "max_per_min": 5,
    }
    args.update(kw)
    return AlertPolicy(**args)  # type: ignore[arg-type]


def test_twitch_storm_is_coalesced_and_counted_on_next_sent_twitch() -> None:
    p = policy()
    decisions = [p.decide(ev(float(t)), "w") for t in range(10)]  # 10 twitches in 10 s
    assert [d.publish for d in decisions] == [True] * 3 + [False] * 7
    assert p.coalesced == 7
    later = p.decide(ev(70.5), "w")  # the window has moved on
    assert later.publish
    assert later.coalesced == 7
    assert later.priority is Priority.TWITCH
    assert p.coalesced_for("w") == 7
    assert p.coalesced_for("other") == 0


def test_spasm_lines_are_never_coalesced_or_capped() -> None:
    p = policy(max_per_min=1, twitch_burst=0)
    for t in range(50):
        assert not p.decide(ev(float(t)), "w").publish
    for i in range(20):
        start = p.decide(ev(100.0 + i, EventType.SPASM, eid=f"s{i}", end=None), "w")
        end = p.decide(ev(100.5 + i, EventType.SPASM, eid=f"s{i}", end=101.0 + i), "w")
        assert start.publish
        assert end.publish
        assert start.priority is Priority.SPASM


def test_rate_alerts_only_with_alert_flag_and_capped_per_wearable() -> None:
    p = policy(max_per_min=2)
    assert not p.decide(ev(1.0, EventType.RATE, rate_per_min=3.0), "w").publish
    sent = [p.decide(ev(2.0 + i, EventType.RATE, alert=True), "w").publish for i in range(4)]
    assert sent == [True, True, False, False]
    assert p.capped == 2
    assert p.decide(ev(3.0, EventType.RATE, alert=True), "other").publish, "caps are per wearable"
    assert p.decide(ev(70.0, EventType.RATE, alert=True), "w").publish, "cap window slides"


def test_other_types_and_disabled_twitches_are_not_alerts() -> None:
    p = policy(publish_twitches=False)
    assert not p.decide(ev(1.0), "w").publish
    assert not p.decide(ev(2.0, EventType.CONTRACTION), "w").publish
    assert not p.decide(ev(3.0, EventType.SIGNAL_QUALITY), "w").publish


def test_state_tracks_spasms_rate_and_keys_split_spasm_lines() -> None:
    st = WearableState()
    assert st.apply(ev(5.0, EventType.SPASM, eid="s1", end=None))
    assert not st.apply(ev(6.0, EventType.SPASM, eid="s2", end=None))
    assert st.snapshot()["spasm_active"] == "ON"
    assert not st.apply(ev(9.0, EventType.SPASM, eid="s1", end=9.0))
    assert st.apply(ev(9.5, EventType.SPASM, eid="s2", end=9.5))
    st.apply(ev(10.0, rate_per_min=4.25))
    snap = json.loads(st.snapshot_json())
    assert snap == {
        "spasm_active": "OFF",
        "twitch_rate_per_min": 4.25,
        "battery": None,
        "connected": "online",
        "last_event_s": 10.0,
        "coalesced_twitches": 0,
    }
    start = ev(5.0, EventType.SPASM, eid="s1", end=None)
    end = ev(9.0, EventType.SPASM, eid="s1", end=9.0)
    assert alert_key(start) != alert_key(end)
    assert alert_key(start).startswith("s1")


@pytest.mark.parametrize(
    "raw",
    [
        "AA:BB:CC:DD:EE:FF",
        "aabbccddeeff",
        "AA-BB-CC-DD-EE-FF",
        "bridge",
        "a/b",
        "x" * 65,
        "with space",
    ],
)
def test_opaque_ids_hide_addresses_and_unsafe_names(raw: str) -> None:
    wid = opaque_wearable_id(raw, "fallback")
    assert wid.startswith("tw_")
    assert len(wid) == 11
    assert wid == opaque_wearable_id(raw, "fallback"), "stable"
    assert raw.lower()[:5] not in wid[3:] or raw == "bridge"


def test_plain_ids_kept_and_empty_uses_fallback() -> None:
    assert opaque_wearable_id("left_calf", "f") == "left_calf"
    assert opaque_wearable_id("", "home_replay") == "home_replay"
    tree = TopicTree("tw", "pi", "ha")
    assert tree.event("w") == "tw/w/event"
    assert tree.bridge_status == "tw/bridge/pi/status"
    assert tree.discovery("sensor", "w", "battery") == "ha/sensor/w/battery/config"


def test_config_defaults_and_derived_values() -> None:
    cfg = MqttConfig()
    assert cfg.url == ""
    assert cfg.protocol == "5"
    assert cfg.qos == 1
    assert cfg.effective_client_id == "twitchwatch-home"
    assert cfg.effective_replay_wearable == "home_replay"
    assert not cfg.publish_raw
    assert parse_broker_url("mqtts://broker.lan").port == 8883
    assert parse_broker_url("mqtt://127.0.0.1:1884").port == 1884


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ('url = "http://x"', "mqtt url must be"),
        ('url = "mqtt://user:pw@host"', "must not carry credentials"),
        ('url = "mqtt://host:99999"', "mqtt url must be"),
        ('instance = "a/b"', "instance must match"),
        ('base_topic = "tw/#"', "base_topic"),
        ("qos = 0", "mqtt.qos"),
        ("keepalive_s = 1", "mqtt.keepalive_s"),
        ('tls_cert_file = "c.pem"', "go together"),
        ("publish_raw = true", "not supported"),
        ('protocol = "4"', "mqtt.protocol"),
        ("nope = 1", "unknown key 'mqtt.nope'"),
    ],
)
def test_bad_mqtt_config_is_one_line_naming_file_and_key(
    tmp_path: object, table: str, fragment: str
) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "bad.toml"
    path.write_text(f"[mqtt]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert "bad.toml" in msg
    assert fragment in msg
    assert "\n" not in msg


def test_bad_url_from_command_line_is_an_input_error() -> None:
    with pytest.raises(InputError, match="mqtt url must be"):
        dataclasses.replace(MqttConfig(), url="tcp://x")
