"""``twitchwatch scan / run / record`` end to end against emulated wearables (short runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from processor.cli import main
from processor.config import ReplayConfig
from processor.io.readers import open_recording
from processor.model import Chunk, Gap

pytestmark = pytest.mark.bumble


def test_scan_lists_emulated_bands(capsys):
    assert main(["scan", "--emulate", "myo", "--emulate", "polar_h10", "--timeout", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "ADDRESS" in out
    assert "Myo" in out
    assert "myo" in out
    assert "Polar H10 1A2B3C4E" in out
    assert "polar_h10" in out


def test_run_emulate_streams_detects_and_writes_the_event_log(tmp_path, capsys):
    events = tmp_path / "events.jsonl"
    argv = ["run", "--emulate", "myo", "--duration", "2", "--no-history", "--quiet"]
    assert main([*argv, "--events-out", str(events)]) == 0
    out = capsys.readouterr().out
    assert "myo:emg: 8 ch @ 200 Hz" in out
    line = next(x for x in out.splitlines() if x.startswith("myo: "))
    assert "dropped 0" in line
    assert "malformed 0" in line
    assert "connects 1" in line
    assert events.exists()
    required = {"event_id", "type", "channel", "start_s", "end_s", "detected_at_s"}
    for row in events.read_text().splitlines():
        assert required <= set(json.loads(row))


def test_record_emulate_writes_a_recording_that_replays(tmp_path, capsys):
    out = tmp_path / "chest.twrec"
    argv = ["record", "--emulate", "polar_h10", "--duration", "1.5", "--no-history", "--quiet"]
    assert main([*argv, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    recorded = int(text.split("recorded ")[1].split()[0])
    assert recorded > 10
    with open_recording(out, ReplayConfig()) as reader:
        items = list(reader.items())
    acc = sum(i.data.shape[0] for i in items if isinstance(i, Chunk) and i.stream.name == "acc")
    assert acc >= 200  # >= 1 s of 200 Hz ACC, decoded again from the raw bytes
    assert not [i for i in items if isinstance(i, Gap)]
    assert f"{acc} samples" in text  # the live run saw exactly what replay sees


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run"], "give --device PROFILE"),
        (["run", "--device", "fitbit"], "--device fitbit: unknown device profile 'fitbit'"),
        (["run", "--emulate", "nope"], "--emulate nope: unknown device profile"),
        (["run", "--device", "myo", "--address", "12:34"], "--address 12:34: expected"),
        (["run", "--device", "myo", "--emulate", "myo"], "give --device PROFILE"),
        (["record", "--emulate", "myo", "--out", "x.csv"], "--out x.csv: a raw recording must"),
        (["scan", "--emulate", "nope"], "--emulate nope: unknown device profile"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.skipif(
    Path("/run/dbus/system_bus_socket").exists(), reason="a system bus exists here: BlueZ may too"
)
def test_scan_without_an_adapter_exits_2(capsys):
    assert main(["scan", "--timeout", "0.2"]) == 2
    err = capsys.readouterr().err
    assert "no usable Bluetooth adapter" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.skipif(
    Path("/run/dbus/system_bus_socket").exists(), reason="a system bus exists here: BlueZ may too"
)
def test_run_without_an_adapter_exits_2_instead_of_retrying_forever(capsys):
    assert main(["run", "--device", "myo", "--no-history", "--quiet", "--duration", "30"]) == 2
    assert "no usable Bluetooth adapter" in capsys.readouterr().err
