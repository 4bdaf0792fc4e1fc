"""The unmodified collector against emulated wearables on Bumble's in-process GATT stack."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from devices import REGISTRY
from processor.cli.ble_cmd import RecordingTap
from processor.config import ReplayConfig
from processor.io.rawrec_write import RawRecordingWriter
from processor.io.readers import open_recording
from processor.model import Chunk, Gap
from processor.sources.emulated.wearable import Faults
from tests.sources.conftest import Collected, collect, wait_for

pytestmark = pytest.mark.bumble


def _contiguous(got: Collected, stream: str) -> None:
    """Chunks of ``stream`` follow each other, and every gap is skipped exactly."""
    expected = None
    for item in got.order:
        if isinstance(item, Gap) and item.stream == stream:
            assert expected is None or item.start_index == expected
            expected = item.start_index + item.n_missing
        elif isinstance(item, Chunk) and item.stream.name == stream:
            assert expected is None or item.start_index == expected, "gap bridged silently"
            expected = item.end_index


async def test_scan_recognises_every_profile(air, wearable, central):
    for i, key in enumerate(REGISTRY):
        await wearable(key, address=f"F0:F1:F2:F3:F4:{i:02X}")
    air.rssi_overrides["F0:F1:F2:F3:F4:01"] = -71
    found = {f.address: f for f in await central.scan(0.3)}
    assert {f.profile for f in found.values()} == set(REGISTRY)
    assert found["F0:F1:F2:F3:F4:00"].name == "Myo"
    assert found["F0:F1:F2:F3:F4:01"].rssi == -71


async def test_init_writes_in_order_then_lossless_stream(wearable, central):
    band = await wearable("myo")
    source = central.source(REGISTRY["myo"], wearable_id="arm")
    got = await collect(source, seconds=1.5)
    init = [(w.char_uuid, w.data) for w in REGISTRY["myo"].init_writes]
    assert band.commands[: len(init)] == init
    stop = [(w.char_uuid, w.data) for w in REGISTRY["myo"].stop_writes]
    assert band.commands[len(init) :] == stop
    assert got.gaps == []
    assert band.samples_sent["emg"] > 200  # about 1 s at the real 200 Hz
    assert got.samples("emg") == band.samples_sent["emg"]
    assert got.samples("imu") == band.samples_sent["imu"]
    assert source.stats()["dropped"] == 0
    _contiguous(got, "emg")
    assert any(s.battery_pct == 87 for s in got.status)
    assert any(s.connected and "MTU 247" in s.detail for s in got.status)


@pytest.mark.parametrize("key", sorted(REGISTRY))
async def test_every_profile_streams_through_its_decoder(wearable, central, key):
    band = await wearable(key)
    got = await collect(central.source(REGISTRY[key], wearable_id="w"), seconds=0.8)
    regular = [s.name for s in REGISTRY[key].streams if s.regular]
    for name in regular:
        assert got.samples(name) == band.samples_sent[name] > 0, name
    assert got.gaps == []


async def test_decoded_samples_match_what_the_band_encoded(wearable, central):
    await wearable("ganglion")
    got = await collect(central.source(REGISTRY["ganglion"], wearable_id="w"), seconds=0.6)
    emg = np.concatenate([c.data for c in got.chunks if c.stream.name == "emg"])
    # 18-bit packing keeps 128-count (0.24 µV) resolution
    assert np.abs(emg).max() < 2000.0
    assert emg.shape[1] == 4
    assert np.std(emg[:, 0]) > 0.5


@pytest.mark.parametrize("key", ["myo", "ganglion"])
async def test_link_drop_mid_stream_reconnects_resends_init_and_marks_gap(wearable, central, key):
    band = await wearable(key)
    profile = REGISTRY[key]
    source = central.source(profile, wearable_id="arm")

    async def scenario(got: Collected) -> None:
        await wait_for(lambda: got.samples("emg") > 40)
        await band.drop_link()
        await wait_for(lambda: band.connections == 2 and band.is_streaming)
        await wait_for(lambda: got.samples("emg") > 200)

    got = await collect(source, seconds=0, during=scenario)
    init = [(w.char_uuid, w.data) for w in profile.init_writes]
    n = len(init)
    assert band.commands[:n] == init
    assert band.commands[n : 2 * n] == init
    emg_gaps = [g for g in got.gaps if g.stream == "emg"]
    assert len(emg_gaps) == 1
    # at most the packet in flight when the link dropped is lost on the air
    received, sent = got.samples("emg"), band.samples_sent["emg"]
    assert sent - 2 <= received <= sent
    # the gap covers that and what the band measured while the link was down (+- BLE jitter)
    skipped = band.samples_skipped["emg"]
    assert abs((received + emg_gaps[0].n_missing) - (sent + skipped)) <= 6
    _contiguous(got, "emg")
    stats = source.stats()
    assert stats["connects"] == 2
    assert stats["link_losses"] == 1
    assert any("link lost" in s.detail and s.connected is False for s in got.status)


async def test_band_vanishes_and_comes_back(wearable, central):
    band = await wearable("polar_h10")
    source = central.source(REGISTRY["polar_h10"], wearable_id="chest")

    async def scenario(got: Collected) -> None:
        await wait_for(lambda: got.samples("acc") > 40)
        await band.vanish()
        await asyncio.sleep(1.2)
        assert not band.is_connected
        await band.reappear()
        await wait_for(lambda: band.connections == 2 and band.is_streaming)
        await wait_for(lambda: got.samples("acc") > 300)

    got = await collect(source, seconds=0, during=scenario)
    gap = next(g for g in got.gaps if g.stream == "acc")
    assert gap.n_missing >= 200  # >= 1 s at 200 Hz, from the strap's own clock
    _contiguous(got, "acc")
    assert "link lost; reconnecting | searching for a polar_h10" in got.details()


async def test_silent_band_is_treated_as_lost(wearable, central):
    band = await wearable("myo")
    source = central.source(REGISTRY["myo"], wearable_id="arm")

    async def scenario(got: Collected) -> None:
        await wait_for(lambda: got.samples("emg") > 40)
        band.go_silent()
        await wait_for(lambda: source.stats()["watchdog_trips"] == 1)
        band.go_silent(silent=False)
        await wait_for(lambda: band.connections == 2 and got.samples("emg") > 150)

    got = await collect(source, seconds=0, during=scenario)
    assert "watchdog" in got.details()
    assert [g for g in got.gaps if g.stream == "emg"]
    _contiguous(got, "emg")


async def test_two_bands_stream_at_once(wearable, central):
    myo = await wearable("myo", address="F0:F1:F2:F3:F4:01")
    ganglion = await wearable("ganglion", address="F0:F1:F2:F3:F4:02")
    a = central.source(REGISTRY["myo"], wearable_id="arm")
    b = central.source(REGISTRY["ganglion"], wearable_id="leg")
    got_a, got_b = await asyncio.gather(collect(a, seconds=1.2), collect(b, seconds=1.2))
    assert got_a.samples("emg") == myo.samples_sent["emg"] > 100
    assert got_b.samples("emg") == ganglion.samples_sent["emg"] > 100
    assert got_a.gaps == got_b.gaps == []


async def test_band_ignoring_the_handshake_is_reported_and_others_keep_going(wearable, central):
    await wearable("polar_h10", address="F0:F1:F2:F3:F4:01", faults=Faults(ignore_init=True))
    mute = await wearable("myo", address="F0:F1:F2:F3:F4:02", faults=Faults(ignore_init=True))
    good = await wearable("ganglion", address="F0:F1:F2:F3:F4:03")
    sources = [
        central.source(REGISTRY["polar_h10"], wearable_id="chest"),
        central.source(REGISTRY["myo"], wearable_id="arm", address="F0:F1:F2:F3:F4:02"),
        central.source(REGISTRY["ganglion"], wearable_id="leg"),
    ]
    chest, arm, leg = await asyncio.gather(*(collect(s, seconds=2.0) for s in sources))
    assert "did not answer the init handshake" in chest.details()
    assert "sent no data within" in arm.details()
    assert mute.connections >= 1
    assert chest.chunks == []
    assert arm.chunks == []
    assert leg.samples("emg") == good.samples_sent["emg"] > 200
    assert sources[0].stats()["failures"] >= 1


async def test_missing_characteristic_gives_that_band_up(wearable, central):
    broken = frozenset({REGISTRY["myo"].stream("emg").char_uuids[2]})
    await wearable("myo", address="F0:F1:F2:F3:F4:01", faults=Faults(missing_chars=broken))
    good = await wearable("ganglion", address="F0:F1:F2:F3:F4:02")
    arm = central.source(REGISTRY["myo"], wearable_id="arm")
    leg = central.source(REGISTRY["ganglion"], wearable_id="leg")

    async def consume_until_end() -> Collected:
        got = Collected()
        async with arm, asyncio.timeout(5):
            async for item in arm.items():  # ends by itself: the band is given up
                got.order.append(item)
                if hasattr(item, "detail"):
                    got.status.append(item)
        return got

    arm_got, leg_got = await asyncio.gather(consume_until_end(), collect(leg, seconds=1.0))
    assert "d5060305-a904-deb9-4748-2c7f4a124842 missing from the GATT table" in arm_got.details()
    assert leg_got.samples("emg") == good.samples_sent["emg"] > 100


async def test_malformed_notifications_are_counted_not_fatal(wearable, central):
    band = await wearable("myo", faults=Faults(malformed_every=7))
    source = central.source(REGISTRY["myo"], wearable_id="arm")
    got = await collect(source, seconds=1.0)
    assert band.malformed_sent > 5
    assert source.stats()["malformed"] == band.malformed_sent
    assert got.samples("emg") == band.samples_sent["emg"] - 2 * band.malformed_sent
    assert "malformed" in got.details()


async def test_unknown_address_keeps_searching_without_crashing(wearable, central):
    await wearable("myo")
    source = central.source(REGISTRY["myo"], wearable_id="arm", address="AA:BB:CC:DD:EE:FF")
    got = await collect(source, seconds=1.3)
    assert got.chunks == []
    assert "searching: AA:BB:CC:DD:EE:FF not in range" in got.details()


async def test_recording_tap_replays_to_the_same_samples_and_gap(tmp_path, wearable, central):
    band = await wearable("myo")
    path = tmp_path / "arm.twrec"
    writer = RawRecordingWriter(path)
    writer.add_wearable("arm", REGISTRY["myo"])
    tap = RecordingTap(writer, maxsize=100_000)
    source = central.source(REGISTRY["myo"], wearable_id="arm", raw_tap=tap)
    writing = asyncio.create_task(tap.run())

    async def scenario(got: Collected) -> None:
        await wait_for(lambda: got.samples("emg") > 40)
        await band.drop_link()
        await wait_for(lambda: band.connections == 2 and got.samples("emg") > 150)

    live = await collect(source, seconds=0, during=scenario)
    tap.close()
    await writing
    writer.close()
    with open_recording(path, ReplayConfig()) as reader:
        replayed = list(reader.items())
    replay_emg = sum(
        i.data.shape[0] for i in replayed if isinstance(i, Chunk) and i.stream.name == "emg"
    )
    assert tap.dropped == 0
    assert replay_emg == live.samples("emg")
    live_gaps = [(g.start_index, g.n_missing) for g in live.gaps if g.stream == "emg"]
    replay_gaps = [
        (g.start_index, g.n_missing) for g in replayed if isinstance(g, Gap) and g.stream == "emg"
    ]
    assert len(live_gaps) == len(replay_gaps) == 1
    assert abs(live_gaps[0][1] - replay_gaps[0][1]) <= 2
