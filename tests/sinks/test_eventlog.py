from __future__ import annotations

import json
from pathlib import Path

import pytest

from processor.errors import InputError
from processor.model import Event, EventType, StatusUpdate
from processor.sinks.eventlog import EventLogSink
from processor.sinks.serialize import REQUIRED_KEYS

EVENTS = [
    Event("s-emg_a-fibrillation-10", EventType.FIBRILLATION, "emg_a", 0.01, 0.03, 0.05),
    Event(
        "s-emg_a-fasciculation-900",
        EventType.FASCICULATION,
        "emg_a",
        0.9,
        0.93,
        0.95,
        extras={"peak_uv": 180.5, "visibility_evidence": "accelerometer", "alert": False},
    ),
    Event("s-emg_b-spasm-2000", EventType.SPASM, "emg_b", 2.0, None, 5.0, extras={"alert": True}),
    Event("s-emg_b-spasm-2000", EventType.SPASM, "emg_b", 2.0, 9.5, 9.5, extras={"alert": True}),
    Event("s-emg_b-rate-0", EventType.RATE, "emg_b", 0.0, 9.5, 9.5, wearable="band"),
]
TYPES = {
    "event_id": (str,),
    "type": (str,),
    "channel": (str,),
    "start_s": (int, float),
    "detected_at_s": (int, float),
}


async def test_every_line_has_the_required_keys_with_their_types(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    async with EventLogSink(path) as sink:
        for event in EVENTS:
            await sink.send(event)
        await sink.status(StatusUpdate("band", connected=False))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(EVENTS)
    for line, event in zip(lines, EVENTS, strict=True):
        obj = json.loads(line)
        assert list(obj)[: len(REQUIRED_KEYS)] == list(REQUIRED_KEYS)
        for key, types in TYPES.items():
            assert isinstance(obj[key], types), key
            assert not isinstance(obj[key], bool)
        assert obj["end_s"] is None or isinstance(obj["end_s"], int | float)
        assert obj["type"] == str(event.type)
        assert obj["event_id"] == event.event_id
    spasm_lines = [json.loads(ln) for ln in lines if '"spasm"' in ln]
    assert [s["end_s"] for s in spasm_lines] == [None, 9.5]
    assert len({s["event_id"] for s in spasm_lines}) == 1
    assert json.loads(lines[1])["peak_uv"] == 180.5
    assert json.loads(lines[4])["wearable"] == "band"


async def test_lines_are_on_disk_as_soon_as_sent_and_the_file_is_appended(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"earlier": true}\n', encoding="utf-8")
    async with EventLogSink(path) as sink:
        await sink.send(EVENTS[0])
        # read through another handle while the sink is still open: already flushed
        assert path.read_text(encoding="utf-8").splitlines()[1].startswith('{"event_id"')
        await sink.send(EVENTS[1])
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3


async def test_unwritable_path_is_a_one_line_input_error(tmp_path: Path) -> None:
    path = tmp_path / "missing-dir" / "events.jsonl"
    with pytest.raises(InputError, match="cannot write the event log") as info:
        async with EventLogSink(path):
            pass
    assert str(path) in str(info.value)
