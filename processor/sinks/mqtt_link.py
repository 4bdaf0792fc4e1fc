"""What the MQTT bridge needs from an MQTT client (implemented with paho in ``mqtt.py``).

Notes are what the client's callbacks report. They are plain values put on an asyncio queue from
the client's network thread (``loop.call_soon_threadsafe``), so a callback never blocks and never
touches the bridge's state.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol, TypeAlias


@dataclass(frozen=True, slots=True)
class Connected:
    """A CONNACK arrived (``ok``) or the connection attempt failed."""

    ok: bool
    reason: str
    session_present: bool = False


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection dropped (the client reconnects on its own)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Acked:
    """A PUBACK (QoS 1) / PUBCOMP (QoS 2) for message ``mid``, with its v5 reason code."""

    mid: int
    reason_value: int
    reason: str
    failure: bool


@dataclass(frozen=True, slots=True)
class Subscribed:
    """A SUBACK: the reason of each requested topic."""

    mid: int
    reasons: tuple[str, ...]
    failure: bool


@dataclass(frozen=True, slots=True)
class Received:
    """A message from a subscription (Home Assistant's birth, the self-test echo)."""

    topic: str
    payload: bytes
    retained: bool


Note: TypeAlias = Connected | Disconnected | Acked | Subscribed | Received

# v5 PUBACK "No matching subscribers": accepted, but nobody (e.g. HA) was listening.
NO_MATCHING_SUBSCRIBERS = 16


class Link(Protocol):
    """An MQTT client that reconnects on its own and reports through ``notes``."""

    notes: asyncio.Queue[Note]

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Begin connecting in the background (returns at once; the broker may be down)."""
        ...

    def publish(
        self, topic: str, payload: str, *, qos: int, retain: bool, expiry_s: int | None = None
    ) -> int | None:
        """Hand a message to the client; its message id, or None if the client refused it."""
        ...

    def subscribe(self, topic: str, qos: int) -> int | None:
        """Subscribe; the SUBACK arrives as a :class:`Subscribed` note."""
        ...

    def is_connected(self) -> bool:
        """Whether the client currently holds a connection."""
        ...

    def stop(self) -> None:
        """Disconnect cleanly and stop the network thread (blocking: call from a thread)."""
        ...
