"""An in-memory "air" of Bumble virtual controllers and the central port that bleak drives.

One :class:`VirtualAir` owns a Bumble ``LocalLink``; every emulated wearable and the shared
central each get their own virtual controller and host on it, so every packet goes through
Bumble's real HCI, L2CAP, ATT and GATT code without leaving the process. The air implements
:class:`~processor.sources.emulated.port.CentralPort`, which ``processor.sources.ble`` turns
into bleak backends.

Workarounds for Bumble 0.0.236 (see docs/ble.md, "Emulator"):

* LE Create Connection Cancel is a no-op in the virtual controller, so a connect to an absent
  device hangs; :class:`_CancellableController` clears the pending connection and reports
  Connection Complete with status 0x02, as real controllers do.
* Only one pending connection per controller: connects are serialised with a lock, as BlueZ
  queues them.
* No automatic MTU exchange: the central requests 247 bytes after connecting, as BlueZ does.
* A link drop while an ATT request is in flight cancels Bumble's response future; it is turned
  into :class:`LinkLostError` unless the calling task itself is being cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from bumble import hci
from bumble.att import ATT_Error
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData, BaseBumbleError
from bumble.core import TimeoutError as BumbleTimeoutError
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic
from bumble.gatt_client import AttributeProxy, CharacteristicProxy
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from processor.sources.emulated.port import (
    Advert,
    AttError,
    LinkLostError,
    PortCharacteristic,
    PortDescriptor,
    PortError,
    PortService,
)

_LOGGER = logging.getLogger(__name__)
_CENTRAL_ADDRESS = "C0:00:00:00:00:01"
REQUESTED_MTU = 247
_T = TypeVar("_T")

_PROPERTY_NAMES = {
    Characteristic.Properties.BROADCAST: "broadcast",
    Characteristic.Properties.READ: "read",
    Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    Characteristic.Properties.WRITE: "write",
    Characteristic.Properties.NOTIFY: "notify",
    Characteristic.Properties.INDICATE: "indicate",
}


def uuid_str(uuid: UUID) -> str:
    """A Bumble UUID as bleak spells it: lowercase 128-bit with dashes."""
    h = uuid.to_bytes(force_128=True)[::-1].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class _CancellableController(Controller):
    """A virtual controller whose connection cancel really cancels (Bumble's is a no-op)."""

    def on_hci_le_create_connection_cancel_command(
        self, _command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is not None:
            self.pending_le_connection = None
            asyncio.get_running_loop().call_soon(self._report_cancelled, pending.peer_address)
        return hci.HCI_StatusReturnParameters(status=hci.HCI_ErrorCode.SUCCESS)

    def _report_cancelled(self, peer_address: hci.Address) -> None:
        self.send_hci_packet(
            hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=peer_address.address_type,
                peer_address=peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            )
        )


def _advert(adv: Advertisement, rssi: int | None) -> Advert:
    data = adv.data
    name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
        AdvertisingData.SHORTENED_LOCAL_NAME
    )
    uuids: list[str] = []
    for kind in (
        AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    ):
        uuids.extend(uuid_str(u) for u in data.get(kind) or ())
    manufacturer: dict[int, bytes] = {}
    mfr = data.get(AdvertisingData.MANUFACTURER_SPECIFIC_DATA)
    if mfr is not None:
        company, payload = mfr
        manufacturer[int(company)] = bytes(payload)
    tx = adv.tx_power if adv.tx_power != Advertisement.TX_POWER_NOT_AVAILABLE else None
    return Advert(
        address=adv.address.to_string(False),
        name=str(name) if name is not None else None,
        service_uuids=tuple(uuids),
        manufacturer_data=manufacturer,
        rssi=adv.rssi if rssi is None else rssi,
        tx_power=tx,
        raw=bytes(adv.data_bytes),
    )


class BumbleLink:
    """A connection from the shared central to one peripheral (implements ``PortLink``)."""

    def __init__(self, connection: Connection, peer: Peer, address: str) -> None:
        self.address = address
        self._connection = connection
        self._peer = peer
        self._services: tuple[PortService, ...] = ()
        self._proxies: dict[int, AttributeProxy[Any]] = {}
        self._up = True
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    @property
    def mtu(self) -> int:
        """Negotiated ATT MTU in bytes."""
        return int(self._connection.att_mtu)

    @property
    def is_connected(self) -> bool:
        """Whether the link is still up."""
        return self._up

    @property
    def services(self) -> tuple[PortService, ...]:
        """The GATT table found by :meth:`discover`."""
        return self._services

    def mark_down(self) -> None:
        """Called when the controller reports the disconnection."""
        self._up = False

    async def discover(self) -> None:
        """Walk services, characteristics and descriptors into plain data."""
        await self._guard(self._peer.discover_all())  # type: ignore[no-untyped-call]
        services = []
        for svc in self._peer.services:
            chars = []
            for char in svc.characteristics:
                self._proxies[char.handle] = char
                descs = []
                for desc in char.descriptors:
                    self._proxies[desc.handle] = desc
                    descs.append(PortDescriptor(desc.handle, uuid_str(desc.type)))
                props = tuple(n for p, n in _PROPERTY_NAMES.items() if char.properties & p)
                chars.append(
                    PortCharacteristic(char.handle, uuid_str(char.uuid), props, tuple(descs))
                )
            services.append(PortService(svc.handle, uuid_str(svc.uuid), tuple(chars)))
        self._services = tuple(services)

    async def exchange_mtu(self, mtu: int) -> int:
        """Request a larger ATT MTU (Bumble never starts the exchange by itself)."""
        return int(await self._guard(self._peer.request_mtu(mtu)))

    async def read(self, handle: int) -> bytes:
        """Read a characteristic or descriptor value."""
        return bytes(await self._guard(self._peer.read_value(self._proxy(handle))))

    async def write(self, handle: int, data: bytes, *, response: bool) -> None:
        """Write a characteristic or descriptor value."""
        await self._guard(self._peer.write_value(self._proxy(handle), data, with_response=response))

    async def subscribe(self, handle: int, on_value: Callable[[bytes], None]) -> None:
        """Enable notifications through the CCCD."""
        proxy = self._char(handle)
        self._subscribers[handle] = on_value
        await self._guard(self._peer.subscribe(proxy, on_value))

    async def unsubscribe(self, handle: int) -> None:
        """Disable notifications through the CCCD."""
        on_value = self._subscribers.pop(handle, None)
        await self._guard(self._peer.unsubscribe(self._char(handle), on_value))

    async def disconnect(self) -> None:
        """Close the link from the central side (a no-op when it is already down)."""
        if not self._up:
            return
        with contextlib.suppress(hci.HCI_Error, asyncio.CancelledError):
            await self._connection.disconnect(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR)
        self._up = False

    def _char(self, handle: int) -> CharacteristicProxy[Any]:
        proxy = self._proxy(handle)
        if not isinstance(proxy, CharacteristicProxy):
            raise AttError(0x01, f"(0x{handle:04x} is not a characteristic)")
        return proxy

    def _proxy(self, handle: int) -> AttributeProxy[Any]:
        if not self._up:
            raise LinkLostError(f"{self.address}: not connected")
        try:
            return self._proxies[handle]
        except KeyError:
            raise AttError(0x01, f"(invalid handle 0x{handle:04x})") from None

    async def _guard(self, op: Awaitable[_T]) -> _T:
        if not self._up:
            raise LinkLostError(f"{self.address}: not connected")
        task = asyncio.current_task()
        try:
            return await op
        except ATT_Error as exc:
            raise AttError(int(exc.error_code)) from None
        except asyncio.CancelledError:
            # Bumble cancels in-flight ATT futures when the link drops.
            if task is not None and task.cancelling():
                raise
            raise LinkLostError(f"{self.address}: link lost during a GATT operation") from None
        except hci.HCI_Error as exc:
            raise LinkLostError(f"{self.address}: {exc}") from None


class VirtualAir:
    """One in-memory radio: the shared central plus any number of emulated peripherals.

    Create it inside a running event loop (Bumble's controllers need one) and ``await
    start()`` before use. ``rssi_overrides`` (address -> dBm) replaces Bumble's fixed -50 dBm.
    """

    def __init__(self) -> None:
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self.rssi_overrides: dict[str, int] = {}
        self._central_ctrl = _CancellableController(
            "central", link=self.link, public_address=_CENTRAL_ADDRESS
        )
        self.central = Device(
            name="twitchwatch",
            address=hci.Address(_CENTRAL_ADDRESS),
            host=Host(self._central_ctrl, AsyncPipeSink(self._central_ctrl)),
        )
        self._listeners: dict[object, Callable[[Advert], None]] = {}
        self._scan_refs = 0
        self._connect_lock = asyncio.Lock()
        self._started = False
        self.central.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)

    async def start(self) -> None:
        """Power the central on (idempotent)."""
        if not self._started:
            await self.central.power_on()
            self._started = True

    def new_device(self, name: str, address: str) -> Device:
        """A powered-off peripheral ``Device`` on its own controller on this air."""
        ctrl = _CancellableController(name, link=self.link, public_address=address)
        return Device(name=name, address=hci.Address(address), host=Host(ctrl, AsyncPipeSink(ctrl)))

    # CentralPort ---------------------------------------------------------------------------

    def add_scan_listener(self, on_advert: Callable[[Advert], None]) -> Callable[[], None]:
        """Register an advertisement listener; returns its remover."""
        token = object()
        self._listeners[token] = on_advert
        return lambda: self._listeners.pop(token, None) and None

    async def start_scan(self) -> None:
        """Start scanning (several scanners share the one central)."""
        await self.start()
        self._scan_refs += 1
        if self._scan_refs == 1:
            await self.central.start_scanning(filter_duplicates=False)

    async def stop_scan(self) -> None:
        """Stop scanning when the last scanner stops."""
        self._scan_refs = max(0, self._scan_refs - 1)
        if self._scan_refs == 0 and self.central.is_scanning:
            await self.central.stop_scanning()

    async def connect(
        self, address: str, *, timeout_s: float, on_disconnect: Callable[[int], None]
    ) -> BumbleLink:
        """Connect, request MTU 247 and discover the GATT table."""
        await self.start()
        target = hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS)
        async with self._connect_lock:
            try:
                connection = await self.central.connect(target, timeout=timeout_s)
            except (TimeoutError, BumbleTimeoutError):
                raise TimeoutError(f"{address}: no answer within {timeout_s:g} s") from None
            except (hci.HCI_Error, BaseBumbleError) as exc:
                raise PortError(f"{address}: connect failed: {exc}") from None
            except asyncio.CancelledError:
                # A cancelled caller must not leave a pending connection that completes later.
                self._central_ctrl.pending_le_connection = None
                raise
        link = BumbleLink(connection, Peer(connection), address)

        def on_disconnection(reason: int) -> None:
            link.mark_down()
            on_disconnect(int(reason))

        connection.on(Connection.EVENT_DISCONNECTION, on_disconnection)
        try:
            await link.exchange_mtu(REQUESTED_MTU)
            await link.discover()
        except BaseException:
            asyncio.get_running_loop().create_task(link.disconnect())
            raise
        return link

    def _on_advertisement(self, adv: Advertisement) -> None:
        advert = _advert(adv, self.rssi_overrides.get(adv.address.to_string(False)))
        for listener in list(self._listeners.values()):
            listener(advert)

    def listeners(self) -> Iterator[Callable[[Advert], None]]:
        """The registered advertisement listeners (for diagnostics)."""
        return iter(self._listeners.values())
