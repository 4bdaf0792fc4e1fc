"""Accelerometer features at the rates real wearables use: 10 Hz (Ganglion), 50 Hz (Myo), 200 Hz."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.config.detection import NoiseConfig, VisibilityConfig
from processor.stages.accel import AccFeatures


def _rest(fs_hz: float, seconds: float, seed: int) -> np.ndarray:
    """Axes-major ``(3, n)`` resting accelerometer in g: gravity on z plus 0.5 mg noise."""
    n = round(fs_hz * seconds)
    acc = np.random.default_rng(seed).normal(0.0, 0.0005, size=(3, n))
    acc[2] += 1.0
    return acc


def _feed(features: AccFeatures, acc: np.ndarray, chunk: int) -> None:
    for a in range(0, acc.shape[1], chunk):
        features.process_cn(acc[:, a : a + chunk], a)


def _features(fs_hz: float) -> AccFeatures:
    return AccFeatures(VisibilityConfig(), NoiseConfig(), fs_hz, 3, keep_s=30.0)


def test_10hz_accelerometer_sees_movement_but_no_twitch_transient() -> None:
    fs = 10.0
    features = _features(fs)
    assert not features.mmg_usable
    assert features.movement_usable
    acc = _rest(fs, 20.0, seed=1)
    t = np.arange(20) / fs
    acc[0, 100:120] += 0.3 * np.sin(np.pi * t / 2.0)  # a 2 s tilt of ~17 degrees there and back
    _feed(features, acc, 3)
    complete, ratio, moved_mg = features.window(100, 119)
    assert complete
    assert ratio == 0.0  # no MMG evidence at 10 Hz
    assert moved_mg > 100.0  # far above the 50 mg voluntary-movement rule
    _, _, still_mg = features.window(40, 90)
    assert still_mg < 10.0


def test_accelerometer_below_any_band_builds_no_filter() -> None:
    features = _features(0.5)  # 0.5 Hz: even the movement band does not fit
    assert not features.mmg_usable
    assert not features.movement_usable
    _feed(features, _rest(0.5, 20.0, seed=2), 4)
    assert features.window(0, 9) == (True, 0.0, 0.0)


@pytest.mark.parametrize("fs", [50.0, 200.0])
def test_twitch_transient_stands_out_at_50_and_200_hz(fs: float) -> None:
    features = _features(fs)
    assert features.mmg_usable
    acc = _rest(fs, 10.0, seed=3)
    at = round(6.0 * fs)
    t = np.arange(round(0.1 * fs)) / fs
    freq = min(15.0, 0.4 * fs)
    transient = 0.02 * np.sin(2 * np.pi * freq * t) * np.exp(-t / 0.03)  # 20 mg, 10-40 Hz
    acc[1, at : at + t.size] += transient
    _feed(features, acc, 7)
    vis = VisibilityConfig()
    onset = at - round(0.01 * fs)  # the EMG onset precedes the mechanical transient
    last = onset + round(vis.window_end_ms * fs / 1000)
    complete, ratio, _ = features.window(onset + round(vis.window_start_ms * fs / 1000), last)
    assert complete
    assert ratio >= vis.acc_factor
    _, quiet_ratio, _ = features.window(round(3.0 * fs), round(3.0 * fs) + (last - onset))
    assert quiet_ratio < vis.acc_factor


def test_reseed_after_a_gap_keeps_working_without_filters() -> None:
    features = _features(10.0)
    _feed(features, _rest(10.0, 5.0, seed=4), 5)
    features.reseed()
    features.process_cn(_rest(10.0, 1.0, seed=5), 60)
    assert features.end_index == 70


@settings(max_examples=25, deadline=None)
@given(
    fs=st.sampled_from([10.0, 50.0, 200.0]),
    cuts=st.lists(st.integers(1, 1999), unique=True, max_size=25).map(sorted),
)
def test_features_do_not_depend_on_the_chunking(fs: float, cuts: list[int]) -> None:
    """Random cut points give exactly the windows one pass gives (movement and MMG ratio)."""
    acc = _rest(fs, 2000 / fs, seed=7)
    acc[:, 600:640] += 0.05 * np.sin(np.arange(40) * 0.9)  # a transient
    acc[0, 1200:1500] += np.linspace(0.0, 0.3, 300)  # a limb movement
    whole, parts = _features(fs), _features(fs)
    whole.process_cn(acc, 0)
    edges = [0, *cuts, acc.shape[1]]
    for a, b in itertools.pairwise(edges):
        parts.process_cn(acc[:, a:b], a)
    for first in range(0, 2000, 37):
        last = min(first + 60, 1999)
        assert parts.window(first, last) == whole.window(first, last)
