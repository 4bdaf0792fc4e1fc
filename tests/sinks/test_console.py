from __future__ import annotations

import io
from dataclasses import replace

from processor.model import Event, EventType, StatusUpdate, StreamInfo
from processor.sinks.console import ConsoleSink, format_event, format_status
from processor.summary import RunSummary, StreamTally


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_event_lines_carry_time_class_channel_and_evidence() -> None:
    twitch = Event(
        "x",
        EventType.FASCICULATION,
        "emg_calf",
        12.3456,
        12.37,
        12.4,
        extras={"peak_uv": 85.24, "duration_ms": 24.0, "visibility_evidence": "accelerometer"},
    )
    line = format_event(twitch)
    assert line.split()[:4] == ["12.346", "s", "fasciculation", "emg_calf"]
    assert "peak 85.2 uV" in line
    assert "24 ms" in line
    assert "visibility from accelerometer" in line
    assert "ALERT" not in line
    start = Event("y", EventType.SPASM, "emg_b", 2.0, None, 5.0, extras={"alert": True})
    end = Event("y", EventType.SPASM, "emg_b", 2.0, 9.5, 9.5, extras={"alert": True})
    assert "spasm started" in format_event(start)
    assert "confirmed at 5.000 s" in format_event(start)
    assert format_event(start).endswith("ALERT")
    assert "spasm ended" in format_event(end)
    assert "lasted 7.5 s" in format_event(end)
    assert "\n" not in format_event(end)
    assert format_status(StatusUpdate("band", connected=True, battery_pct=55)) == (
        "[band] connected, battery 55%"
    )


async def test_quiet_prints_only_the_summary() -> None:
    out = io.StringIO()
    sink = ConsoleSink(out=out, err=io.StringIO(), quiet=True)
    async with sink:
        await sink.send(Event("x", EventType.FIBRILLATION, "emg", 1.0, 1.02, 1.1))
    summary = RunSummary(session_id="s1")
    summary.streams["emg"] = StreamTally(StreamInfo("emg", 1000.0, ("emg",), "uV"), 5000, 5.0)
    sink.summary(summary)
    text = out.getvalue()
    assert "fibrillation" in text  # the table row
    assert "1.000 s" not in text  # but no event line
    assert "Summary of session s1" in text


async def test_progress_bar_only_on_a_terminal_and_for_long_replays() -> None:
    err = io.StringIO()
    piped = ConsoleSink(out=io.StringIO(), err=err)
    piped.progress(10.0, 60.0)
    assert err.getvalue() == ""
    tty_err = io.StringIO()
    tty = ConsoleSink(out=Tty(), err=tty_err)
    tty.progress(1.0, 3.0)  # short replay: no bar
    assert tty_err.getvalue() == ""
    tty.progress(30.0, 60.0)
    assert "50%" in tty_err.getvalue()
    async with tty:
        await tty.send(Event("x", EventType.FIBRILLATION, "emg", 1.0, 1.02, 1.1))
    assert tty_err.getvalue().endswith("\r")  # bar cleared before the event line


async def test_peak_is_printed_in_the_events_unit_else_its_streams() -> None:
    myo = StreamInfo("emg", 200.0, ("emg_0", "emg_1"), "counts")
    twitch = Event("m", EventType.FIBRILLATION, "emg_0", 1.0, 1.02, 1.1, wearable="myo")
    with_extras = Event(
        "n", EventType.FIBRILLATION, "emg_0", 2.0, 2.02, 2.1, extras={"peak_uv": 7.0}
    )
    assert "peak 7.0 uV" in format_event(with_extras)  # nothing known: µV
    out = io.StringIO()
    sink = ConsoleSink(out=out, err=io.StringIO())
    sink.note_stream("myo", myo)
    async with sink:
        await sink.send(replace(twitch, extras={"peak_uv": 18.2}))
        await sink.send(replace(twitch, extras={"peak_uv": 5.0, "unit": "mV"}))
        await sink.send(replace(with_extras, extras={"peak_uv": 9.0}))
    lines = out.getvalue().splitlines()
    assert "peak 18.2 counts" in lines[0]  # the stream's unit
    assert "peak 5.0 mV" in lines[1]  # the event's own unit wins
    assert "peak 9.0 uV" in lines[2]  # another wearable's channel: the default


async def test_a_closed_pipe_stops_printing_but_not_the_run() -> None:
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    sink = ConsoleSink(out=ClosedPipe(), err=io.StringIO())
    async with sink:
        for start_s in (1.0, 2.0):
            await sink.send(Event("x", EventType.FIBRILLATION, "emg", start_s, 1.02, 1.1))
    sink.summary(RunSummary(session_id="s1"))
    assert sink.lines == 0
