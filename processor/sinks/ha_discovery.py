"""Home Assistant MQTT discovery payloads (pure functions, tested against golden JSON).

One HA device per wearable, hanging off one bridge device per processor instance (``via_device``).
Per wearable: an ``event`` entity (the alerts), a ``binary_sensor`` "Spasm active", a ``sensor``
twitch rate, and diagnostic battery and connectivity entities. Every config carries
``unique_id``, ``qos`` and ``origin``; data entities are available only while both the bridge and
the wearable are (``availability_mode: all``), the connectivity entity follows the bridge only so
it reads "Disconnected" rather than "Unavailable".
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from processor.model import JsonValue
from processor.sinks.topics import TopicTree

# What the event entity can fire: the three classes, the end of a spasm, and a twitch-rate alert.
EVENT_TYPES = ("fasciculation", "fibrillation", "spasm", "spasm_end", "twitch_rate")
ORIGIN_NAME = "twitchwatch"
SUPPORT_URL = "https://github.com/twitchwatch/twitchwatch"


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """One message to publish: topic, UTF-8 payload ("" = delete a retained message), flags."""

    topic: str
    payload: str
    retain: bool
    qos: int = 1


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """The HA device of one wearable (opaque id; no BLE address)."""

    wid: str
    name: str = ""
    model: str = ""
    manufacturer: str = ""

    @property
    def display_name(self) -> str:
        """Name shown in HA."""
        return self.name or f"twitchwatch {self.wid}"


@dataclass(frozen=True, slots=True)
class DiscoveryOptions:
    """What every config shares: topics, QoS, software version, state expiry."""

    topics: TopicTree
    qos: int = 1
    sw_version: str = "0.1.0"
    expire_after_s: int = 180


def _dumps(payload: dict[str, JsonValue]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def _origin(opts: DiscoveryOptions) -> dict[str, JsonValue]:
    return {"name": ORIGIN_NAME, "sw_version": opts.sw_version, "support_url": SUPPORT_URL}


def _device(device: DeviceInfo, opts: DiscoveryOptions) -> dict[str, JsonValue]:
    block: dict[str, JsonValue] = {
        "identifiers": [f"twitchwatch_{device.wid}"],
        "name": device.display_name,
        "sw_version": opts.sw_version,
        "via_device": opts.topics.bridge_node,
    }
    if device.model:
        block["model"] = device.model
    if device.manufacturer:
        block["manufacturer"] = device.manufacturer
    return block


def _entity(
    device: DeviceInfo, opts: DiscoveryOptions, key: str, name: str
) -> dict[str, JsonValue]:
    topics = opts.topics
    return {
        "name": name,
        "unique_id": f"{device.wid}_{key}",
        "qos": opts.qos,
        "availability_mode": "all",
        "availability": [
            {"topic": topics.bridge_status},
            {"topic": topics.availability(device.wid)},
        ],
        "device": _device(device, opts),
        "origin": _origin(opts),
    }


def _with_expiry(payload: dict[str, JsonValue], opts: DiscoveryOptions) -> dict[str, JsonValue]:
    if opts.expire_after_s > 0:
        payload["expire_after"] = opts.expire_after_s
    return payload


def wearable_configs(device: DeviceInfo, opts: DiscoveryOptions) -> dict[str, dict[str, JsonValue]]:
    """Discovery config payloads of one wearable, keyed by config topic."""
    topics = opts.topics
    wid = device.wid
    state = topics.state(wid)
    event = _entity(device, opts, "twitch", "Twitch")
    event.update({"state_topic": topics.event(wid), "event_types": list(EVENT_TYPES)})
    spasm = _entity(device, opts, "spasm_active", "Spasm active")
    spasm.update(
        {
            "state_topic": state,
            "value_template": "{{ value_json.spasm_active }}",
            "payload_on": "ON",
            "payload_off": "OFF",
            "device_class": "problem",
        }
    )
    rate = _entity(device, opts, "twitch_rate", "Twitch rate")
    rate.update(
        {
            "state_topic": state,
            "value_template": "{{ value_json.twitch_rate_per_min }}",
            "unit_of_measurement": "twitches/min",
            "state_class": "measurement",
            "suggested_display_precision": 1,
            "icon": "mdi:pulse",
        }
    )
    battery = _entity(device, opts, "battery", "Battery")
    battery.update(
        {
            "state_topic": state,
            "value_template": "{{ value_json.battery }}",
            "device_class": "battery",
            "unit_of_measurement": "%",
            "state_class": "measurement",
            "entity_category": "diagnostic",
        }
    )
    connected = _entity(device, opts, "connected", "Connected")
    del connected["availability_mode"]
    connected.update(
        {
            "availability": [{"topic": topics.bridge_status}],
            "state_topic": topics.availability(wid),
            "payload_on": "online",
            "payload_off": "offline",
            "device_class": "connectivity",
            "entity_category": "diagnostic",
        }
    )
    return {
        topics.discovery("event", wid, "twitch"): event,
        topics.discovery("binary_sensor", wid, "spasm_active"): _with_expiry(spasm, opts),
        topics.discovery("sensor", wid, "twitch_rate"): _with_expiry(rate, opts),
        topics.discovery("sensor", wid, "battery"): battery,
        topics.discovery("binary_sensor", wid, "connected"): connected,
    }


def bridge_configs(opts: DiscoveryOptions) -> dict[str, dict[str, JsonValue]]:
    """Discovery config of the bridge device (the processor): one connectivity entity."""
    topics = opts.topics
    node = topics.bridge_node
    payload: dict[str, JsonValue] = {
        "name": "Bridge",
        "unique_id": f"{node}_status",
        "qos": opts.qos,
        "state_topic": topics.bridge_status,
        "payload_on": "online",
        "payload_off": "offline",
        "device_class": "connectivity",
        "entity_category": "diagnostic",
        "device": {
            "identifiers": [node],
            "name": f"twitchwatch ({topics.instance})",
            "sw_version": opts.sw_version,
            "model": "twitchwatch processor",
        },
        "origin": _origin(opts),
    }
    return {topics.discovery("binary_sensor", node, "status"): payload}


def discovery_messages(device: DeviceInfo, opts: DiscoveryOptions) -> list[MqttMessage]:
    """Retained discovery messages announcing one wearable."""
    return [
        MqttMessage(topic, _dumps(payload), retain=True, qos=opts.qos)
        for topic, payload in wearable_configs(device, opts).items()
    ]


def bridge_messages(opts: DiscoveryOptions) -> list[MqttMessage]:
    """Retained discovery messages announcing the bridge device."""
    return [
        MqttMessage(topic, _dumps(payload), retain=True, qos=opts.qos)
        for topic, payload in bridge_configs(opts).items()
    ]


def removal_messages(wid: str, opts: DiscoveryOptions) -> list[MqttMessage]:
    """Empty retained payloads that delete a wearable's entities, state and availability in HA."""
    device = DeviceInfo(wid)
    topics = [*wearable_configs(device, opts), opts.topics.state(wid)]
    topics.append(opts.topics.availability(wid))
    return [MqttMessage(topic, "", retain=True, qos=opts.qos) for topic in topics]
