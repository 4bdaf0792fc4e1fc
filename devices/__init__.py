"""Pure byte library: device profiles and decoders for BLE wearables (no I/O, no BLE library).

``REGISTRY`` maps a profile key (``myo``, ``ganglion``, ``polar_h10``, ``polar_verity_sense``)
to its :class:`~devices.profile.DeviceProfile`.
"""

from __future__ import annotations

from devices.profile import DecodeError, DeviceProfile, Frame, GattWrite, Match, StreamSpec

REGISTRY: dict[str, DeviceProfile] = {}

__all__ = ["REGISTRY", "DecodeError", "DeviceProfile", "Frame", "GattWrite", "Match", "StreamSpec"]
