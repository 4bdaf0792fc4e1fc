"""MQTT / Home Assistant settings (section ``[mqtt]``).

Secrets: prefer ``password_env`` (the name of an environment variable) over ``password`` in a
file; neither is ever logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from processor.config.schema import setting
from processor.errors import ConfigError

_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TOPIC_BASE = re.compile(r"^[^#+\s]+$")
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


class MqttValueError(ConfigError, ValueError):
    """A bad ``[mqtt]`` value: a ValueError for the config loader, an InputError for the CLI."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is, parsed from ``mqtt://host:port`` or ``mqtts://host:port``."""

    host: str
    port: int
    tls: bool

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    """Parse a broker URL (no credentials in it: they belong in username/password_env).

    Raises:
        MqttValueError: not ``mqtt://host[:port]`` / ``mqtts://host[:port]``.
    """
    expected = f"mqtt url must be mqtt://host[:port] or mqtts://host[:port], got {url!r}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise MqttValueError(expected) from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        raise MqttValueError(expected)
    if parts.username or parts.password:
        raise MqttValueError(
            "mqtt url must not carry credentials: set mqtt.username and mqtt.password_env"
        )
    return BrokerAddress(
        host=parts.hostname,
        port=port if port is not None else DEFAULT_PORTS[parts.scheme],
        tls=parts.scheme == "mqtts",
    )


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """MQTT alerts and Home Assistant discovery (off while ``url`` is empty)."""

    url: str = setting("", doc="mqtt://host:port or mqtts://host:port; empty: MQTT off")
    instance: str = setting(
        "home", doc="this processor's name in topics and ids ([A-Za-z0-9_-], unique per broker)"
    )
    client_id: str = setting("", doc="MQTT client id; empty: twitchwatch-<instance>")
    protocol: Literal["5", "3.1.1"] = setting("5", doc="MQTT protocol version")
    qos: int = setting(1, ge=1, le=2, doc="QoS of alerts, state and discovery")
    keepalive_s: int = setting(15, unit="s", ge=5, le=600, doc="MQTT keepalive")
    reconnect_min_s: int = setting(1, unit="s", ge=1, le=60, doc="first reconnect delay")
    reconnect_max_s: int = setting(30, unit="s", ge=1, le=3600, doc="reconnect backoff cap")
    connect_timeout_s: float = setting(
        5.0, unit="s", gt=0, le=120, doc="wait for the broker: per `mqtt test` step, and at exit"
    )
    max_inflight: int = setting(20, ge=1, le=1000, doc="alerts awaiting PUBACK at once")
    base_topic: str = setting("twitchwatch", doc="root of the topic tree")
    discovery: bool = setting(True, doc="publish Home Assistant MQTT discovery configs")
    discovery_prefix: str = setting("homeassistant", doc="Home Assistant discovery prefix")
    ha_status_topic: str = setting("homeassistant/status", doc="Home Assistant birth topic")
    ha_birth_delay_s: float = setting(
        2.0, unit="s", ge=0, le=300, doc="wait after HA says online before re-announcing"
    )
    ha_birth_jitter_s: float = setting(
        3.0, unit="s", ge=0, le=300, doc="extra random delay, 0..this, after the wait"
    )
    discovery_settle_s: float = setting(
        1.0, unit="s", ge=0, le=30, doc="pause after a new wearable's discovery (HA subscribes)"
    )
    tls_ca_file: str = setting("", doc="CA bundle for mqtts://; empty: the system CAs")
    tls_cert_file: str = setting("", doc="client certificate (PEM) for mutual TLS")
    tls_key_file: str = setting("", doc="client private key (PEM) for mutual TLS")
    username: str = setting("", doc="broker user; empty: anonymous")
    password: str = setting("", doc="broker password (prefer password_env)")
    password_env: str = setting(
        "TWITCHWATCH_MQTT_PASSWORD", doc="environment variable holding the broker password"
    )
    outbox_path: str = setting(
        "", doc="SQLite alert outbox; empty: <user data dir>/twitchwatch/mqtt-outbox.sqlite3"
    )
    outbox_max_rows: int = setting(
        10000, ge=10, le=10_000_000, doc="outbox bound: drops oldest twitch, then rate, then spasm"
    )
    alert_ttl_s: float = setting(
        600.0, unit="s", gt=0, le=604800, doc="an alert older than this is dropped, not sent"
    )
    flush_timeout_s: float = setting(
        5.0, unit="s", ge=0, le=300, doc="on shutdown, wait this long for PUBACKs"
    )
    publish_twitches: bool = setting(True, doc="send single twitches (coalesced) as events")
    twitch_burst: int = setting(
        6, ge=0, le=10000, doc="twitch events per wearable per window before coalescing"
    )
    twitch_window_s: float = setting(60.0, unit="s", gt=0, le=3600, doc="twitch burst window")
    max_alerts_per_min: int = setting(
        30, ge=1, le=100000, doc="cap on twitch and rate alerts per wearable (spasms exempt)"
    )
    state_heartbeat_s: float = setting(
        60.0, unit="s", ge=1, le=3600, doc="republish each state snapshot at least this often"
    )
    state_min_interval_s: float = setting(
        1.0, unit="s", ge=0, le=60, doc="minimum spacing of rate-only state updates"
    )
    state_expire_after_s: int = setting(
        180, unit="s", ge=0, le=86400, doc="HA expire_after on state entities; 0: never"
    )
    replay_wearable: str = setting(
        "", doc="wearable id for replayed files; empty: <instance>_replay"
    )
    publish_raw: bool = setting(False, doc="raw samples to the broker (not supported: false)")

    def __post_init__(self) -> None:
        if self.url:
            parse_broker_url(self.url)
        for key in ("instance", "replay_wearable"):
            value = getattr(self, key)
            if (value or key == "instance") and not _SEGMENT.match(value):
                raise MqttValueError(f"{key} must match [A-Za-z0-9_-]{{1,64}}, got {value!r}")
        for key in ("base_topic", "discovery_prefix", "ha_status_topic"):
            value = getattr(self, key)
            if not _TOPIC_BASE.match(value) or value.startswith("/") or value.endswith("/"):
                raise MqttValueError(f"{key} must be a topic without wildcards, got {value!r}")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise MqttValueError("reconnect_max_s must be >= reconnect_min_s")
        if self.state_expire_after_s and self.state_heartbeat_s * 3 > self.state_expire_after_s:
            raise MqttValueError(
                "state_heartbeat_s must be at most a third of state_expire_after_s, or HA marks"
                " the state entities unavailable between heartbeats"
            )
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise MqttValueError("tls_cert_file and tls_key_file go together")
        if self.publish_raw:
            raise MqttValueError(
                "publish_raw = true is not supported: raw biosignals never go to the broker"
            )

    @property
    def broker(self) -> BrokerAddress:
        """The parsed ``url`` (raises MqttValueError when MQTT is off)."""
        return parse_broker_url(self.url)

    @property
    def outbox_broker(self) -> str:
        """Which broker outboxed alerts are for: ``<url>/<instance>``.

        E.g. ``mqtt://homeassistant.local:1883/home``: alerts wait for the broker they were
        queued for, and are never sent to another one.
        """
        return f"{self.broker}/{self.instance}"

    @property
    def effective_client_id(self) -> str:
        """The client id: configured, or derived from the instance (stable across restarts)."""
        return self.client_id or f"twitchwatch-{self.instance}"

    @property
    def effective_replay_wearable(self) -> str:
        """Wearable id used for events without one (replayed files)."""
        return self.replay_wearable or f"{self.instance}_replay"
