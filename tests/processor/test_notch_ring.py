"""Mains hum removal after a big twitch: no ring taken for twitches or for a contraction."""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from processor.config.detection import DetectionConfig, TwitchConfig
from processor.stages.conditioning import Conditioner
from processor.stages.emg import EmgDetector, TwitchFound
from processor.stages.hum import HumCanceller
from processor.stages.twitch import TwitchDetector
from tests.processor._signals import inject, rest_uv, triphasic

FS = 1000.0
N = 9000


def _mains_rest(seed: int, hum_uv: float = 10.0) -> np.ndarray:
    x = rest_uv(N, seed=seed)[:, :1].copy()
    t = np.arange(N) / FS
    x[:, 0] += hum_uv * np.sin(2 * np.pi * 60.0 * t) + hum_uv / 3 * np.sin(2 * np.pi * 180.0 * t)
    return x


Notch = Literal["auto", "50", "60", "off"]


def _onsets(x: np.ndarray, notch: Notch = "auto") -> list[int]:
    cfg = DetectionConfig()
    cfg = dataclasses.replace(cfg, conditioning=dataclasses.replace(cfg.conditioning, notch=notch))
    det = EmgDetector(cfg, FS, 1, "uV")
    records = det.process_cn(np.ascontiguousarray(x.T), 0) + det.flush()
    assert det.conditioner.mains_hz == (0.0 if notch == "off" else 60.0)
    return sorted(r.twitch.onset_index for r in records if isinstance(r, TwitchFound))


def _plain_notch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The notch of sessions 1-5: resonators fed everything, no ring guard."""
    monkeypatch.setattr(HumCanceller, "_levels", lambda _self, _band, _start: None)
    monkeypatch.setattr(Conditioner, "notch_ring_n", lambda _self, _index: 0.0)


@pytest.mark.parametrize("notch", ["auto", "60"])
@pytest.mark.parametrize("hum_uv", [10.0, 30.0, 100.0])
@pytest.mark.parametrize("seed", range(4))
def test_the_ring_after_a_big_twitch_is_no_twitch(seed: int, hum_uv: float, notch: Notch) -> None:
    x = _mains_rest(40 + seed, hum_uv)
    inject(x, 0, [3000, 6000], 300.0, seed=seed)
    found = _onsets(x, notch)
    assert len(found) == 2, found
    assert all(abs(a - b) <= 5 for a, b in zip(found, [3000, 6000], strict=True))


def _pairs_found(seeds: range, hum_uv: float = 10.0, notch: Notch = "auto") -> list[int]:
    found = []
    for seed in seeds:
        # 100 ms: two of the three blocks a median of three would predict the hum from
        for gap in (100, 150, 300):
            x = _mains_rest(50 + seed, hum_uv)
            inject(x, 0, [3000, 6000], 300.0, seed=1 + seed)
            inject(x, 0, [3000 + gap, 6000 + gap], 300.0, seed=2 + seed)
            found.append(len(_onsets(x, notch)))
    return found


@pytest.mark.parametrize("notch", ["auto", "60"])
@pytest.mark.parametrize("hum_uv", [10.0, 100.0])
def test_big_twitches_close_together_under_hum_are_all_found(hum_uv: float, notch: Notch) -> None:
    # a ringing notch keeps the duty window up: the pairs became a "contraction" and vanished;
    # a notch set in the config judges the hum's strength too
    assert _pairs_found(range(4), hum_uv, notch) == [4] * 12


def test_strong_hum_at_a_rate_without_whole_periods_in_100_ms_is_predicted_too() -> None:
    # 1024 Hz: 100 ms holds 102.4 samples, 6.0 periods of 60 Hz; 250 ms holds 15 in 256
    fs = 1024.0
    found = []
    for seed in range(4):
        for gap_s in (0.1, 0.3):
            x = signal.resample_poly(_mains_rest(50 + seed, 0.0)[:, 0], 128, 125)[:, np.newaxis]
            t = np.arange(x.shape[0]) / fs
            x[:, 0] += 100.0 * np.sin(2 * np.pi * 60.0 * t) + 33.0 * np.sin(2 * np.pi * 180 * t)
            times = [3.0, 6.0, 3.0 + gap_s, 6.0 + gap_s]
            for k, at in enumerate(times):
                wave = triphasic(2.0 + k / 2, fs, 300.0)
                x[round(at * fs) : round(at * fs) + wave.size, 0] += wave
            det = EmgDetector(DetectionConfig(), fs, 1, "uV")
            records = det.process_cn(np.ascontiguousarray(x.T), 0) + det.flush()
            onsets = [r.twitch.onset_index / fs for r in records if isinstance(r, TwitchFound)]
            assert len(onsets) <= 4
            found.append(sum(any(abs(o - at) <= 0.025 for o in onsets) for at in times))
    assert found == [4] * 8


def _train_found(seed: int, hum_uv: float, notch: Notch) -> int:
    """Twitches found of an irregular 8-14 Hz train of six (300 and 150 µV alternately)."""
    rng = np.random.default_rng(seed)
    times = [int(at) for at in 3000 + np.cumsum(np.r_[0, rng.integers(70, 131, size=5)])]
    x = _mains_rest(70 + seed, hum_uv)
    for k, at in enumerate(times):
        inject(x, 0, [at], 150.0 if k % 2 else 300.0, seed=10 * seed + k)
    onsets = _onsets(x, notch)
    assert len(onsets) <= len(times)
    return sum(any(abs(o - at) <= 25 for o in onsets) for at in times)


@pytest.mark.parametrize("notch", ["auto", "60"])
def test_a_twitch_train_under_strong_hum_is_found_as_without_hum(notch: Notch) -> None:
    # the hum is predicted from earlier samples, which hold the train's earlier twitches
    without = sum(_train_found(seed, 0.0, "60") for seed in range(8))
    assert without >= 40
    assert sum(_train_found(seed, 100.0, notch) for seed in range(8)) >= without - 2


def test_a_plain_notch_loses_twitches_and_finds_rings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests above would catch a ringing notch."""
    _plain_notch(monkeypatch)
    assert sum(_pairs_found(range(4))) < 4 * 12 - 4
    extra = 0
    for seed in range(4):
        x = _mains_rest(40 + seed)
        inject(x, 0, [3000, 6000], 300.0, seed=seed)
        extra += len(_onsets(x)) - 2
    assert extra > 0


def _ringing_envelope() -> tuple[np.ndarray, np.ndarray]:
    """A big twitch's energy, the notch's ring after it (5 % of its peak) and a real twitch."""
    rng = np.random.default_rng(3)
    e = rng.uniform(0.5, 1.0, size=(1, 1000))
    e[0, 100:112] += 2000.0 * np.hanning(14)[1:-1]
    age = np.arange(1000 - 112)
    e[0, 112:] += 100.0 * np.exp(-age / 80.0) * np.sin(np.pi * age / 8.3) ** 2
    e[0, 330:342] += 300.0 * np.hanning(14)[1:-1]
    y = np.sqrt(e) * np.sign(np.sin(np.arange(1000) * 0.9)) * 15.0
    return y, e


def _envelope_onsets(ring_tau_n: float | None, cuts: list[int]) -> list[int]:
    y, e = _ringing_envelope()
    thresholds = (np.full(1, 12.0), np.full(1, 4.0), np.full(1, 2.0))
    ring_n = None if ring_tau_n is None else (lambda _index: ring_tau_n)
    det = TwitchDetector(TwitchConfig(), FS, 1, "uV", ring_n)
    found = []
    for a, b in itertools.pairwise([0, *cuts, 1000]):
        hot = np.asarray((e[:, a:b] > 12.0).any(axis=1))
        found += det.process(y[:, a:b], e[:, a:b], a, thresholds, hot)
    return [c.onset_index for c in found]


def test_a_twitch_standing_out_of_the_ring_is_found_and_the_ring_is_not() -> None:
    assert len(_envelope_onsets(None, [])) > 2  # unguarded, the ring crosses on its own
    found = _envelope_onsets(80.0, [])
    assert len(found) == 2
    assert abs(found[0] - 100) <= 3
    assert abs(found[1] - 330) <= 3


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(1, 999), unique=True, max_size=30).map(sorted))
def test_the_ring_guard_chunked_equals_one_pass(cuts: list[int]) -> None:
    assert _envelope_onsets(80.0, cuts) == _envelope_onsets(80.0, [])


def test_ring_time_constant_follows_the_notch_running() -> None:
    cfg = DetectionConfig()

    def conditioner(notch: Notch) -> Conditioner:
        cond = dataclasses.replace(cfg.conditioning, notch=notch)
        return Conditioner(cond, cfg.quality, FS, 1, unit="uV")

    tau_50 = FS * cfg.conditioning.notch_q / (2 * math.pi * 50.0)
    assert conditioner("off").notch_ring_n(0) == 0.0
    assert conditioner("50").notch_ring_n(0) == pytest.approx(tau_50)
    auto = conditioner("auto")
    assert auto.notch_ring_n(10) == pytest.approx(tau_50)  # undecided: every candidate runs
    auto.process_cn(np.ascontiguousarray(_mains_rest(60).T[:, :4000]), 0)
    assert auto.notch_ring_n(1999) == pytest.approx(tau_50)
    assert auto.notch_ring_n(2000) == pytest.approx(tau_50 * 50.0 / 60.0)
    quiet = conditioner("auto")
    quiet.process_cn(np.ascontiguousarray(rest_uv(4000, seed=3).T[:1]), 0)
    assert quiet.mains_hz == 0.0
    assert quiet.notch_ring_n(3000) == 0.0
