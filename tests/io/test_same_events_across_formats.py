"""The same samples written as CSV, EDF+ and a raw .twrec recording replay to the same events."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from processor import runtime
from processor.cli import main
from processor.config.io import ReplayConfig
from processor.io.readers import open_recording
from processor.model import Chunk
from tests.cli.fakes import FakePipeline
from tests.io.writers import write_csv, write_edf

FS_HZ = 200.0  # the Ganglion's EMG rate: the raw recording goes through its decoder
KEYS = ("event_id", "type", "channel", "start_s", "end_s", "detected_at_s")


def _emg() -> np.ndarray:
    rng = np.random.default_rng(5)
    emg = rng.normal(0, 15, (2400, 4))  # 12 s, 4 channels
    emg[200:203, 0] = 800.0
    emg[400:403, 0] = 2000.0
    emg[600:1900, 3] = 900.0  # 6.5 s: a spasm for the stand-in pipeline (>= 1000 samples)
    emg[1000:1002, 1] = -700.0
    return emg


def _files(tmp_path: Path, emg: np.ndarray) -> list[Path]:
    """The raw recording first; CSV and EDF+ then get the samples its decoder yields.

    The Ganglion's 19-bit delta packets are lossy (about 0.1 µV here), so "the same data" is
    what the raw recording decodes to, written again as CSV and EDF+.
    """
    paths = []
    if importlib.util.find_spec("processor.io.rawrec_write") is not None:
        import devices
        from processor.io.rawrec_write import emg_notifications, write_recording

        raw = tmp_path / "s.twrec"
        notes = emg_notifications("ganglion", emg, wearable="w0")
        write_recording(raw, "w0", devices.get_profile("ganglion"), notes)
        with open_recording(raw, ReplayConfig()) as reader:
            decoded = [i.data for i in reader.items() if isinstance(i, Chunk)]
        emg = np.concatenate(decoded)
        paths.append(raw)
    names = [f"emg_{i}" for i in range(4)]
    csv = write_csv(tmp_path / "s.csv", emg, fs_hz=FS_HZ, names=names)
    edf = write_edf(tmp_path / "s.edf", [(f"EMG {i}", FS_HZ, "uV", emg[:, i]) for i in range(4)])
    return [csv, edf, *paths]


def _events(path: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    log = path.parent / f"events-{path.suffix[1:]}.jsonl"
    args = ["replay", str(path), "--events-out", str(log), "--session", "x", "--quiet"]
    assert main([*args, "--no-history"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    lines = log.read_text(encoding="utf-8").splitlines()
    return [{k: json.loads(line)[k] for k in KEYS} for line in lines]


def test_csv_edf_and_raw_give_the_same_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(runtime, "default_pipeline_factory", lambda: (FakePipeline, ""))
    paths = _files(tmp_path, _emg())
    results = {path.suffix: _events(path, capsys) for path in paths}
    if importlib.util.find_spec("processor.io.rawrec_write") is not None:
        assert ".twrec" in results
    reference = results[".csv"]
    assert [e["type"] for e in reference] == [
        "fibrillation",
        "fasciculation",
        "fibrillation",
        "spasm",
        "spasm",
    ]
    for suffix, events in results.items():
        assert events == reference, suffix


def _matched(events: list[dict[str, object]], reference: list[dict[str, object]]) -> int:
    """Events of ``events`` with a reference event of the same type and channel within 10 ms."""
    unused = list(reference)
    count = 0
    for event in events:
        for ref in unused:
            same = (event["type"], event["channel"]) == (ref["type"], ref["channel"])
            if same and abs(float(str(event["start_s"])) - float(str(ref["start_s"]))) <= 0.01:
                unused.remove(ref)
                count += 1
                break
    return count


@pytest.mark.slow
def test_real_pipeline_gives_the_same_events_for_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CSV and raw carry identical samples: identical events. EDF+ stores 16-bit integers, which
    moves samples by up to half a step (~0.03 µV here) and may flip a detection sitting exactly
    on a threshold, so EDF+ must match at least 98 % of the events (and every spasm)."""
    pytest.importorskip("processor.stages.pipeline", reason="detection pipeline not built yet")
    synth = pytest.importorskip("processor.synth", reason="signal generator not built yet")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    recording = synth.synth_session(fs_hz=FS_HZ, duration_s=60.0, n_emg=4, seed=3)
    paths = _files(tmp_path, np.asarray(recording.emg_uv, dtype=np.float64))
    results = {path.suffix: _events(path, capsys) for path in paths}
    reference = results[".csv"]
    assert len(reference) >= 10, "the real pipeline found too little in the synthetic session"
    if ".twrec" in results:
        raw = results[".twrec"]
        assert [(e["type"], e["channel"]) for e in raw] == [
            (e["type"], e["channel"]) for e in reference
        ]
        assert [e["start_s"] for e in raw] == pytest.approx(
            [e["start_s"] for e in reference], abs=1e-6
        )
    edf = results[".edf"]
    assert _matched(edf, reference) >= 0.98 * max(len(edf), len(reference))
    spasms = [e for e in reference if e["type"] == "spasm"]
    assert [e for e in edf if e["type"] == "spasm"] == spasms
