"""Bringing a connected wearable up: GATT check, subscriptions, init writes, initial reads.

The order is the profile's (see :mod:`devices.profile`): control points first (Polar answers
its PMD commands on them), then every stream characteristic, then the init writes in order,
each waiting for its reply where the profile says one comes, then one read of the streams that
are read once (battery). It runs again after every reconnect: every supported band forgets its
stream mode when the link drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable

from devices.profile import DeviceProfile, GattWrite
from processor.errors import DeviceError
from processor.sources.ble import BleLink

OnNotify = Callable[[str, bytearray], None]


class GiveUpError(DeviceError):
    """A wearable that can never work as configured (its GATT table lacks what we need)."""


def check_gatt(link: BleLink, profile: DeviceProfile, address: str) -> None:
    """Refuse a wearable whose GATT table lacks a characteristic the profile needs.

    Raises:
        GiveUpError: naming the missing characteristic(s).
    """
    needed = {c.uuid for s in profile.gatt for c in s.characteristics if c.required}
    needed |= set(profile.notify_uuids()) | {w.char_uuid for w in profile.init_writes}
    missing = sorted(needed - link.char_uuids())
    if missing:
        raise GiveUpError(
            f"{profile.key} at {address}: characteristic {', '.join(missing)} "
            "missing from the GATT table (wrong device or firmware?)"
        )


class _Replies:
    """Notifications on control points, waited for by the init writes that expect them."""

    def __init__(self) -> None:
        self._seen: list[bytes] = []
        self._event = asyncio.Event()

    def on_value(self, data: bytearray) -> None:
        self._seen.append(bytes(data))
        self._event.set()

    def clear(self) -> None:
        self._seen.clear()

    async def wait(self, profile: DeviceProfile, write: GattWrite, timeout_s: float) -> None:
        """Return when ``write`` is acknowledged.

        Raises:
            DeviceError: the reply reports failure, or none came within ``timeout_s``.
        """
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    for reply in self._seen:
                        ok = write.reply_ok(reply)
                        if ok is True:
                            return
                        if ok is False:
                            raise DeviceError(
                                f"{profile.key} rejected init write {write.data.hex()}: "
                                f"reply {reply.hex()}"
                            )
                    self._event.clear()
                    await self._event.wait()
        except TimeoutError:
            raise DeviceError(
                f"{profile.key} did not answer the init handshake (no reply to "
                f"{write.data.hex()} within {timeout_s:g} s)"
            ) from None


async def bring_up(
    link: BleLink, profile: DeviceProfile, reply_timeout_s: float, on_notify: OnNotify
) -> None:
    """Subscribe and send the init writes; notifications go to ``on_notify(uuid, data)``.

    Raises:
        DeviceError: a GATT operation failed, or the handshake was refused or not answered.
    """
    replies = _Replies()
    for uuid in profile.pre_subscribe:
        await link.subscribe(uuid, replies.on_value)
    for uuid in profile.notify_uuids():
        await link.subscribe(uuid, functools.partial(on_notify, uuid))
    for write in profile.init_writes:
        replies.clear()
        await link.write(write.char_uuid, write.data, response=write.response)
        if write.reply_prefix:
            await replies.wait(profile, write, reply_timeout_s)
    for spec in profile.streams:
        if spec.read_initial:
            with contextlib.suppress(DeviceError):  # a battery read is nice to have
                on_notify(spec.char_uuids[0], bytearray(await link.read(spec.char_uuids[0])))
