"""BLE collector settings (section ``[ble]``)."""

from __future__ import annotations

from dataclasses import dataclass

from processor.config.schema import setting


@dataclass(frozen=True, slots=True)
class BleConfig:
    """How wearables are found, connected, watched and reconnected."""

    scan_timeout_s: float = setting(
        5.0, unit="s", gt=0, le=120, doc="how long one scan listens for the wearable"
    )
    connect_timeout_s: float = setting(
        10.0, unit="s", gt=0, le=120, doc="give up a connection attempt after"
    )
    reply_timeout_s: float = setting(
        3.0, unit="s", gt=0, le=60, doc="wait this long for a control-point reply (Polar PMD)"
    )
    watchdog_s: float = setting(
        3.0,
        unit="s",
        gt=0,
        le=600,
        doc="a wearable sending no data for this long is treated as lost and reconnected",
    )
    reconnect_min_s: float = setting(
        0.5, unit="s", gt=0, le=60, doc="wait after a failed attempt (doubles with each failure)"
    )
    reconnect_max_s: float = setting(
        20.0, unit="s", gt=0, le=600, doc="cap of the exponential reconnect backoff"
    )
    relink_pause_s: float = setting(
        0.2, unit="s", ge=0, le=60, doc="wait before reconnecting after a link loss"
    )
    rescan_pause_s: float = setting(
        0.2, unit="s", ge=0, le=60, doc="pause between scans while a wearable is out of range"
    )
    max_failures: int = setting(
        0,
        ge=0,
        le=1000,
        doc="give a wearable up after this many failed sessions in a row (0: never)",
    )
    queue_size: int = setting(
        4096,
        unit="notifications",
        ge=16,
        le=1000000,
        doc="per-wearable buffer; overflow drops and counts",
    )
    silence_ms: float = setting(
        250.0,
        unit="ms",
        gt=0,
        le=10000,
        doc="without a counter or device clock, a silence longer than this is a gap",
    )
    status_interval_s: float = setting(
        10.0, unit="s", gt=0, le=3600, doc="how often link counters are reported as status"
    )
    stop_timeout_s: float = setting(
        2.0, unit="s", gt=0, le=60, doc="time allowed for the stop writes on a clean shutdown"
    )
