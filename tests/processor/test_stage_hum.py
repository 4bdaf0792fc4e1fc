"""Hum canceller: removes the hum, bounds the ring after a twitch, chunked == one pass."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from processor.stages import hum as hum_module
from processor.stages.filters import SosState
from processor.stages.hum import HumCanceller, hum_lag_n, mains_lines

FS = 1000.0
N = 6000
SPIKE_AT = 4000


def _noise_and_hum(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 2.0, size=(2, N))
    t = np.arange(N) / FS
    hum = 10.0 * np.sin(2 * np.pi * 50.0 * t) + 3.0 * np.sin(2 * np.pi * 150.0 * t + 1.0)
    return noise, noise + hum


def _spike() -> np.ndarray:
    x = np.zeros(N)
    x[SPIKE_AT : SPIKE_AT + 9] = 150.0 * np.array([0.2, 0.6, 1.0, 0.4, -0.5, -1.0, -0.6, -0.2, 0.1])
    return x


def _run(x: np.ndarray, cuts: list[int], start: int = 0, *, predict: bool = False) -> np.ndarray:
    hum = HumCanceller([50.0, 150.0], 30.0, FS, x.shape[0])
    if predict:
        hum.follow(50.0, np.ones(x.shape[0], dtype=bool))
    parts = [
        hum.filter(np.ascontiguousarray(x[:, a:b]), start + a)
        for a, b in itertools.pairwise([0, *cuts, x.shape[1]])
    ]
    return np.concatenate(parts, axis=1)


def test_lines_are_the_harmonics_below_the_top_and_nyquist() -> None:
    assert mains_lines(50.0, 1000.0, 450.0) == [50.0 * k for k in range(1, 10)]
    assert mains_lines(50.0, 1000.0, 250.0) == [50.0, 100.0, 150.0, 200.0, 250.0]
    assert mains_lines(60.0, 200.0, 450.0) == [60.0]  # 120 Hz is above 0.49 fs


def test_the_hum_is_predicted_over_whole_mains_periods() -> None:
    assert hum_lag_n(50.0, 1000.0) == hum_lag_n(60.0, 1000.0) == 100
    assert hum_lag_n(50.0, 200.0) == hum_lag_n(60.0, 200.0) == 20
    assert hum_lag_n(60.0, 1024.0) == 256  # 15 periods: 100 ms is 102.4 samples
    assert hum_lag_n(50.0, 1024.0) == 471  # 23 periods of 20.48 samples, 0.04 samples off
    assert hum_lag_n(60.0, 999.5) == 0  # none within 500 ms: clipped around zero


def test_mains_and_harmonics_are_removed() -> None:
    t = np.arange(5000) / FS
    hum = np.sin(2 * np.pi * 50 * t) + np.sin(2 * np.pi * 150 * t)
    out = HumCanceller(mains_lines(50.0, FS, 250.0), 30.0, FS, 1).filter(hum[np.newaxis], 0)
    assert np.abs(out[0, 3000:]).max() < 0.05


def _plain(x: np.ndarray) -> np.ndarray:
    notch = np.concatenate(
        [np.concatenate(signal.iirnotch(f, 30.0, fs=FS)).reshape(1, 6) for f in (50.0, 150.0)]
    )
    return SosState(notch, x.shape[0]).filter(x)


def test_with_nothing_clipped_the_output_is_the_notches_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hum_module, "_CLIP_X_RMS", 1e9)
    _, x = _noise_and_hum()
    x[0] += _spike()
    assert np.array_equal(_run(x, [1234, 3001]), _plain(x))


def test_the_hum_is_removed_and_the_noise_kept() -> None:
    noise, x = _noise_and_hum()
    out = _run(x, [])
    left = np.sqrt(np.mean(out[:, 1500:] ** 2))
    rest = np.sqrt(np.mean(noise[:, 1500:] ** 2))
    assert 0.95 * rest < left < 1.02 * rest
    assert np.sqrt(np.mean(x[:, 1500:] ** 2)) > 3 * rest  # there was hum to remove


def test_a_twitch_hardly_rings() -> None:
    _, x = _noise_and_hum()
    with_spike = x.copy()
    with_spike[0] += _spike()
    ring = _run(with_spike, [])[0] - _run(x, [])[0]  # what the spike changed
    plain_ring = _plain(_spike()[np.newaxis])[0]  # linear: the spike's own
    after = slice(SPIKE_AT + 60, SPIKE_AT + 300)
    assert np.abs(plain_ring[after]).max() > 3.0  # the plain notch rings above the noise
    assert np.abs(ring[after]).max() < 0.25 * np.abs(plain_ring[after]).max()
    assert np.abs(ring[SPIKE_AT : SPIKE_AT + 9]).max() > 100.0  # the twitch itself passes


@settings(max_examples=40, deadline=None)
@given(
    cuts=st.lists(st.integers(1, N - 1), unique=True, max_size=40).map(sorted),
    start=st.sampled_from([0, 37, 100]),
    predict=st.booleans(),
)
def test_hum_canceller_chunked_equals_one_pass(cuts: list[int], start: int, predict: bool) -> None:
    _, x = _noise_and_hum(2)
    x[1] += _spike()
    assert np.array_equal(
        _run(x, cuts, start, predict=predict), _run(x, [], start, predict=predict)
    )


def test_strong_hum_predicted_from_the_last_blocks_hardly_rings() -> None:
    noise, _ = _noise_and_hum()
    t = np.arange(N) / FS
    x = noise + 100.0 * np.sin(2 * np.pi * 50.0 * t) + 30.0 * np.sin(2 * np.pi * 150.0 * t)
    with_spike = x.copy()
    with_spike[0] += _spike()
    after = slice(SPIKE_AT + 60, SPIKE_AT + 300)
    ring = {}
    for predict in (False, True):
        changed = _run(with_spike, [], predict=predict)[0] - _run(x, [], predict=predict)[0]
        ring[predict] = np.abs(changed[after]).max()
    plain = np.abs(_plain(_spike()[np.newaxis])[0][after]).max()
    assert ring[False] > 0.5 * plain  # clipped around zero, the clip level holds the hum
    assert ring[True] < 0.25 * plain
    left = _run(x, [], predict=True)[:, 1500:] - noise[:, 1500:]
    assert np.sqrt(np.mean(left**2)) < 0.3  # and the hum is still removed


def test_the_kept_mains_takes_over_with_its_own_state() -> None:
    """Dropping the other mains' sections from a cascade would change the kept ones' input."""
    _, x = _noise_and_hum(3)
    both = HumCanceller([50.0, 150.0, 60.0, 180.0], 30.0, FS, 2, families=[2, 2])
    alone = HumCanceller([60.0, 180.0], 30.0, FS, 2)
    both.filter(x[:, :2000], 0)
    alone.filter(x[:, :2000], 0)
    both.keep(np.array([False, False, True, False]))
    alone.keep(np.array([True, False]))
    assert both.lines_hz == alone.lines_hz == (60.0,)
    assert np.array_equal(both.filter(x[:, 2000:], 2000), alone.filter(x[:, 2000:], 2000))


def test_keep_drops_the_other_lines() -> None:
    hum = HumCanceller([50.0, 60.0, 150.0, 180.0], 30.0, FS, 1)
    hum.keep(np.array([False, True, False, True]))
    assert hum.lines_hz == (60.0, 180.0)
    hum.keep(np.array([False, False]))
    x = np.ones((1, 10))
    assert np.array_equal(hum.filter(x, 0), x)


def _stepping_hum(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noise alone, and with 60 Hz hum that jumps from 5 to 40 µV at 5 s."""
    noise = np.random.default_rng(seed).normal(0.0, 2.0, size=(1, 9000))
    t = np.arange(9000) / FS
    return noise, noise + np.where(t < 5.0, 5.0, 40.0) * np.sin(2 * np.pi * 60.0 * t)


def _run_following(x: np.ndarray, cuts: list[int], *, follow: bool = True) -> np.ndarray:
    hum = HumCanceller([60.0], 30.0, FS, 1)
    if follow:
        hum.follow(60.0, np.zeros(1, dtype=bool))
    parts = [
        hum.filter(np.ascontiguousarray(x[:, a:b]), a)
        for a, b in itertools.pairwise([0, *cuts, x.shape[1]])
    ]
    return np.concatenate(parts, axis=1)


def test_a_sudden_rise_of_hum_is_notched_at_once() -> None:
    # the clip level follows the usual RMS over 1 s: until then the rise was clipped off and
    # added back un-notched (21 µV RMS left for 0.5 s); where the clipped-off part repeats
    # every period it is hum, and the notch takes it whole (its own transient is left)
    noise, x = _stepping_hum()
    clean = _run_following(noise, [])[0]
    rms = {}
    for follow in (False, True):
        left = _run_following(x, [], follow=follow)[0] - clean
        rms[follow] = float(np.sqrt(np.mean(left[5200:5500] ** 2)))
    assert rms[False] > 15.0
    assert rms[True] < 0.4 * rms[False]


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(1, 8999), unique=True, max_size=30).map(sorted))
def test_following_the_period_chunked_equals_one_pass(cuts: list[int]) -> None:
    _, x = _stepping_hum(1)
    x[0, 7000:7009] += _spike()[SPIKE_AT : SPIKE_AT + 9]
    assert np.array_equal(_run_following(x, cuts), _run_following(x, []))
