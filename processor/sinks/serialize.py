"""The one serializer shared by every sink, so the event log, history and MQTT never disagree."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from processor.model import Event, EventType, JsonValue

SCHEMA_VERSION = 1
REQUIRED_KEYS = ("event_id", "type", "channel", "start_s", "end_s", "detected_at_s")
_TIME_DECIMALS = 6


def _clean(value: JsonValue) -> JsonValue:
    """Round floats for stable output and turn non-finite numbers into null (JSON has no NaN)."""
    if isinstance(value, float):
        return round(value, _TIME_DECIMALS) if math.isfinite(value) else None
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def event_to_dict(event: Event) -> dict[str, JsonValue]:
    """Event -> JSON-ready dict: the required keys first, then ``schema_version``, then extras."""
    out: dict[str, JsonValue] = {
        "event_id": event.event_id,
        "type": str(event.type),
        "channel": event.channel,
        "start_s": _clean(float(event.start_s)),
        "end_s": None if event.end_s is None else _clean(float(event.end_s)),
        "detected_at_s": _clean(float(event.detected_at_s)),
        "schema_version": SCHEMA_VERSION,
    }
    if event.wearable:
        out["wearable"] = event.wearable
    for key, value in event.extras.items():
        if key not in out:
            out[key] = _clean(value)
    return out


def event_to_json(event: Event) -> str:
    """Event -> one compact JSON line (no trailing newline)."""
    return json.dumps(event_to_dict(event), separators=(",", ":"), allow_nan=False)


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Inverse of :func:`event_to_dict` (used by history queries and tests).

    Raises:
        ValueError: a required key is missing or has the wrong type.
    """
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ValueError(f"event is missing required keys: {', '.join(missing)}")
    extras = {
        k: v
        for k, v in data.items()
        if k not in REQUIRED_KEYS and k not in {"schema_version", "wearable"}
    }
    end_s = data["end_s"]
    return Event(
        event_id=str(data["event_id"]),
        type=EventType(str(data["type"])),
        channel=str(data["channel"]),
        start_s=float(data["start_s"]),
        end_s=None if end_s is None else float(end_s),
        detected_at_s=float(data["detected_at_s"]),
        wearable=str(data.get("wearable", "")),
        extras=extras,
    )
