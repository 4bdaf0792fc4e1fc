"""Standard Battery Service (0x180F) / Battery Level (0x2A19): reused by every profile.

Battery Level is one uint8, percent, 0..100 (Bluetooth SIG GATT Specification Supplement,
"Battery Level"); readable and usually notifiable.
"""

from __future__ import annotations

import numpy as np

from devices._codec import expect_length, uuid16
from devices.profile import CharSpec, DecodeError, Frame, ServiceSpec, StreamSpec

BATTERY_SERVICE_UUID = uuid16(0x180F)
BATTERY_LEVEL_UUID = uuid16(0x2A19)
_MAX_PCT = 100


def decode_battery(payload: bytes) -> Frame:
    """One battery reading: shape (1, 1), percent.

    Raises:
        DecodeError: not exactly one byte, or above 100 %.
    """
    expect_length(payload, 1, "battery")
    level = payload[0]
    if level > _MAX_PCT:
        raise DecodeError(f"battery: level {level} % is above 100 %")
    return Frame(samples=np.array([[float(level)]]))


def encode_battery(level_pct: int) -> bytes:
    """The notification a device sends for ``level_pct`` (0..100)."""
    if not 0 <= level_pct <= _MAX_PCT:
        raise ValueError(f"battery level {level_pct} % outside 0..100")
    return bytes([level_pct])


def battery_stream() -> StreamSpec:
    """The ``battery`` stream: sporadic, read once after connecting, then notified."""
    return StreamSpec(
        name="battery",
        char_uuids=(BATTERY_LEVEL_UUID,),
        fs_hz=1.0 / 60.0,
        channels=("battery",),
        unit="pct",
        decode=decode_battery,
        regular=False,
        read_initial=True,
    )


def battery_service(level_pct: int = 87) -> ServiceSpec:
    """GATT description of the Battery Service (``level_pct`` is the emulator's read value)."""
    return ServiceSpec(
        uuid=BATTERY_SERVICE_UUID,
        characteristics=(
            CharSpec(
                BATTERY_LEVEL_UUID, ("read", "notify"), encode_battery(level_pct), required=False
            ),
        ),
    )
