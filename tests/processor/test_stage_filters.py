"""Filter building blocks: bit-exact chunking invariance and the intended frequency response."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from processor.stages.filters import (
    MovingMean,
    RunningCount,
    SosState,
    bandpass_sos,
    first_true,
    last_true,
)

N = 600
CUTS = st.lists(st.integers(1, N - 1), unique=True, max_size=25).map(sorted)


def _pieces(cuts: list[int]) -> list[tuple[int, int]]:
    edges = [0, *cuts, N]
    return list(itertools.pairwise(edges))


def _signal(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(3, N)) + 50.0  # a DC offset exercises the zi seeding


@settings(max_examples=25, deadline=None)
@given(cuts=CUTS)
def test_sos_state_chunked_equals_one_pass(cuts: list[int]) -> None:
    x = _signal()
    sos = bandpass_sos(20.0, 450.0, 1000.0, 4)
    one = SosState(sos, 3).filter(x)
    stage = SosState(sos, 3)
    chunked = np.concatenate([stage.filter(x[:, a:b]) for a, b in _pieces(cuts)], axis=1)
    np.testing.assert_array_equal(chunked, one)


def test_sos_state_matches_scipy_and_has_no_start_transient() -> None:
    x = _signal()
    sos = bandpass_sos(20.0, 450.0, 1000.0, 4)
    ours = SosState(sos, 3).filter(x)
    zi = signal.sosfilt_zi(sos)[:, np.newaxis, :] * x[:, :1][np.newaxis]
    ref, _ = signal.sosfilt(sos, x, axis=1, zi=np.moveaxis(zi, 1, 1))
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    assert abs(ours[:, :5]).max() < 10.0  # the 50 uV offset does not ring through


@settings(max_examples=25, deadline=None)
@given(cuts=CUTS, width=st.integers(1, 30))
def test_moving_mean_chunked_equals_one_pass(cuts: list[int], width: int) -> None:
    x = _signal()
    one = MovingMean(width, 3).filter(x)
    stage = MovingMean(width, 3)
    chunked = np.concatenate([stage.filter(x[:, a:b]) for a, b in _pieces(cuts)], axis=1)
    np.testing.assert_array_equal(chunked, one)
    expected = np.convolve(x[0], np.ones(width) / width)[:N]
    np.testing.assert_allclose(one[0], expected, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(cuts=CUTS, width=st.integers(2, 50))
def test_running_count_chunked_equals_one_pass(cuts: list[int], width: int) -> None:
    flags = np.random.default_rng(1).random((2, N)) < 0.3
    one = RunningCount(width, 2).count(flags)
    stage = RunningCount(width, 2)
    chunked = np.concatenate([stage.count(flags[:, a:b]) for a, b in _pieces(cuts)], axis=1)
    np.testing.assert_array_equal(chunked, one)
    expected = np.convolve(flags[0].astype(int), np.ones(width, dtype=int))[:N]
    np.testing.assert_array_equal(one[0], expected)


def test_bandpass_passes_emg_band_and_rejects_drift() -> None:
    sos = bandpass_sos(20.0, 90.0, 200.0, 4)
    t = np.arange(4000) / 200.0
    slow = SosState(sos, 1).filter(np.sin(2 * np.pi * 1.0 * t)[np.newaxis])
    mid = SosState(sos, 1).filter(np.sin(2 * np.pi * 50.0 * t)[np.newaxis])
    assert np.abs(slow[0, 1000:]).max() < 0.01
    assert np.sqrt(np.mean(mid[0, 1000:] ** 2)) > 0.6  # ~0.707 for a passed sine


@given(st.lists(st.booleans(), max_size=40))
def test_first_and_last_true_match_flatnonzero(flags: list[bool]) -> None:
    mask = np.array(flags, dtype=bool)
    where = np.flatnonzero(mask)
    assert first_true(mask) == (int(where[0]) if where.size else -1)
    assert last_true(mask) == (int(where[-1]) if where.size else -1)
