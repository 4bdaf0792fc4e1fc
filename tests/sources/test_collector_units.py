"""Pieces of the collector that need no radio: the drop-counting channel, backoff, errors."""

from __future__ import annotations

import asyncio

import pytest
from bleak.backends.scanner import BaseBleakScanner

from processor.config.ble import BleConfig
from processor.errors import InputError
from processor.model import RawNotification, StatusUpdate
from processor.sources.ble import BleBackends, BluetoothUnavailableError, scan
from processor.sources.channel import DropChannel
from processor.sources.collector import backoff_s


def _note(i: int) -> RawNotification:
    return RawNotification(i, "w", "emg", bytes([i]))


async def test_full_channel_drops_new_notifications_but_never_control_items():
    channel = DropChannel(capacity=2)
    for i in range(5):
        channel.offer(_note(i))
    status = StatusUpdate("w", connected=False)
    channel.put_control(status)
    assert channel.dropped == 3
    got = [await channel.get() for _ in range(3)]
    assert got == [_note(0), _note(1), status]
    channel.offer(_note(9))  # room again after the consumer caught up
    assert await channel.get() == _note(9)


async def test_get_waits_for_an_item():
    channel = DropChannel(capacity=4)
    waiter = asyncio.create_task(channel.get())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    channel.offer(_note(1))
    assert await asyncio.wait_for(waiter, 1.0) == _note(1)


def test_backoff_is_exponential_and_capped():
    cfg = BleConfig(reconnect_min_s=0.5, reconnect_max_s=4.0)
    assert [backoff_s(n, cfg) for n in range(6)] == [0.0, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert backoff_s(10_000, cfg) == 4.0


class _NoAdapterScanner(BaseBleakScanner):
    def __init__(self, *args, **kwargs):
        super().__init__(args[0], args[1])

    async def start(self):
        raise FileNotFoundError(2, "No such file or directory")  # what BlueZ-less Linux gives

    async def stop(self):
        pass


async def test_missing_adapter_is_a_usage_error_naming_the_fix():
    with pytest.raises(BluetoothUnavailableError, match="no usable Bluetooth adapter") as info:
        await scan(BleBackends(scanner=_NoAdapterScanner), 0.1)
    assert isinstance(info.value, InputError)
    assert "--emulate" in str(info.value)
