"""MQTT / Home Assistant settings (section ``[mqtt]``)."""

from __future__ import annotations

from dataclasses import dataclass

from processor.config.schema import setting


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """Placeholder until the MQTT issue lands: it replaces and extends these fields."""

    url: str = setting("", doc="mqtt://host:port or mqtts://host:port; empty: MQTT off")
