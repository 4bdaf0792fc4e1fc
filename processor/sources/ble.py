"""The bleak boundary: scanning, one connection, and bleak backends over an in-process radio.

This is the only module that imports bleak. Everything it raises is a project error:
:class:`~processor.errors.DeviceError` for a wearable that misbehaves or a link that drops, and
:class:`BluetoothUnavailableError` when the machine has no usable Bluetooth adapter. The
collector (:mod:`processor.sources.collector`) drives it and never sees a bleak type.

Backends are injected (:class:`BleBackends`, passed to bleak's public ``backend=`` argument);
the default is bleak's platform backend (BlueZ on Linux). :func:`port_backends` wraps any
:class:`~processor.sources.emulated.port.CentralPort` (the Bumble "air" of the emulator) into a
``BaseBleakScanner`` / ``BaseBleakClient`` pair, so the unmodified collector can be driven
against emulated wearables on a real GATT stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from bleak import BleakClient, BleakScanner
from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError

from processor.errors import DeviceError, InputError
from processor.sources.emulated.port import Advert, AttError, CentralPort, PortError, PortLink

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")


class BluetoothUnavailableError(DeviceError, InputError):
    """No usable Bluetooth adapter (no BlueZ/D-Bus, adapter off): a usage problem, exit 2."""


@dataclass(frozen=True, slots=True)
class BleBackends:
    """Which bleak backends to use; ``None`` means bleak's platform default.

    Attributes:
        scanner: ``BaseBleakScanner`` subclass passed as ``backend=`` to ``BleakScanner``.
        client: ``BaseBleakClient`` subclass passed as ``backend=`` to ``BleakClient``.
        extra: keyword arguments bleak forwards to both backend constructors.
        label: shown in logs (``platform``, ``emulated``).
    """

    scanner: type[BaseBleakScanner] | None = None
    client: type[BaseBleakClient] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    label: str = "platform"


@dataclass(frozen=True, slots=True)
class Sighting:
    """One advertiser seen during a scan."""

    address: str
    name: str | None
    rssi: int
    service_uuids: tuple[str, ...]
    manufacturer_ids: tuple[int, ...]
    handle: object  # bleak's BLEDevice: what a connect needs


def _unavailable(exc: BaseException) -> BluetoothUnavailableError:
    return BluetoothUnavailableError(
        f"no usable Bluetooth adapter ({type(exc).__name__}: {exc}); "
        "check that BlueZ is running and the adapter is powered, or try --emulate PROFILE"
    )


async def scan(
    backends: BleBackends,
    timeout_s: float,
    *,
    stop_when: Callable[[Sighting], bool] | None = None,
) -> list[Sighting]:
    """Listen for advertisements for ``timeout_s`` (or until ``stop_when`` says enough).

    Returns:
        The latest sighting of every address, in order of first appearance.

    Raises:
        BluetoothUnavailableError: no adapter.
        DeviceError: the scan failed.
    """
    seen: dict[str, Sighting] = {}
    done = asyncio.Event()

    def on_advert(device: BLEDevice, adv: AdvertisementData) -> None:
        sighting = Sighting(
            address=device.address.upper(),
            name=adv.local_name or device.name,
            rssi=adv.rssi,
            service_uuids=tuple(u.lower() for u in adv.service_uuids),
            manufacturer_ids=tuple(adv.manufacturer_data),
            handle=device,
        )
        seen[sighting.address] = sighting
        if stop_when is not None and stop_when(sighting):
            done.set()

    try:
        scanner = BleakScanner(on_advert, backend=backends.scanner, **backends.extra)
        async with scanner:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await done.wait()
    except (OSError, BleakError) as exc:
        if isinstance(exc, OSError) or "adapter" in str(exc).lower():
            raise _unavailable(exc) from None
        raise DeviceError(f"scan failed: {exc}") from None
    return list(seen.values())


class BleLink:
    """One connected wearable; every operation raises only :class:`DeviceError`."""

    def __init__(self, client: BleakClient, name: str) -> None:
        self._client = client
        self.name = name

    @classmethod
    async def open(
        cls,
        sighting: Sighting,
        backends: BleBackends,
        *,
        timeout_s: float,
        pair: bool,
        on_disconnect: Callable[[], None],
    ) -> BleLink:
        """Connect to a sighted wearable (services are discovered by the backend)."""
        device = sighting.handle if isinstance(sighting.handle, BLEDevice) else sighting.address
        try:
            client = BleakClient(
                device,
                disconnected_callback=lambda _client: on_disconnect(),
                timeout=timeout_s,
                pair=pair,
                backend=backends.client,
                **backends.extra,
            )
            await client.connect()
        except TimeoutError:
            raise DeviceError(
                f"{sighting.address}: no answer to connect within {timeout_s:g} s"
            ) from None
        except OSError as exc:
            raise _unavailable(exc) from None
        except BleakError as exc:
            raise DeviceError(f"{sighting.address}: connect failed: {exc}") from None
        return cls(client, sighting.name or sighting.address)

    @property
    def mtu(self) -> int:
        """Negotiated ATT MTU in bytes (BlueZ may report 23 whatever was negotiated)."""
        return int(self._client.mtu_size)

    @property
    def is_connected(self) -> bool:
        """Whether the link is up."""
        return bool(self._client.is_connected)

    def char_uuids(self) -> set[str]:
        """UUIDs of every characteristic in the discovered GATT table."""
        return {c.uuid.lower() for s in self._client.services for c in s.characteristics}

    async def read(self, uuid: str) -> bytes:
        """Read a characteristic."""
        try:
            return bytes(await self._client.read_gatt_char(uuid))
        except (BleakError, TimeoutError) as exc:
            raise DeviceError(f"{self.name}: read {uuid} failed: {exc}") from None

    async def write(self, uuid: str, data: bytes, *, response: bool) -> None:
        """Write a characteristic (with or without response)."""
        try:
            await self._client.write_gatt_char(uuid, data, response=response)
        except (BleakError, TimeoutError) as exc:
            raise DeviceError(f"{self.name}: write {data.hex()} to {uuid} failed: {exc}") from None

    async def subscribe(self, uuid: str, on_value: Callable[[bytearray], None]) -> None:
        """Enable notifications; ``on_value`` runs in the event loop for each one."""
        try:
            await self._client.start_notify(uuid, lambda _char, data: on_value(data))
        except (BleakError, TimeoutError) as exc:
            raise DeviceError(f"{self.name}: subscribe to {uuid} failed: {exc}") from None

    async def close(self) -> None:
        """Disconnect (never raises)."""
        with contextlib.suppress(BleakError, TimeoutError, OSError):
            await self._client.disconnect()


# bleak backends over a CentralPort --------------------------------------------------------------


class PortScanner(BaseBleakScanner):
    """A bleak scanner backend over a :class:`CentralPort` (``port=`` keyword argument)."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        port: CentralPort,
        **_kwargs: object,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._port = port
        self._scanning_mode = scanning_mode
        self._remove: Callable[[], None] | None = None

    async def start(self) -> None:
        """Start scanning; ``seen_devices`` starts empty."""
        self.seen_devices = {}
        self._remove = self._port.add_scan_listener(self._on_advert)
        await self._port.start_scan()

    async def stop(self) -> None:
        """Stop scanning."""
        if self._remove is not None:
            self._remove()
            self._remove = None
            await self._port.stop_scan()

    def _on_advert(self, advert: Advert) -> None:
        if not self.is_allowed_uuid(list(advert.service_uuids)):
            return
        adv = AdvertisementData(
            local_name=advert.name,
            manufacturer_data=dict(advert.manufacturer_data),
            service_data={},
            service_uuids=list(advert.service_uuids),
            tx_power=advert.tx_power,
            rssi=advert.rssi,
            platform_data=(advert,),
        )
        device = self.create_or_update_device(
            advert.address, advert.address, advert.name, advert, adv
        )
        self.call_detection_callbacks(device, adv)


class PortClient(BaseBleakClient):
    """A bleak client backend over a :class:`CentralPort` (BlueZ-like disconnect semantics)."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        port: CentralPort,
        services: set[str] | None = None,
        **_kwargs: object,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._port = port
        self._link: PortLink | None = None
        self._wanted = services
        self.last_disconnect_reason: int | None = None

    @property
    def mtu_size(self) -> int:
        """Negotiated ATT MTU."""
        return self._link.mtu if self._link is not None else 23

    @property
    def is_connected(self) -> bool:
        """Whether the link is up."""
        return self._link is not None and self._link.is_connected

    async def connect(self, pair: bool, **_kwargs: object) -> None:
        """Connect, exchange the MTU and discover services (``pair`` is accepted and ignored)."""
        if self.is_connected:
            raise BleakError(f"{self.address}: already connected")
        del pair  # emulated wearables accept unencrypted links
        try:
            link = await self._port.connect(
                self.address, timeout_s=self._timeout, on_disconnect=self._on_disconnect
            )
        except PortError as exc:
            raise BleakError(str(exc)) from None
        self._link = link
        self.services = self._collection(link)

    def _collection(self, link: PortLink) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        for svc in link.services:
            if self._wanted is not None and svc.uuid not in self._wanted:
                continue
            service = BleakGATTService(svc, svc.handle, svc.uuid)
            collection.add_service(service)
            for ch in svc.characteristics:
                props: list[Any] = list(ch.properties)  # bleak's Literal property names
                char = BleakGATTCharacteristic(
                    ch, ch.handle, ch.uuid, props, lambda: self.mtu_size - 3, service
                )
                collection.add_characteristic(char)
                for d in ch.descriptors:
                    collection.add_descriptor(BleakGATTDescriptor(d, d.handle, d.uuid, char))
        return collection

    def _on_disconnect(self, reason: int) -> None:
        self.last_disconnect_reason = reason
        self.services = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        """Disconnect; the disconnected callback fires as with BlueZ."""
        if self._link is not None:
            await self._link.disconnect()

    async def pair(self, *_args: object, **_kwargs: object) -> None:
        """Emulated wearables need no bonding."""

    async def unpair(self) -> None:
        """Emulated wearables keep no bonds."""

    def _require(self) -> PortLink:
        if self._link is None or not self._link.is_connected:
            raise BleakError(f"{self.address}: Not connected")
        return self._link

    async def _run(self, op: Callable[[PortLink], Awaitable[_T]]) -> _T:
        link = self._require()
        try:
            return await op(link)
        except AttError as exc:
            raise BleakGATTProtocolError(exc.code) from None
        except PortError as exc:
            raise BleakError(f"{self.address}: Not connected ({exc})") from None

    async def read_gatt_char(
        self,
        characteristic: BleakGATTCharacteristic,
        *,
        use_cached: bool = False,
        **_kwargs: object,
    ) -> bytearray:
        """Read a characteristic value."""
        del use_cached
        return bytearray(await self._run(lambda link: link.read(characteristic.handle)))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **_kwargs: object
    ) -> bytearray:
        """Read a descriptor value."""
        del use_cached
        return bytearray(await self._run(lambda link: link.read(descriptor.handle)))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        """Write a characteristic value."""
        payload = bytes(data)
        await self._run(lambda link: link.write(characteristic.handle, payload, response=response))

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        """Write a descriptor value."""
        payload = bytes(data)
        await self._run(lambda link: link.write(descriptor.handle, payload, response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **_kwargs: object
    ) -> None:
        """Enable notifications on a characteristic."""
        await self._run(
            lambda link: link.subscribe(characteristic.handle, lambda v: callback(bytearray(v)))
        )

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Disable notifications on a characteristic."""
        await self._run(lambda link: link.unsubscribe(characteristic.handle))


def port_backends(port: CentralPort, label: str = "emulated") -> BleBackends:
    """Bleak backends that drive ``port`` (passed to bleak through ``backend=`` and ``port=``)."""
    return BleBackends(scanner=PortScanner, client=PortClient, extra={"port": port}, label=label)
