"""Pure byte library: device profiles and decoders for BLE wearables (no I/O, no BLE library).

``REGISTRY`` maps a profile key (``myo``, ``ganglion``, ``polar_h10``, ``polar_verity_sense``)
to its :class:`~devices.profile.DeviceProfile`. :func:`match_profile` recognises a scan result.
"""

from __future__ import annotations

from devices import ganglion, myo, polar_h10, polar_verity_sense
from devices.profile import (
    CharSpec,
    DecodeError,
    DerivedStream,
    DeviceProfile,
    Frame,
    GattWrite,
    Match,
    ServiceSpec,
    StreamSpec,
)
from devices.profile import match_profile as _match_any

REGISTRY: dict[str, DeviceProfile] = {
    p.key: p for p in (myo.PROFILE, ganglion.PROFILE, polar_h10.PROFILE, polar_verity_sense.PROFILE)
}


def match_profile(
    name: str | None,
    service_uuids: tuple[str, ...] | list[str] = (),
    manufacturer_ids: tuple[int, ...] | list[int] = (),
) -> DeviceProfile | None:
    """The registered profile that recognises a scan result (None: not a supported wearable).

    Args:
        name: advertised local name, or None.
        service_uuids: advertised service UUIDs (16-bit short forms are expanded).
        manufacturer_ids: company ids found in the manufacturer data.
    """
    return _match_any(tuple(REGISTRY.values()), name, service_uuids, manufacturer_ids)


def get_profile(key: str) -> DeviceProfile:
    """The profile called ``key``; KeyError naming the known keys otherwise."""
    try:
        return REGISTRY[key]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown device profile {key!r} (known: {known})") from None


__all__ = [
    "REGISTRY",
    "CharSpec",
    "DecodeError",
    "DerivedStream",
    "DeviceProfile",
    "Frame",
    "GattWrite",
    "Match",
    "ServiceSpec",
    "StreamSpec",
    "get_profile",
    "match_profile",
]
