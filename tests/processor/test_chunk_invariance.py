"""The whole pipeline gives identical events whatever the chunking and interleaving.

Three signals cover the decision paths that once depended on the chunk boundary: a Myo-like
8-channel 200 Hz recording in counts (short bursts ending a few samples after a twitch's
decision), a bad signal (NaN, inf, flat, step, a gap and a long loud stretch followed by
twitches) and the 500 Hz EMG + 100 Hz ACC demo. Each is cut at random places with runs of
live-sized 1-4-sample chunks.
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from benchmarks.baselines import myo_gestures
from processor.config.detection import DetectionConfig
from processor.model import Chunk, Event, Gap, StreamInfo
from processor.stages.pipeline import Pipeline
from processor.synth import SynthRecording, synth_session
from processor.synth.noise import motion_artifact
from tests.processor._signals import REAL, inject, rest_uv

EMG = StreamInfo("emg", 500.0, ("emg_0", "emg_1"), "uV")
ACC = StreamInfo("acc", 100.0, ("acc_x", "acc_y", "acc_z"), "g")
MYO = StreamInfo("emg", 200.0, tuple(f"emg_{i}" for i in range(8)), "counts")
BAD = StreamInfo("emg", 1000.0, ("emg_0", "emg_1"), "uV")
BAD_GAP = (31_000, 400)  # (first missing sample, samples missing) of the bad signal
_SLOW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def _recording() -> SynthRecording:
    return synth_session(
        fs_hz=500.0, duration_s=45.0, n_emg=2, acc_fs_hz=100.0, seed=5, scenario="demo"
    )


@cache
def _myo_counts() -> np.ndarray:
    """60 s of the 8-channel consumer scenario at 200 Hz as whole counts (2 uV per count)."""
    rec = synth_session(
        fs_hz=200.0, duration_s=60.0, n_emg=8, seed=1, scenario="consumer_200hz_8ch"
    )
    return np.round(rec.emg_uv / 2.0)


@cache
def _bad_signal() -> np.ndarray:
    """40 s x 2 channels at 1 kHz of real rest noise with twitches and every kind of bad data."""
    x = rest_uv(40_000, seed=3)
    onsets = list(range(1_500, 39_000, 1_100))
    inject(x, 0, onsets, 90.0, seed=1)
    inject(x, 1, [o + 400 for o in onsets], 70.0, seed=2)
    x[4_000:4_010, 0] = np.nan
    x[7_000:10_000, 1] = 0.0  # flat
    x[12_000, 0] += 20_000.0  # a one-sample step inside a burst of its own
    x[14_000:14_300, :] = np.inf
    x[17_000:29_000, 1] *= 30.0  # a long loud stretch, twitches right after it
    lurch = motion_artifact(np.random.default_rng(4), 1000.0, 400.0)
    x[35_550 : 35_550 + lurch.size, 0] += lurch  # a cable lurch starting by a twitch
    return x


def _cut(n: int, cuts: list[int], tiny_from: int, tiny_len: int, sizes: list[int]) -> list[int]:
    """Random cut points, plus a stretch of live-sized chunks cycling through ``sizes``."""
    edges = {0, n, *(c for c in cuts if 0 < c < n)}
    at, step = tiny_from, itertools.cycle(sizes or [2])
    while at < min(n, tiny_from + tiny_len):
        edges.add(at)
        at += next(step)
    return sorted(edges)


def _run(items: list[Chunk | Gap]) -> tuple[Event, ...]:
    pipe = Pipeline(DetectionConfig(), session_id="inv")
    out: list[Event] = []
    for item in items:
        out.extend(pipe.process(item))
    return tuple(out + pipe.flush())


def _chunks(info: StreamInfo, data: np.ndarray, edges: list[int]) -> list[Chunk | Gap]:
    return [Chunk(info, a, data[a:b]) for a, b in itertools.pairwise(edges)]


def _demo_items(edges_emg: list[int], edges_acc: list[int], tie_seed: int) -> list[Chunk | Gap]:
    rec = _recording()
    assert rec.acc_g is not None
    tie = np.random.default_rng(tie_seed)
    items = [
        (a / EMG.fs_hz, tie.random(), Chunk(EMG, a, rec.emg_uv[a:b]))
        for a, b in itertools.pairwise(edges_emg)
    ]
    items += [
        (a / ACC.fs_hz, tie.random(), Chunk(ACC, a, rec.acc_g[a:b]))
        for a, b in itertools.pairwise(edges_acc)
    ]
    items.sort(key=lambda item: (item[0], item[1]))  # time order, random order among ties
    return [chunk for *_, chunk in items]


def _bad_items(edges: list[int]) -> list[Chunk | Gap]:
    """The bad signal cut at ``edges`` with its gap: no chunk crosses the missing samples."""
    x = _bad_signal()
    gap_at, missing = BAD_GAP
    bounds = sorted({*edges, gap_at, gap_at + missing})
    items: list[Chunk | Gap] = []
    for a, b in itertools.pairwise(bounds):
        if a == gap_at:
            items.append(Gap("emg", gap_at, missing, "test"))
        elif not gap_at < a < gap_at + missing:
            items.append(Chunk(BAD, a, x[a:b]))
    return items


@cache
def _reference() -> tuple[Event, ...]:
    rec = _recording()
    assert rec.acc_g is not None
    return _run(_demo_items([0, rec.emg_uv.shape[0]], [0, rec.acc_g.shape[0]], 0))


@cache
def _myo_reference() -> tuple[Event, ...]:
    x = _myo_counts()
    return _run(_chunks(MYO, x, [0, x.shape[0]]))


@cache
def _bad_reference() -> tuple[Event, ...]:
    return _run(_bad_items([0, _bad_signal().shape[0]]))


def test_reference_run_finds_every_class() -> None:
    kinds = {str(e.type) for e in _reference()}
    assert {"fasciculation", "fibrillation", "spasm", "contraction"} <= kinds


def test_myo_and_bad_references_exercise_their_paths() -> None:
    myo = {str(e.type) for e in _myo_reference()}
    assert {"fasciculation", "contraction"} <= myo
    assert all(e.extras["unit"] == "counts" for e in _myo_reference() if "peak_uv" in e.extras)
    bad = _bad_reference()
    flags = {
        str(flag)
        for e in bad
        if str(e.type) == "signal_quality" and isinstance(e.extras["quality"], list)
        for flag in e.extras["quality"]
    }
    assert {"nonfinite", "flat", "step", "gap", "motion"} <= flags
    after_loud = [e for e in bad if e.channel == "emg_1" and 29.5 < e.start_s < 31.0]
    assert any(str(e.type) in {"fasciculation", "fibrillation"} for e in after_loud)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    emg_cuts=st.lists(st.integers(1, 22_499), max_size=40),
    acc_cuts=st.lists(st.integers(1, 4_499), max_size=40),
    tiny_from=st.integers(0, 22_000),
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=6),
    tie_seed=st.integers(0, 2**16),
)
def test_pipeline_is_chunking_and_interleaving_invariant(
    emg_cuts: list[int], acc_cuts: list[int], tiny_from: int, sizes: list[int], tie_seed: int
) -> None:
    rec = _recording()
    assert rec.acc_g is not None
    edges_emg = _cut(rec.emg_uv.shape[0], emg_cuts, tiny_from, 400, sizes)
    edges_acc = _cut(rec.acc_g.shape[0], acc_cuts, tiny_from // 5, 80, sizes)
    assert _run(_demo_items(edges_emg, edges_acc, tie_seed)) == _reference()


@_SLOW
@given(
    cuts=st.lists(st.integers(1, 11_999), max_size=30),
    tiny_from=st.integers(0, 11_000),
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=6),
)
@example(cuts=[], tiny_from=0, sizes=[2])  # 2-sample chunks throughout (a live Myo)
@example(cuts=list(range(333, 12_000, 333)), tiny_from=0, sizes=[])
def test_myo_counts_are_chunking_invariant(
    cuts: list[int], tiny_from: int, sizes: list[int]
) -> None:
    x = _myo_counts()
    tiny_len = x.shape[0] if sizes == [2] and not cuts else 3_000
    edges = _cut(x.shape[0], cuts, tiny_from, tiny_len if sizes else 0, sizes)
    assert _run(_chunks(MYO, x, edges)) == _myo_reference()


@_SLOW
@given(
    cuts=st.lists(st.integers(1, 39_999), max_size=30),
    tiny_from=st.integers(0, 39_000),
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=6),
)
@example(cuts=list(range(7, 40_000, 7)), tiny_from=0, sizes=[])
@example(cuts=[], tiny_from=11_000, sizes=[1, 3])  # the step and the burst around it
def test_bad_signal_is_chunking_invariant(
    cuts: list[int], tiny_from: int, sizes: list[int]
) -> None:
    edges = _cut(_bad_signal().shape[0], cuts, tiny_from, 2_000 if sizes else 0, sizes)
    assert _run(_bad_items(edges)) == _bad_reference()


@pytest.mark.parametrize("size", [2, 333])
def test_real_quiet_myo_recording_is_chunking_invariant(size: int) -> None:
    """The UCI gestures Myo file (outside the repository; skipped when absent), in counts."""
    if not (REAL / "uci_gestures_myo").is_dir():
        pytest.skip(f"real Myo recording not found under {REAL}")
    x = np.ascontiguousarray(myo_gestures()[0], dtype=np.float64)
    whole = _run(_chunks(MYO, x, [0, x.shape[0]]))
    assert len(whole) > 100
    assert _run(_chunks(MYO, x, [*range(0, x.shape[0], size), x.shape[0]])) == whole


def test_events_come_out_in_detection_order() -> None:
    for events in (_reference(), _myo_reference(), _bad_reference()):
        keys = [(e.detected_at_s, e.channel) for e in events]
        assert keys == sorted(keys)
