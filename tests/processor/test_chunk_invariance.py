"""The whole pipeline gives identical events whatever the chunking and interleaving."""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.config.detection import DetectionConfig
from processor.model import Chunk, Event, StreamInfo
from processor.stages.pipeline import Pipeline
from processor.synth import SynthRecording, synth_session

EMG = StreamInfo("emg", 500.0, ("emg_0", "emg_1"), "uV")
ACC = StreamInfo("acc", 100.0, ("acc_x", "acc_y", "acc_z"), "g")


@cache
def _recording() -> SynthRecording:
    return synth_session(
        fs_hz=500.0, duration_s=45.0, n_emg=2, acc_fs_hz=100.0, seed=5, scenario="demo"
    )


def _cut(n: int, cuts: list[int], tiny_from: int, tiny_len: int) -> list[tuple[int, int]]:
    """Random cut points, plus a stretch of live-sized 2-sample chunks."""
    edges = {0, n, *(c for c in cuts if 0 < c < n)}
    edges |= set(range(tiny_from, min(n, tiny_from + tiny_len), 2))
    ordered = sorted(edges)
    return list(itertools.pairwise(ordered))


def _items(
    pieces_emg: list[tuple[int, int]], pieces_acc: list[tuple[int, int]], tie_seed: int
) -> list[Chunk]:
    rec = _recording()
    assert rec.acc_g is not None
    tie = np.random.default_rng(tie_seed)
    items = [(a / EMG.fs_hz, tie.random(), Chunk(EMG, a, rec.emg_uv[a:b])) for a, b in pieces_emg]
    items += [(a / ACC.fs_hz, tie.random(), Chunk(ACC, a, rec.acc_g[a:b])) for a, b in pieces_acc]
    items.sort(key=lambda item: (item[0], item[1]))  # time order, random order among ties
    return [chunk for *_, chunk in items]


def _run(items: list[Chunk]) -> list[Event]:
    pipe = Pipeline(DetectionConfig(), session_id="inv")
    out: list[Event] = []
    for item in items:
        out.extend(pipe.process(item))
    return out + pipe.flush()


@cache
def _reference() -> tuple[Event, ...]:
    rec = _recording()
    assert rec.acc_g is not None
    whole = [(0, rec.emg_uv.shape[0])]
    return tuple(_run(_items(whole, [(0, rec.acc_g.shape[0])], 0)))


def test_reference_run_finds_every_class() -> None:
    kinds = {str(e.type) for e in _reference()}
    assert {"fasciculation", "fibrillation", "spasm", "contraction"} <= kinds


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    emg_cuts=st.lists(st.integers(1, 22_499), max_size=40),
    acc_cuts=st.lists(st.integers(1, 4_499), max_size=40),
    tiny_from=st.integers(0, 22_000),
    tie_seed=st.integers(0, 2**16),
)
def test_pipeline_is_chunking_and_interleaving_invariant(
    emg_cuts: list[int], acc_cuts: list[int], tiny_from: int, tie_seed: int
) -> None:
    rec = _recording()
    assert rec.acc_g is not None
    pieces_emg = _cut(rec.emg_uv.shape[0], emg_cuts, tiny_from, 400)
    pieces_acc = _cut(rec.acc_g.shape[0], acc_cuts, tiny_from // 5, 80)
    events = _run(_items(pieces_emg, pieces_acc, tie_seed))
    assert tuple(events) == _reference()


def test_events_come_out_in_detection_order() -> None:
    events = _reference()
    keys = [(e.detected_at_s, e.channel) for e in events]
    assert keys == sorted(keys)
