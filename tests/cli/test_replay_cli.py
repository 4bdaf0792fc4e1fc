from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from processor.cli import main
from tests.cli.fakes import emg_with_events
from tests.io.writers import write_csv, write_edf


def _csv(tmp_path: Path) -> Path:
    acc = np.zeros((5000, 3))
    acc[:, 2] = 1.0
    return write_csv(
        tmp_path / "session.csv", emg_with_events(), names=["emg_a", "emg_b"], acc_g=acc
    )


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.mark.usefixtures("fake_pipeline")
def test_replay_prints_events_then_summary_and_writes_the_event_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "events.jsonl"
    code = main(["replay", str(_csv(tmp_path)), "--events-out", str(log), "--session", "t1"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert "fibrillation" in lines[0]
    assert "fasciculation" in lines[1]
    assert "spasm started" in lines[2]
    assert "spasm ended" in lines[3]
    assert lines[4].startswith("Summary of session t1")
    assert "emg: 2 ch @ 1000 Hz, 5000 samples" in out
    assert "acc: 3 ch @ 1000 Hz" in out
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [r["type"] for r in records] == ["fibrillation", "fasciculation", "spasm", "spasm"]
    assert records[0]["event_id"] == "t1-emg_a-fibrillation-1000"
    assert records[0]["start_s"] == 1.0


@pytest.mark.usefixtures("fake_pipeline")
def test_replay_stores_history_and_events_lists_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(_csv(tmp_path)), "--quiet", "--session", "h1"]) == 0
    quiet_out = capsys.readouterr().out
    assert quiet_out.startswith("Summary of session h1")
    assert main(["events"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 3  # the spasm's two lines are one row
    assert all(line.endswith("[h1]") for line in listed)
    assert "spasm ended" in listed[2]
    assert main(["events", "--type", "fasciculation", "--json"]) == 0
    (only,) = capsys.readouterr().out.splitlines()
    assert json.loads(only)["type"] == "fasciculation"
    assert main(["events", "--last", "1", "--channel", "emg_a"]) == 0
    (latest,) = capsys.readouterr().out.splitlines()
    assert "fasciculation" in latest
    assert main(["events", "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out == "No matching events.\n"
    assert main(["replay", str(_csv(tmp_path)), "--quiet", "--no-history"]) == 0
    capsys.readouterr()
    assert main(["events", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_events_without_history_and_with_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events"]) == 0
    assert capsys.readouterr().out.startswith("No events recorded yet")
    assert main(["events", "--db", str(tmp_path / "nope.sqlite3")]) == 2
    assert "history database not found" in _one_error_line(capsys)
    (tmp_path / "h.sqlite3").write_text("not sqlite", encoding="utf-8")
    assert main(["events", "--db", str(tmp_path / "h.sqlite3")]) == 2
    assert "not a usable history database" in _one_error_line(capsys)


@pytest.mark.usefixtures("fake_pipeline")
def test_bad_since_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(_csv(tmp_path)), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["events", "--since", "yesterday"]) == 2
    assert "--since: expected an ISO date" in _one_error_line(capsys)


def test_replay_without_pipeline_module_still_reads_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from processor import runtime

    monkeypatch.setattr(
        runtime,
        "default_pipeline_factory",
        lambda: (runtime._NoPipeline, runtime.NO_PIPELINE_NOTE),
    )
    times = np.r_[np.arange(1000), np.arange(1100, 2000)] / 1000.0
    path = write_csv(tmp_path / "gappy.csv", np.ones((1900, 1)), times_s=times)
    assert main(["replay", str(path), "--no-history"]) == 0
    out = capsys.readouterr().out
    assert "1 gaps (100 samples missing)" in out
    assert "gap        emg at 1.000 s: 100 missing" in out
    assert "no events were detected" in out


@pytest.mark.usefixtures("fake_pipeline")
def test_replay_edf_gives_the_same_events_as_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emg = emg_with_events()
    csv_path = write_csv(tmp_path / "s.csv", emg, names=["emg_a", "emg_b"])
    edf_path = write_edf(
        tmp_path / "s.edf", [("EMG a", 1000, "uV", emg[:, 0]), ("EMG b", 1000, "uV", emg[:, 1])]
    )
    logs = []
    for path in (csv_path, edf_path):
        log = tmp_path / f"{path.suffix[1:]}.jsonl"
        args = ["replay", str(path), "--events-out", str(log), "--session", "x", "--quiet"]
        assert main(args) == 0
        logs.append([json.loads(ln) for ln in log.read_text(encoding="utf-8").splitlines()])
    capsys.readouterr()
    keys = ("event_id", "type", "channel", "start_s", "end_s", "detected_at_s")
    csv_events, edf_events = ([{k: r[k] for k in keys} for r in log] for log in logs)
    assert csv_events == edf_events
    assert len(logs[0]) == 4


BAD_CONFIGS = [
    ("unknown key", "[replay]\nchunk_size = 5\n", "unknown key 'replay.chunk_size'"),
    ("wrong type", '[replay]\nchunk_ms = "fast"\n', "replay.chunk_ms: expected a number"),
    ("out of range", "[replay]\nchunk_ms = 0\n", "replay.chunk_ms: expected a number >= 1"),
    ("bad toml", "[replay\n", "not valid TOML"),
    ("bool type", "[history]\nenabled = 3\n", "history.enabled: expected true/false"),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_config_errors_exit_2_with_one_line_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, text: str, message: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text, encoding="utf-8")
    assert main(["replay", str(_csv(tmp_path)), "--config", str(config)]) == 2, case
    line = _one_error_line(capsys)
    assert str(config) in line
    assert message in line


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.toml"
    assert main(["replay", str(_csv(tmp_path)), "--config", str(missing)]) == 2
    assert f"{missing}: config file not found" in _one_error_line(capsys)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("nothing.csv", None, "file not found"),
        ("notes.txt", "hello", "unknown recording format '.txt'"),
        ("bad.csv", "time_s,ecg\n0,1\n0.001,2\n", "no EMG column"),
        ("bad.edf", "garbage" * 100, "not a readable EDF+/BDF+ file"),
    ],
)
def test_bad_recordings_exit_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str | None,
    message: str,
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    log = tmp_path / "events.jsonl"
    assert main(["replay", str(path), "--events-out", str(log)]) == 2
    line = _one_error_line(capsys)
    assert str(path) in line
    assert message in line
    assert not log.exists()  # nothing was opened for output


@pytest.mark.usefixtures("fake_pipeline")
def test_bad_line_mid_file_keeps_earlier_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from processor.io import csv_reader

    monkeypatch.setattr(csv_reader, "_BLOCK_BYTES", 4096)  # the bad line is not in block 1
    path = _csv(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2 + 2500] = lines[2 + 2500].replace(",", ",x", 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log = tmp_path / "events.jsonl"
    assert main(["replay", str(path), "--events-out", str(log), "--no-history"]) == 2
    assert "line 2503, column emg_a: not a number" in _one_error_line(capsys)
    kinds = [json.loads(ln)["type"] for ln in log.read_text(encoding="utf-8").splitlines()]
    assert kinds == ["fibrillation", "fasciculation"]


@pytest.mark.usefixtures("fake_pipeline")
@pytest.mark.parametrize(
    ("bad", "message"),
    [("nan", "column emg_a: value is not finite"), ("x", "column emg_a: not a number")],
)
def test_bad_line_in_the_first_block_keeps_earlier_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str, message: str
) -> None:
    path = _csv(tmp_path)  # the whole file fits in the first 2 MiB block
    lines = path.read_text(encoding="utf-8").splitlines()
    time_s, _, rest = lines[2 + 2500].partition(",")
    lines[2 + 2500] = f"{time_s},{bad},{rest.partition(',')[2]}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log = tmp_path / "events.jsonl"
    assert main(["replay", str(path), "--events-out", str(log), "--no-history"]) == 2
    assert f"line 2503, {message}" in _one_error_line(capsys)
    kinds = [json.loads(ln)["type"] for ln in log.read_text(encoding="utf-8").splitlines()]
    assert kinds == ["fibrillation", "fasciculation"]


def test_bad_speed_and_unwritable_event_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["replay", str(_csv(tmp_path)), "--speed", "0"])
    assert info.value.code == 2
    assert "expected a number > 0" in capsys.readouterr().err
    out = tmp_path / "no-such-dir" / "e.jsonl"
    assert main(["replay", str(_csv(tmp_path)), "--events-out", str(out)]) == 2
    assert "cannot write the event log" in _one_error_line(capsys)


@pytest.mark.usefixtures("fake_pipeline")
def test_real_time_speed_paces_the_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    path = write_csv(tmp_path / "short.csv", np.zeros((500, 1)))  # 0.5 s
    started = time.perf_counter()
    assert main(["replay", str(path), "--speed", "2", "--no-history", "--quiet"]) == 0
    assert time.perf_counter() - started >= 0.24
    capsys.readouterr()


def test_installed_console_script_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "twitchwatch"
    assert script.exists(), "twitchwatch console script is not installed in this environment"
    result = subprocess.run(  # noqa: S603 - our own console script
        [str(script), "replay", str(tmp_path / "missing.csv")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"twitchwatch: error: {tmp_path / 'missing.csv'}: file not found"
    )
    help_result = subprocess.run(  # noqa: S603
        [str(script), "replay", "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert help_result.returncode == 0
    assert "--events-out" in help_result.stdout


def test_replay_with_the_real_pipeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("processor.stages.pipeline", reason="detection pipeline not built yet")
    log = tmp_path / "events.jsonl"
    path = _csv(tmp_path)
    assert main(["replay", str(path), "--events-out", str(log), "--no-history"]) == 0
    out = capsys.readouterr().out
    assert "Summary of session" in out
    assert "NOTE" not in out  # the real pipeline ran
    for line in log.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert isinstance(record["event_id"], str)
        assert record["channel"] in {"emg_a", "emg_b"}
        assert isinstance(record["detected_at_s"], float | int)


@pytest.mark.parametrize(("signum", "code", "name"), [(15, 143, "SIGTERM"), (2, 130, "Ctrl-C")])
def test_a_signal_stops_replay_cleanly_with_summary_and_events_kept(
    tmp_path: Path, signum: int, code: int, name: str
) -> None:
    import os
    import signal

    script = Path(sys.executable).parent / "twitchwatch"
    recording = Path(__file__).parents[2] / "recordings" / "demo_session.csv"
    log = tmp_path / "events.jsonl"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    argv = [str(script), "replay", str(recording), "--speed", "8", "--events-out", str(log)]
    with subprocess.Popen(  # noqa: S603 - our own console script
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the first event (1.6 s into a 60 s recording)
        assert "fibrillation" in first, first
        proc.send_signal(signal.Signals(signum))
        out = first + proc.stdout.read()  # not communicate(): it skips what readline buffered
        assert proc.stderr is not None
        err = proc.stderr.read()
        proc.wait(timeout=30)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert "Summary of session" in out
    assert f"NOTE       interrupted by {name}" in out
    assert "60.000 s" not in out, "stopped early"
    events = log.read_text(encoding="utf-8").splitlines()
    assert json.loads(events[0])["type"] == "fibrillation"
    assert len(events) == sum(1 for line in out.splitlines() if " s  " in line[:14])
    history = tmp_path / "data" / "twitchwatch" / "history.sqlite3"
    assert history.exists()


def _two_wearable_recording(path: Path) -> Path:
    import devices
    from processor.io.rawrec_write import RawRecordingWriter, emg_notifications

    left = emg_notifications("ganglion", emg_with_events(n=2000, n_channels=4), wearable="left")
    right = emg_notifications(  # the same twitches at the same samples, other noise
        "ganglion", emg_with_events(n=1500, n_channels=4, seed=2), wearable="right"
    )
    with RawRecordingWriter(path) as writer:
        writer.add_wearable("left", devices.REGISTRY["ganglion"])
        writer.add_wearable("right", devices.REGISTRY["ganglion"])
        for note in sorted([*left, *right], key=lambda n: n.t_ns):
            writer.write_at(note.t_ns, note)
    return path


@pytest.mark.usefixtures("fake_pipeline")
def test_every_wearable_of_a_raw_recording_is_replayed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _two_wearable_recording(tmp_path / "two.twrec")
    log = tmp_path / "events.jsonl"
    assert main(["replay", str(path), "--events-out", str(log), "--no-history"]) == 0
    out = capsys.readouterr().out
    assert "left:emg: 4 ch @ 200 Hz, 2000 samples" in out
    assert "right:emg: 4 ch @ 200 Hz, 1500 samples" in out
    assert "replayed 2 wearables concurrently, one pipeline each: left, right" in out
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert {e["wearable"] for e in events} == {"left", "right"}
    ids = [e["event_id"] for e in events if e["type"] != "spasm"]
    assert len(set(ids)) == len(ids), "two bands of one model never share an event_id"
    assert main(["replay", str(path), "--wearable", "right", "--no-history", "--quiet"]) == 0
    only_right = capsys.readouterr().out
    assert "right:emg: 4 ch" in only_right
    assert "left" not in only_right
    assert main(["replay", str(path), "--wearable", "x", "--no-history"]) == 2
    assert "no wearable 'x' (recorded: left, right)" in _one_error_line(capsys)
    assert main(["replay", str(_csv(tmp_path)), "--wearable", "x", "--no-history"]) == 2
    assert "only .twrec recordings name any" in _one_error_line(capsys)


def test_a_detection_bug_prints_the_summary_then_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from processor import runtime
    from processor.model import Chunk, Event, Gap
    from tests.cli.fakes import FakePipeline

    class BrokenPipeline(FakePipeline):
        def process(self, item: Chunk | Gap) -> list[Event]:
            if isinstance(item, Chunk) and item.start_index >= 3000:
                raise ZeroDivisionError("bug in a stage")
            return super().process(item)

    monkeypatch.setattr(runtime, "default_pipeline_factory", lambda: (BrokenPipeline, ""))
    log = tmp_path / "events.jsonl"
    argv = ["replay", str(_csv(tmp_path)), "--events-out", str(log), "--no-history"]
    assert main([*argv, "--config", str(_chunk_config(tmp_path))]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err  # no extra warning line
    assert "ZeroDivisionError: bug in a stage" in captured.err
    assert "FAILED     processing of the recording: ZeroDivisionError" in captured.out
    assert "emg: 2 ch @ 1000 Hz, 5000 samples" in captured.out, "the file was read to its end"
    kinds = [json.loads(ln)["type"] for ln in log.read_text(encoding="utf-8").splitlines()]
    assert kinds == ["fibrillation", "fasciculation"]


def _chunk_config(tmp_path: Path) -> Path:
    config = tmp_path / "chunks.toml"
    config.write_text("[replay]\nchunk_ms = 500\n", encoding="utf-8")
    return config


def test_a_band_that_does_not_fit_the_recordings_rate_names_the_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "low.toml"
    config.write_text("[detection.conditioning]\nlow_hz = 95\n", encoding="utf-8")
    recording = Path(__file__).resolve().parents[2] / "recordings" / "consumer_myo_200hz_8ch.csv"
    args = ["replay", str(recording), "--config", str(config), "--no-history", "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"twitchwatch: error: {config}: detection.conditioning.low_hz = 95 Hz")
    assert "\n" not in err
