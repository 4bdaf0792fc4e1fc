"""Introspective tests over every registered profile (aesthetics.md 8.5 d)."""

from __future__ import annotations

import re

import pytest

import devices
from devices import DeviceProfile, match_profile
from devices.profile import GattWrite
from tests.devices._vectors import vector_files, vectors

UUID128 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PROFILES = list(devices.REGISTRY.values())
STREAM_NAMES = {"emg", "acc", "ecg", "imu", "battery"}


def test_profile_keys_are_the_documented_ones() -> None:
    assert set(devices.REGISTRY) == {"myo", "ganglion", "polar_h10", "polar_verity_sense"}
    assert all(key == p.key for key, p in devices.REGISTRY.items())


def _all_uuids(profile: DeviceProfile) -> list[str]:
    uuids = [u for s in profile.streams for u in s.char_uuids]
    uuids += [svc.uuid for svc in profile.gatt] + [
        c.uuid for svc in profile.gatt for c in svc.characteristics
    ]
    uuids += [w.char_uuid for w in (*profile.init_writes, *profile.stop_writes)]
    uuids += [w.reply_uuid for w in profile.init_writes if w.reply_uuid]
    uuids += list(profile.pre_subscribe) + list(profile.match.service_uuids)
    return uuids


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.key)
def test_uuids_are_normalised_128_bit(profile: DeviceProfile) -> None:
    bad = [u for u in _all_uuids(profile) if not UUID128.match(u)]
    assert not bad


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.key)
def test_streams_are_well_formed(profile: DeviceProfile) -> None:
    names = [s.name for s in profile.streams]
    assert len(names) == len(set(names))
    gatt_chars = {c.uuid: c for svc in profile.gatt for c in svc.characteristics}
    for spec in profile.streams:
        assert spec.name in STREAM_NAMES
        assert spec.fs_hz > 0
        assert spec.channels
        assert len(set(spec.channels)) == len(spec.channels)
        assert spec.unit
        for uuid in spec.char_uuids:
            assert uuid in gatt_chars, f"{spec.name}: {uuid} not in the GATT table"
            assert {"notify", "indicate"} & set(gatt_chars[uuid].properties)
        for derived in spec.derived:
            assert derived.name in STREAM_NAMES
            assert all(0 <= c < len(spec.channels) for c in derived.columns)
            if derived.columns:
                assert len(derived.columns) == len(derived.channels)
        if spec.name == "emg":
            assert all(c.startswith("emg_") for c in spec.channels)
            assert spec.unit in {"uV", "counts"}
        if spec.name == "acc":
            assert spec.channels == ("acc_x", "acc_y", "acc_z")
            assert spec.unit == "g"


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.key)
def test_writes_target_writable_characteristics(profile: DeviceProfile) -> None:
    chars = {c.uuid: c for svc in profile.gatt for c in svc.characteristics}
    for write in (*profile.init_writes, *profile.stop_writes):
        props = set(chars[write.char_uuid].properties)
        assert ("write" if write.response else "write_without_response") in props
        if write.reply_prefix:
            assert write.reply_uuid in profile.pre_subscribe
    assert profile.init_writes
    assert profile.stop_writes
    assert profile.reinit_on_reconnect


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.key)
def test_channel_count_equals_decode_width_on_first_vector(profile: DeviceProfile) -> None:
    for spec in profile.streams:
        first = next(
            v for v in vectors("vector") if v.profile == profile.key and v.stream == spec.name
        )
        frame = spec.decode(first.payload)
        assert frame.samples.ndim == 2
        assert frame.samples.shape[1] == len(spec.channels)


def test_every_profile_and_stream_has_vectors() -> None:
    files = vector_files()
    assert set(files) == set(devices.REGISTRY)
    for profile in PROFILES:
        have = {v.stream for v in vectors("vector") if v.profile == profile.key}
        rejected = {v.stream for v in vectors("reject") if v.profile == profile.key}
        assert {s.name for s in profile.streams} <= have
        assert {s.name for s in profile.streams if s.regular} <= rejected


def test_polar_start_commands_are_the_documented_bytes() -> None:
    h10 = devices.REGISTRY["polar_h10"]
    writes = [w.data.hex(" ") for w in h10.init_writes]
    assert writes == ["02 02 00 01 c8 00 01 01 10 00 02 01 08 00", "02 00 00 01 82 00 01 01 0e 00"]
    verity = devices.REGISTRY["polar_verity_sense"]
    assert (
        verity.init_writes[0].data.hex(" ") == "02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03"
    )
    assert [w.data for w in h10.stop_writes] == [b"\x03\x02", b"\x03\x00"]
    assert h10.min_mtu >= 232
    assert verity.min_mtu >= 232


def test_myo_and_ganglion_init_bytes() -> None:
    myo = devices.REGISTRY["myo"]
    assert [w.data.hex(" ") for w in myo.init_writes] == ["09 01 01", "01 03 03 01 00"]
    assert all(w.response for w in myo.init_writes)
    ganglion = devices.REGISTRY["ganglion"]
    assert [w.data for w in ganglion.init_writes] == [b"n", b"b"]
    assert [w.data for w in ganglion.stop_writes] == [b"s"]


def test_reply_check_of_polar_start() -> None:
    write = devices.REGISTRY["polar_verity_sense"].init_writes[0]
    assert write.reply_ok(bytes.fromhex("f002020000")) is True  # real answer, polar-ble-sdk#443
    assert write.reply_ok(bytes.fromhex("f002020600")) is True  # ALREADY_IN_STATE
    assert write.reply_ok(bytes.fromhex("f0020205")) is False  # INVALID_PARAMETER
    assert write.reply_ok(bytes.fromhex("f0020000")) is None  # answer to the ECG start
    assert write.reply_ok(bytes.fromhex("f00202")) is False  # truncated
    assert GattWrite("x", b"b").reply_ok(b"anything") is None


def test_stream_for_routes_shared_pmd_characteristic() -> None:
    h10 = devices.REGISTRY["polar_h10"]
    data_uuid = h10.stream("acc").char_uuids[0]
    stream_acc, stream_ecg = h10.stream_for(data_uuid, b"\x02"), h10.stream_for(data_uuid, b"\x00")
    assert stream_acc is not None
    assert stream_acc.name == "acc"
    assert stream_ecg is not None
    assert stream_ecg.name == "ecg"
    assert h10.stream_for("0000ffff-0000-1000-8000-00805f9b34fb", b"\x02") is None
    assert h10.notify_uuids().count(data_uuid) == 1


@pytest.mark.parametrize(
    ("name", "services", "companies", "expected"),
    [
        ("Polar H10 A1B2C3D4", ["180d"], [0x006B], "polar_h10"),
        (
            "Polar Sense B5A32F2B",
            ["0000180d-0000-1000-8000-00805f9b34fb"],
            [0x006B],
            "polar_verity_sense",
        ),
        ("Ganglion-1a2b", [], [], "ganglion"),
        ("Polar Sense 0A1B", ["feee"], [0x006B], "polar_verity_sense"),
        (None, ["FEEE"], [0x00D1], "polar_h10"),  # no name: ties go to the first profile
        ("Simblee", ["FE84"], [], "ganglion"),
        (None, ["d5060001-a904-deb9-4748-2c7f4a124842"], [], "myo"),
        ("My band", [], [0x0562], "myo"),
        ("Kettle", ["180f"], [0x0059], None),
        (None, [], [], None),
    ],
)
def test_match_profile(name, services, companies, expected) -> None:
    found = match_profile(name, services, companies)
    assert (found.key if found else None) == expected


def test_get_profile_names_choices() -> None:
    with pytest.raises(KeyError, match="known: ganglion, myo"):
        devices.get_profile("nope")
