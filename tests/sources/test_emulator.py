"""The emulated wearables and the Bumble workarounds they rely on (canaries for upgrades)."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from bleak import BleakClient
from bleak.exc import BleakGATTProtocolError

from devices import REGISTRY
from devices.battery import BATTERY_LEVEL_UUID
from processor.errors import DeviceError
from processor.sources.ble import BleLink, Sighting, port_backends
from processor.sources.emulated.encoders import packet_plans
from processor.sources.emulated.wearable import Faults
from tests.sources.conftest import signal_for


@pytest.mark.parametrize("key", sorted(REGISTRY))
def test_every_regular_stream_has_an_encoder_that_round_trips(key):
    profile = REGISTRY[key]
    plans = {p.stream: p for p in packet_plans(profile)}
    assert {s.name for s in profile.streams if s.regular} == set(plans)
    rng = np.random.default_rng(0)
    for plan in plans.values():
        spec = profile.stream(plan.stream)
        if plan.source == "acc":
            samples = rng.uniform(-2, 2, (plan.samples_per_packet, 3))
        else:
            samples = rng.uniform(-200, 200, (plan.samples_per_packet, len(spec.channels)))
        acc = np.tile([0.1, -0.2, 0.98], (plan.samples_per_packet, 1))
        payload = plan.encode(samples, acc, 3, 1_767_225_600_000_000_000)
        frame = spec.decode(payload)
        assert frame.samples.shape == (plan.samples_per_packet, len(spec.channels))
        if spec.unit == "g":
            np.testing.assert_allclose(frame.samples, samples, atol=0.0006)
        elif spec.unit == "uV" and plan.source == "emg":
            np.testing.assert_allclose(frame.samples, samples, atol=0.5)
        if spec.has_device_time:
            assert frame.device_time_ns == 1_767_225_600_000_000_000


@pytest.mark.bumble
async def test_connect_to_an_absent_band_times_out_instead_of_hanging(air):
    # Bumble 0.0.236's LE Create Connection Cancel is a no-op: the air's controller patch fixes it
    sighting = Sighting("F0:F1:F2:F3:F4:99", None, -50, (), (), "F0:F1:F2:F3:F4:99")
    started = time.perf_counter()
    with pytest.raises(DeviceError, match=r"no answer to connect within 0\.3 s"):
        await BleLink.open(
            sighting, port_backends(air), timeout_s=0.3, pair=False, on_disconnect=lambda: None
        )
    assert time.perf_counter() - started < 1.5


@pytest.mark.bumble
async def test_write_to_a_read_only_characteristic_is_refused(air, wearable):
    # Bumble's GATT server does not enforce permissions; the emulator must refuse by itself
    band = await wearable("myo")
    client = BleakClient(
        band.address, timeout=1.0, **port_backends(air).extra, backend=port_backends(air).client
    )
    async with client:
        assert client.mtu_size == 247
        assert await client.read_gatt_char(BATTERY_LEVEL_UUID) == bytearray([87])
        with pytest.raises(BleakGATTProtocolError):
            await client.write_gatt_char(BATTERY_LEVEL_UUID, b"\x01", response=True)


@pytest.mark.bumble
async def test_band_streams_only_after_the_init_writes(air, wearable):
    band = await wearable("polar_h10", faults=Faults(ignore_init=True))
    backends = port_backends(air)
    client = BleakClient(band.address, timeout=1.0, backend=backends.client, **backends.extra)
    got: list[bytes] = []
    async with client:
        await client.start_notify(
            REGISTRY["polar_h10"].stream("acc").char_uuids[0], lambda _c, d: got.append(bytes(d))
        )
        for write in REGISTRY["polar_h10"].init_writes:
            await client.write_gatt_char(write.char_uuid, write.data, response=True)
        await asyncio.sleep(0.3)
    assert got == []
    assert [c[1] for c in band.commands] == [w.data for w in REGISTRY["polar_h10"].init_writes]


def test_demo_signal_holds_all_three_classes():
    sig = signal_for("myo")
    kinds = {kind for kind, _ in sig.truth}
    assert {"fasciculation", "fibrillation", "spasm"} <= kinds
    assert sig.emg_uv.shape[1] == 8
    assert sig.acc_g.shape[1] == 3
