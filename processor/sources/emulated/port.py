"""The central side of an in-process radio, as plain data: what a bleak backend adapter needs.

``processor.sources.ble`` wraps a :class:`CentralPort` into bleak backends (its
``port_backends``); ``processor.sources.emulated.air`` implements it on Bumble. Neither bleak nor
Bumble is imported here, so both sides can share these types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class PortError(Exception):
    """Root of the errors a central port raises (mapped to bleak errors by the adapter)."""


class LinkLostError(PortError):
    """The link dropped (or was never up) while an operation was in flight."""


class PeerNotFoundError(PortError):
    """No advertiser with this address answered a scan."""


class AttError(PortError):
    """The peer answered an ATT request with an error code (Core spec Vol 3 Part F 3.4.1.1)."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(f"ATT error 0x{code:02x} {detail}".strip())
        self.code = code


@dataclass(frozen=True, slots=True)
class Advert:
    """One advertising report.

    Attributes:
        address: peer address, ``AA:BB:CC:DD:EE:FF`` upper case.
        name: local name, or None when the advertisement carries none.
        service_uuids: advertised service UUIDs, lowercase 128-bit strings.
        manufacturer_data: company id -> payload.
        rssi: received signal strength in dBm.
        tx_power: advertised TX power in dBm, or None.
        raw: the advertising data bytes.
    """

    address: str
    name: str | None
    service_uuids: tuple[str, ...] = ()
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    rssi: int = -50
    tx_power: int | None = None
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class PortDescriptor:
    """A GATT descriptor (handle and lowercase 128-bit UUID)."""

    handle: int
    uuid: str


@dataclass(frozen=True, slots=True)
class PortCharacteristic:
    """A GATT characteristic: value handle, UUID, bleak-style property names, descriptors."""

    handle: int
    uuid: str
    properties: tuple[str, ...]
    descriptors: tuple[PortDescriptor, ...] = ()


@dataclass(frozen=True, slots=True)
class PortService:
    """A primary service with its characteristics."""

    handle: int
    uuid: str
    characteristics: tuple[PortCharacteristic, ...] = ()


class PortLink(Protocol):
    """An established connection seen from the central."""

    address: str

    @property
    def mtu(self) -> int:
        """Negotiated ATT MTU in bytes."""
        ...

    @property
    def is_connected(self) -> bool:
        """Whether the link is still up."""
        ...

    @property
    def services(self) -> tuple[PortService, ...]:
        """The peer's GATT table, discovered after connecting."""
        ...

    async def read(self, handle: int) -> bytes:
        """Read a characteristic or descriptor value."""
        ...

    async def write(self, handle: int, data: bytes, *, response: bool) -> None:
        """Write a characteristic or descriptor value."""
        ...

    async def subscribe(self, handle: int, on_value: Callable[[bytes], None]) -> None:
        """Enable notifications (or indications) on a characteristic."""
        ...

    async def unsubscribe(self, handle: int) -> None:
        """Disable notifications on a characteristic."""
        ...

    async def disconnect(self) -> None:
        """Close the link from the central side."""
        ...


class CentralPort(Protocol):
    """The central ("hci0") of an in-process radio."""

    def add_scan_listener(self, on_advert: Callable[[Advert], None]) -> Callable[[], None]:
        """Register an advertisement listener; returns the function that removes it."""
        ...

    async def start_scan(self) -> None:
        """Start scanning (reference-counted: several scanners share one central)."""
        ...

    async def stop_scan(self) -> None:
        """Stop scanning when the last scanner stops."""
        ...

    async def connect(
        self, address: str, *, timeout_s: float, on_disconnect: Callable[[int], None]
    ) -> PortLink:
        """Connect, exchange the MTU and discover the GATT table.

        Raises:
            TimeoutError: nothing answered within ``timeout_s``.
            PortError: the controller refused.
        """
        ...
