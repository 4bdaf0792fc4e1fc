"""The MQTT topic tree (pure): every topic twitchwatch publishes or subscribes to is built here.

```
<base>/bridge/<instance>/status        online/offline, retained (LWT)
<base>/bridge/<instance>/test          `twitchwatch mqtt test` round trip, not retained
<base>/<wid>/event                     one JSON object per alert, QoS 1, never retained
<base>/<wid>/state                     JSON state snapshot, retained
<base>/<wid>/availability              online/offline, retained
<prefix>/<component>/<wid>/<key>/config  Home Assistant discovery, retained
```

``<wid>`` is an opaque wearable id, never a BLE address (see :func:`opaque_wearable_id`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Addresses (MAC "AA:BB:..", or a 12-hex-digit run) identify a person's device: never in topics.
_MAC_LIKE = re.compile(r"^(?:[0-9A-Fa-f]{2}[:_-]?){5}[0-9A-Fa-f]{2}$")
_RESERVED = frozenset({"bridge"})


def opaque_wearable_id(raw: str, fallback: str) -> str:
    """A stable, topic-safe wearable id that never exposes a BLE address.

    Args:
        raw: the wearable id the source gave ("" for a replayed file).
        fallback: id to use when ``raw`` is empty (already topic-safe).

    Returns:
        ``raw`` when it is a plain topic segment and not address-like, else ``tw_`` followed by
        8 hex digits of a hash of ``raw`` (the same input always maps to the same id).
    """
    if not raw:
        return fallback
    if _SEGMENT.match(raw) and not _MAC_LIKE.match(raw) and raw not in _RESERVED:
        return raw
    digest = hashlib.blake2b(raw.encode("utf-8"), digest_size=4).hexdigest()
    return f"tw_{digest}"


@dataclass(frozen=True, slots=True)
class TopicTree:
    """Topic names under a base topic and a Home Assistant discovery prefix."""

    base: str = "twitchwatch"
    instance: str = "home"
    discovery_prefix: str = "homeassistant"

    @property
    def bridge_status(self) -> str:
        """This processor's availability (LWT)."""
        return f"{self.base}/bridge/{self.instance}/status"

    @property
    def bridge_test(self) -> str:
        """Round-trip topic of ``twitchwatch mqtt test``."""
        return f"{self.base}/bridge/{self.instance}/test"

    def event(self, wid: str) -> str:
        """Alerts of one wearable."""
        return f"{self.base}/{wid}/event"

    def state(self, wid: str) -> str:
        """Retained state snapshot of one wearable."""
        return f"{self.base}/{wid}/state"

    def availability(self, wid: str) -> str:
        """Retained online/offline of one wearable (BLE link, not MQTT)."""
        return f"{self.base}/{wid}/availability"

    def discovery(self, component: str, node: str, key: str) -> str:
        """Home Assistant discovery config topic."""
        return f"{self.discovery_prefix}/{component}/{node}/{key}/config"

    @property
    def bridge_node(self) -> str:
        """Discovery node id of the bridge device."""
        return f"twitchwatch_bridge_{self.instance}"
