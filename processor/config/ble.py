"""BLE collector settings (section ``[ble]``)."""

from __future__ import annotations

from dataclasses import dataclass

from processor.config.schema import setting


@dataclass(frozen=True, slots=True)
class BleConfig:
    """Placeholder until the BLE issue lands: it replaces and extends these fields."""

    scan_timeout_s: float = setting(5.0, unit="s", gt=0, le=120, doc="how long a scan listens")
