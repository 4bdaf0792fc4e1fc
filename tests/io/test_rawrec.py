"""The .twrec raw recording: round trip, crash tolerance (cut at every byte), bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import devices
from devices import ganglion, myo
from processor.config.io import ReplayConfig
from processor.errors import RecordingError
from processor.io.rawrec import open_raw
from processor.io.rawrec_write import (
    RawRecordingWriter,
    decoded_samples,
    emg_notifications,
    write_recording,
)
from processor.model import Chunk, Gap, RawNotification

MS = 1_000_000
CFG = ReplayConfig(chunk_ms=1000.0)  # the tests count chunks of 1 s
GANGLION = devices.REGISTRY["ganglion"]
MYO = devices.REGISTRY["myo"]


def _data(items: list[Chunk | Gap], stream: str = "emg") -> np.ndarray:
    return np.concatenate(
        [i.data for i in items if isinstance(i, Chunk) and i.stream.name == stream]
    )


def test_round_trip_replays_through_the_decoders(tmp_path: Path) -> None:
    emg = np.random.default_rng(1).normal(0, 40, (2000, 4))
    notes = emg_notifications("ganglion", emg, start_ns=7 * MS)
    path = tmp_path / "g.twrec"
    assert write_recording(path, "left_calf", GANGLION, notes) == 1000
    with open_raw(path, CFG) as reader:
        assert reader.wearables == ("left_calf",)
        assert reader.profile is GANGLION
        assert reader.duration_s == pytest.approx((notes[-1].t_ns - notes[0].t_ns) / 1e9)
        items = list(reader.items())
        assert [n.payload for n in reader.notifications()] == [n.payload for n in notes]
        assert [n.char_uuid for n in reader.notifications()] == [n.char_uuid for n in notes]
    assert not [i for i in items if isinstance(i, Gap)]
    expected = np.concatenate([ganglion.decode_emg(n.payload).samples for n in notes])
    np.testing.assert_array_equal(_data(items), expected)
    np.testing.assert_array_equal(decoded_samples("ganglion", notes), expected)
    assert decoded_samples("ganglion", []).shape == (0, 0)
    chunk = next(i for i in items if isinstance(i, Chunk))
    assert chunk.data.shape[0] == 200  # merged to ReplayConfig.chunk_ms = 1 s at 200 Hz
    assert reader.stats()["malformed"] == 0


def test_myo_characteristic_index_survives_the_round_trip(tmp_path: Path) -> None:
    counts = np.arange(-64, 64, dtype=np.float64).reshape(16, 8)
    notes = emg_notifications("myo", counts)
    path = tmp_path / "m.twrec"
    write_recording(path, "w0", MYO, notes)
    reader = open_raw(path, CFG)
    assert [n.char_uuid for n in reader.notifications()] == [n.char_uuid for n in notes]
    assert len({n.char_uuid for n in notes}) == 4
    np.testing.assert_array_equal(_data(list(reader.items())), counts)


def _small_recording(path: Path) -> list[bytes]:
    """Two wearables, a battery reading, a malformed packet, a link loss; returns the lines."""
    g_notes = emg_notifications("ganglion", np.ones((8, 4)) * 10, wearable="g")
    m_notes = emg_notifications("myo", np.ones((6, 8)), wearable="m")
    with RawRecordingWriter(path) as writer:
        writer.add_wearable("g", GANGLION)
        writer.add_wearable("m", MYO)
        for a, b in zip(g_notes, m_notes, strict=False):
            writer.write_at(a.t_ns, a)
            writer.write_at(b.t_ns, b)
        writer.write_at(g_notes[-1].t_ns, g_notes[-1])
        writer.write_at(30 * MS, RawNotification(0, "m", "battery", b"\x50", ""))
        writer.write_at(31 * MS, RawNotification(0, "g", "emg", b"\x01\x02", ""))
    return path.read_bytes().splitlines(keepends=True)


def test_cut_at_every_byte_replays_exactly_the_whole_records(tmp_path: Path) -> None:
    full = tmp_path / "full.twrec"
    lines = _small_recording(full)
    blob = b"".join(lines)
    ends = np.cumsum([len(line) for line in lines])
    all_notes = list(open_raw(full, CFG).notifications())
    assert len(all_notes) == 9
    cut_path = tmp_path / "cut.twrec"
    for cut in range(len(blob) + 1):
        cut_path.write_bytes(blob[:cut])
        whole_lines = int(np.searchsorted(ends, cut, side="right"))
        reader = open_raw(cut_path, CFG)
        notes = list(reader.notifications())
        n_whole_notes = sum(1 for line in lines[1:whole_lines] if b'"x"' in line)
        assert notes == all_notes[:n_whole_notes], cut
        items = list(reader.items())  # never raises
        if n_whole_notes == 0:
            assert items == []
        if whole_lines >= 2:
            assert reader.wearables[0] == "g"


def test_append_after_a_crash_cuts_the_torn_line_and_continues(tmp_path: Path) -> None:
    path = tmp_path / "crash.twrec"
    emg = np.zeros((40, 4))
    notes = emg_notifications("ganglion", emg)
    write_recording(path, "w0", GANGLION, notes[:10])
    blob = path.read_bytes()
    path.write_bytes(blob[:-7])  # the last line is torn by a crash
    with RawRecordingWriter(path) as writer:
        writer.add_wearable("w0", GANGLION)  # already declared: not written twice
        for note in notes[9:]:
            writer.write_at(note.t_ns, note)
    text = path.read_text()
    assert text.endswith("\n")
    assert text.count('"wearable"') == 1
    replayed = list(open_raw(path, CFG).notifications())
    assert [n.payload for n in replayed] == [n.payload for n in notes]
    for line in text.splitlines():
        json.loads(line)


def test_writer_appends_with_monotonic_clock_mapping(tmp_path: Path) -> None:
    path = tmp_path / "live.twrec"
    with RawRecordingWriter(path) as writer:
        writer.add_wearable("w0", MYO)
        import time

        now = time.monotonic_ns()
        writer.write(RawNotification(now, "w0", "emg", bytes(16), myo.EMG_DATA_UUIDS[2]))
        writer.write(RawNotification(now + 5 * MS, "w0", "emg", bytes(16), myo.EMG_DATA_UUIDS[3]))
        writer.write_link_lost(now + 6 * MS, "w0")
        with pytest.raises(ValueError, match="not declared"):
            writer.write(RawNotification(now, "other", "emg", bytes(16), ""))
    notes = list(open_raw(path, CFG).notifications())
    assert notes[1].t_ns - notes[0].t_ns == 5 * MS
    assert 0 <= notes[0].t_ns < 60 * 10**9
    assert [n.char_uuid for n in notes] == [myo.EMG_DATA_UUIDS[2], myo.EMG_DATA_UUIDS[3]]


def test_link_lost_record_is_replayed(tmp_path: Path) -> None:
    path = tmp_path / "link.twrec"
    first = emg_notifications("ganglion", np.zeros((100, 4)))
    second = emg_notifications("ganglion", np.zeros((100, 4)), start_ns=first[-1].t_ns + 100 * MS)
    with RawRecordingWriter(path) as writer:
        writer.add_wearable("w0", GANGLION)
        for note in first:
            writer.write_at(note.t_ns, note)
        writer._file.write(b'{"t":%d,"w":"w0","link":"lost"}\n' % (first[-1].t_ns + MS))
        for note in second:
            writer.write_at(note.t_ns, note)
    reader = open_raw(path, CFG)
    gaps = [i for i in reader.items() if isinstance(i, Gap)]
    # the board restarted its counter at 0: without the link record it would look like a
    # 50-packet jump; with it the 100 ms outage is timed by arrival (~20 samples)
    assert len(gaps) == 1
    assert abs(gaps[0].n_missing - 20) <= 2
    assert reader.stats()["link_losses"] == 1


def test_choose_a_wearable(tmp_path: Path) -> None:
    path = tmp_path / "two.twrec"
    _small_recording(path)
    reader = open_raw(path, CFG, wearable="m")
    items = list(reader.items())
    assert {i.stream.name for i in items if isinstance(i, Chunk)} == {"emg"}
    assert _data(items).shape == (6, 8)
    assert reader.stats()["battery_pct"] == 80
    assert open_raw(path, CFG).wearable == "g"
    assert open_raw(path, CFG).stats() == {}
    g_reader = open_raw(path, CFG)
    list(g_reader.items())
    assert g_reader.stats()["malformed"] == 1
    with pytest.raises(RecordingError, match="no wearable 'x'"):
        open_raw(path, CFG, wearable="x")


HEADER = (
    b'{"format":"twitchwatch-raw","version":1,"created":"2026-01-01T00:00:00+00:00",'
    b'"created_ns":0}\n'
)
DECL = b'{"wearable":"w0","profile":"myo","profile_version":1,"streams":{}}\n'
NOTE = b'{"t":0,"w":"w0","s":"emg","x":"' + bytes(16).hex().encode() + b'"}\n'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"time_s,emg\n0,1\n", "line 1: not a twitchwatch raw recording"),
        (b"hello", "line 1: not a twitchwatch raw recording"),
        (b'{"format":"other"}\n', "line 1: not a twitchwatch raw recording"),
        (HEADER.replace(b'"version":1', b'"version":9'), "format version 9 is not supported"),
        (HEADER + DECL.replace(b'"myo"', b'"fitbit"'), "line 2: unknown device profile 'fitbit'"),
        (HEADER + DECL.replace(b'"profile_version":1', b'"profile_version":7'), "newer"),
        (b"\x00\xff\xfe garbage\n", "not a twitchwatch raw recording"),
    ],
)
def test_bad_files_raise_one_line_recording_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.twrec"
    path.write_bytes(content)
    with pytest.raises(RecordingError, match=message) as info:
        open_raw(path, CFG)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"this is not json\n", "line 4: not a JSON record"),
        (b"[1, 2]\n", "line 4: not a JSON object"),
        (NOTE.replace(b'"x":"', b'"x":"zz'), "line 4: 'x' is not a hex payload"),
        (NOTE.replace(b'"w":"w0"', b'"w":"w9"'), "line 4: wearable 'w9' is not declared"),
        (NOTE.replace(b'"t":0', b'"t":"soon"'), "line 4: notification needs integer 't'"),
    ],
)
def test_garbage_records_raise_recording_error_naming_the_line(
    tmp_path: Path, line: bytes, message: str
) -> None:
    path = tmp_path / "garbage.twrec"
    path.write_bytes(HEADER + DECL + NOTE + line + NOTE)
    with pytest.raises(RecordingError, match=message) as info:
        list(open_raw(path, CFG).items())
    assert str(path) in str(info.value)


def test_missing_file_and_unwritable_path(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no such file"):
        open_raw(tmp_path / "nope.twrec", CFG)
    with pytest.raises(RecordingError, match="cannot write"):
        RawRecordingWriter(tmp_path / "no_dir" / "x.twrec")
    not_ours = tmp_path / "other.twrec"
    not_ours.write_bytes(b"something else\n")
    with pytest.raises(RecordingError, match="not a twitchwatch raw recording"):
        RawRecordingWriter(not_ours)


def test_empty_and_header_only_recordings_replay_nothing(tmp_path: Path) -> None:
    for content in (b"", HEADER[:10], HEADER, HEADER + DECL):
        path = tmp_path / "empty.twrec"
        path.write_bytes(content)
        reader = open_raw(path, CFG)
        assert list(reader.items()) == []
        assert reader.duration_s == 0.0


def test_emg_notifications_rejects_devices_without_encoder() -> None:
    with pytest.raises(ValueError, match="no EMG encoder"):
        emg_notifications("polar_h10", np.zeros((2, 3)))
