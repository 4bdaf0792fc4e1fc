"""The bundled recordings exist, are small, parse, and agree with their truth files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from processor.config import ReplayConfig
from processor.io.readers import open_recording
from processor.model import Chunk

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "recordings"
TRUTH_TYPES = {"fasciculation", "fibrillation", "spasm", "contraction", "artifact"}
BUNDLED = {
    # file: (truth file, EMG rate, EMG channels, ACC rate or None)
    "demo_session.csv": ("demo_session.truth.json", 1000.0, 1, 1000.0),
    "demo_session.edf": ("demo_session.truth.json", 1000.0, 1, 200.0),
    "consumer_myo_200hz_8ch.csv": ("consumer_myo_200hz_8ch.truth.json", 200.0, 8, 200.0),
    "twitches_no_acc.csv": ("twitches_no_acc.truth.json", 1000.0, 1, None),
}


def _read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, tuple[float, tuple[str, ...]]]]:
    data: dict[str, list[np.ndarray]] = {}
    info: dict[str, tuple[float, tuple[str, ...]]] = {}
    with open_recording(path, ReplayConfig()) as reader:
        for item in reader.items():
            assert isinstance(item, Chunk), f"unexpected gap in {path.name}: {item}"
            data.setdefault(item.stream.name, []).append(item.data)
            info[item.stream.name] = (item.stream.fs_hz, item.stream.channels)
    return {k: np.concatenate(v) for k, v in data.items()}, info


def _truth(name: str) -> dict[str, object]:
    return json.loads((RECORDINGS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_recording_is_small_parses_and_matches_its_truth(name: str) -> None:
    truth_name, fs_hz, n_emg, acc_fs_hz = BUNDLED[name]
    path = RECORDINGS / name
    assert path.stat().st_size < 2_000_000
    streams, info = _read(path)
    assert info["emg"][0] == fs_hz
    assert streams["emg"].shape[1] == n_emg
    assert np.all(np.isfinite(streams["emg"]))
    duration_s = streams["emg"].shape[0] / fs_hz
    if acc_fs_hz is None:
        assert "acc" not in streams
    else:
        assert info["acc"] == (acc_fs_hz, ("acc_x", "acc_y", "acc_z"))
        assert streams["acc"].shape[0] / acc_fs_hz == pytest.approx(duration_s, abs=0.01)
        assert np.median(np.linalg.norm(streams["acc"], axis=1)) == pytest.approx(1.0, abs=0.05)
    truth = _truth(truth_name)
    assert truth["duration_s"] == pytest.approx(duration_s, abs=0.01)
    assert list(truth["channels"]) == list(info["emg"][1])  # type: ignore[call-overload]
    events = truth["events"]
    assert isinstance(events, list)
    assert events
    for e in events:
        assert e["type"] in TRUTH_TYPES
        assert e["channel"] in info["emg"][1]
        assert 0.0 <= e["start_s"] < e["end_s"] <= duration_s
        assert e["peak_uv"] > 0


def test_demo_contains_all_three_classes_and_voluntary_reps() -> None:
    events = _truth("demo_session.truth.json")["events"]
    assert isinstance(events, list)
    kinds = [e["type"] for e in events]
    for kind in ("fasciculation", "fibrillation", "spasm", "contraction"):
        assert kind in kinds, kind
    assert kinds.count("fasciculation") >= 3
    assert kinds.count("fibrillation") >= 3


@pytest.mark.parametrize("name", ["demo_session.csv", "twitches_no_acc.csv"])
def test_every_truth_twitch_is_in_the_signal(name: str) -> None:
    truth_name, fs_hz, _, _ = BUNDLED[name]
    emg = _read(RECORDINGS / name)[0]["emg"][:, 0]
    events = _truth(truth_name)["events"]
    assert isinstance(events, list)
    for e in events:
        if e["type"] not in {"fasciculation", "fibrillation"}:
            continue
        lo, hi = round(e["start_s"] * fs_hz), round(e["end_s"] * fs_hz) + 1
        assert np.ptp(emg[lo:hi]) > 0.6 * e["peak_uv"], e


def test_edf_and_csv_demo_hold_the_same_emg() -> None:
    csv = _read(RECORDINGS / "demo_session.csv")[0]["emg"]
    edf = _read(RECORDINGS / "demo_session.edf")[0]["emg"]
    assert csv.shape == edf.shape
    # CSV keeps 0.1 µV, EDF 16-bit over +-5000 µV keeps ~0.15 µV
    assert np.max(np.abs(csv - edf)) < 0.3


def test_visible_demo_twitches_show_in_the_accelerometer() -> None:
    acc = _read(RECORDINGS / "demo_session.csv")[0]["acc"]
    events = _truth("demo_session.truth.json")["events"]
    assert isinstance(events, list)
    sos = signal.butter(2, [5.0, 60.0], btype="bandpass", fs=1000.0, output="sos")
    shake = np.linalg.norm(signal.sosfilt(sos, acc - acc[0], axis=0), axis=1)
    floor = float(np.median(shake))
    for e in events:
        if e["type"] not in {"fasciculation", "fibrillation"}:
            continue
        i = round(e["start_s"] * 1000.0)
        moved = float(np.max(shake[i : i + 250])) > 10 * floor
        assert moved == e["visible"], e


def test_recordings_are_rebuilt_identically_by_the_committed_script(tmp_path: Path) -> None:
    baselines = pytest.importorskip("benchmarks.baselines")
    if not baselines.DATA_DIR.is_dir():
        pytest.skip(f"real baselines not available at {baselines.DATA_DIR}")
    from benchmarks.make_recordings import build

    for path in build(tmp_path):
        if path.suffix == ".csv":
            assert path.read_bytes() == (RECORDINGS / path.name).read_bytes(), path.name
    for truth in RECORDINGS.glob("*.truth.json"):
        assert (tmp_path / truth.name).read_text() == truth.read_text(), truth.name


# --- the scoring rules that compare detections with these truth files (benchmarks/scoring.py)


def _truth_event(kind: str, start: float, end: float, *, visible: bool = False):
    from processor.synth import TruthEvent

    return TruthEvent(kind, "emg", start, end, 50.0, visible)


def test_twitch_scoring_matches_one_to_one_within_25_ms() -> None:
    from benchmarks.detectors import Detection
    from benchmarks.scoring import score_twitches

    truth = [
        _truth_event("fasciculation", 21.0, 21.02, visible=True),
        _truth_event("fibrillation", 22.0, 22.02),
        _truth_event("fibrillation", 23.0, 23.02),
        _truth_event("contraction", 30.0, 31.0),
    ]
    dets = [
        Detection("fasciculation", "emg", 21.004, 21.02, 21.1),
        Detection("fasciculation", "emg", 21.01, 21.02, 21.1),  # second hit on one twitch: FP
        Detection("fibrillation", "emg", 22.03, 22.05, 22.1),  # 30 ms late: FP and a miss
        Detection("fasciculation", "emg", 22.999, 23.02, 23.1),  # wrong visibility
        Detection("fibrillation", "emg", 30.4, 30.41, 30.5),  # inside a voluntary rep
        Detection("fibrillation", "other", 21.0, 21.01, 21.1),  # other channel: FP
    ]
    s = score_twitches(truth, dets, has_acc=True)
    assert (s.tp, s.fp, s.fn, s.during_activity) == (2, 3, 1, 1)
    assert s.precision == pytest.approx(2 / 5)
    assert s.recall == pytest.approx(2 / 3)
    assert s.median_onset_error_ms == pytest.approx(2.5)
    assert (s.visibility_right, s.visibility_total) == (1, 2)


def test_spasm_scoring_by_overlap_or_onset_and_false_spasms_by_context() -> None:
    from benchmarks.detectors import Detection
    from benchmarks.scoring import score_spasms

    truth = [
        _truth_event("spasm", 10.0, 30.0),
        _truth_event("spasm", 50.0, 56.0),
        _truth_event("contraction", 70.0, 71.5),
    ]
    dets = [
        Detection("spasm", "emg", 10.3, 29.0, 13.1),  # IoU 0.93
        Detection("spasm", "emg", 50.1, 51.0, 53.2),  # IoU low but onset within 200 ms
        Detection("spasm", "emg", 70.2, 74.0, 73.3),  # during a voluntary rep
        Detection("spasm", "emg", 90.0, None, 93.0),  # open at the end, at rest
    ]
    s = score_spasms(truth, dets, duration_s=100.0, spasm_min_s=3.0)
    assert (s.tp, s.fp, s.fn) == (2, 2, 0)
    assert (s.during_reps, s.during_rest) == (1, 1)
    assert s.latencies_s == pytest.approx([3.1, 3.2])
