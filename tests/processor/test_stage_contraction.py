"""Contraction (burst) detector: onset/end with delay correction, confirmation, chunking."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.config.detection import ContractionConfig, SpasmConfig
from processor.stages.contraction import ContractionDetector, envelope_stats

N = 8000


def _active() -> np.ndarray:
    active = np.zeros((2, N), dtype=bool)
    active[0, 1000:1800] = True  # 0.8 s rep
    active[1, 2000:6500] = True  # 4.5 s burst: confirmed at 3 s
    active[1, 4000:4040] = False  # a short dropout does not end it
    return active


def _run(cuts: list[int]) -> tuple[list[tuple[int, int, int | None]], list[tuple[int, int | None]]]:
    det = ContractionDetector(ContractionConfig(), SpasmConfig(), 100, 1000.0, 2)
    active = _active()
    edges = [0, *cuts, N]
    ended, confirmed = [], []
    for a, b in itertools.pairwise(edges):
        conf, end, _counts = det.process(active[:, a:b], a)
        confirmed += [(c.channel, c.confirm_index) for c in conf]
        ended += [(e.channel, e.onset_index, e.end_index) for e in end]
    return sorted(ended), confirmed


def test_bursts_onset_end_and_confirmation() -> None:
    ended, confirmed = _run([])
    assert ended == [(0, 1000, 1800), (1, 2000, 6500)]
    assert confirmed == [(1, 5000)]


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(1, N - 1), unique=True, max_size=40).map(sorted))
def test_contraction_detector_chunked_equals_one_pass(cuts: list[int]) -> None:
    assert _run(cuts) == _run([])


def test_envelope_stats() -> None:
    steady = [4.0] * 100
    cv, rms = envelope_stats(steady, 5)
    assert cv == 0.0
    assert rms == 2.0
    wobbly = list(np.tile([1.0] * 5 + [9.0] * 5, 10))
    assert envelope_stats(wobbly, 5)[0] > 0.4
