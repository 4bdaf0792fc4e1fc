"""Mains off its nominal frequency: measured from the first 2 s, notched where it runs."""

from __future__ import annotations

import dataclasses
import itertools
from functools import cache
from typing import Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.config.detection import DetectionConfig
from processor.model import Chunk, Event, StreamInfo
from processor.stages.conditioning import Conditioner
from processor.stages.emg import EmgDetector, TwitchFound
from processor.stages.hum import HumCanceller
from processor.stages.mains import MainsProbe
from processor.stages.pipeline import Pipeline
from tests.processor._signals import inject, rest_uv

FS = 1000.0
HUMMING = StreamInfo("emg", FS, ("emg_0", "emg_1"), "uV")


def _hum(n: int, mains_hz: float, hum_uv: float, fs: float = FS) -> np.ndarray:
    t = np.arange(n) / fs
    fundamental = np.sin(2 * np.pi * mains_hz * t + 1.0)
    return np.asarray(hum_uv * (fundamental + np.sin(2 * np.pi * 3 * mains_hz * t) / 3))


def _probe(x: np.ndarray) -> MainsProbe:
    lines = {50.0: [50.0, 100.0, 150.0], 60.0: [60.0, 120.0, 180.0]}
    probe = MainsProbe(lines, FS, 1, min_ratio=5.0, window_n=x.size)
    probe.add(x[np.newaxis, :], 0)
    return probe


@pytest.mark.parametrize("offset_hz", [-0.2, -0.05, 0.03, 0.1, 0.3])
def test_the_offset_of_a_clear_line_is_measured(offset_hz: float) -> None:
    x = rest_uv(2000, seed=1)[:, 0] + _hum(2000, 60.0 + offset_hz, 30.0)
    mains, keep, offset = _probe(x).decide(None)
    assert mains == 60.0
    assert offset == pytest.approx(offset_hz, abs=0.01)
    assert {3, 5} <= set(np.flatnonzero(keep).tolist())  # 60, 180 Hz: judged at their offsets


def test_on_nominal_or_unsteady_the_notch_stays_on_nominal() -> None:
    assert _probe(rest_uv(2000, seed=1)[:, 0] + _hum(2000, 60.0, 30.0)).decide(None)[2] == 0.0
    # a weak line's phase wanders from part to part: no estimate is trusted
    weak = rest_uv(2000, seed=2)[:, 0] * 2.0 + _hum(2000, 60.1, 0.8)
    mains, _, offset = _probe(weak).decide(60.0)
    assert (mains, offset) == (60.0, 0.0)


Notch = Literal["auto", "50", "60", "off"]


def _found(mains_hz: float, seed: int, notch: Notch = "auto") -> tuple[int, int]:
    n = 20_000
    x = rest_uv(n, seed=200 + seed)[:, :1].copy()
    x[:, 0] += _hum(n, mains_hz, 100.0)
    times = list(range(4000, n - 500, 1300))
    inject(x, 0, times, 30.0, seed=seed)
    cfg = DetectionConfig()
    cfg = dataclasses.replace(cfg, conditioning=dataclasses.replace(cfg.conditioning, notch=notch))
    det = EmgDetector(cfg, FS, 1, "uV")
    records = det.process_cn(np.ascontiguousarray(x.T), 0) + det.flush()
    onsets = [r.twitch.onset_index for r in records if isinstance(r, TwitchFound)]
    hits = sum(any(abs(o - at) <= 25 for o in onsets) for at in times)
    return hits, len(onsets) - hits


@pytest.mark.parametrize(("mains_hz", "notch"), [(60.1, "auto"), (49.8, "auto"), (60.1, "60")])
def test_small_twitches_under_strong_hum_off_nominal_are_found(
    mains_hz: float, notch: Notch
) -> None:
    # a Q 30 notch at 60 Hz left 12 % of 100 µV of hum at 60.1 Hz: no 30 µV twitch was found
    hits, extra = zip(*(_found(mains_hz, seed, notch) for seed in range(2)), strict=True)
    assert sum(extra) == 0
    assert sum(hits) >= 2 * 12 - 2


def _run_canceller(x: np.ndarray, cuts: list[int]) -> np.ndarray:
    hum = HumCanceller([50.0, 150.0], 30.0, FS, 1)
    parts = []
    for a, b in itertools.pairwise(sorted({0, 2000, *cuts, x.size})):
        if a == 2000:  # where the conditioner judges the mains
            hum.retune(50.1 / 50.0)
        parts.append(hum.filter(np.ascontiguousarray(x[np.newaxis, a:b]), a))
    return np.asarray(np.concatenate(parts, axis=1)[0])


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(1, 5999), unique=True, max_size=30))
def test_retuned_notches_give_the_same_whatever_the_chunking(cuts: list[int]) -> None:
    x = rest_uv(6000, seed=4)[:, 0] + _hum(6000, 50.1, 100.0)
    assert np.array_equal(_run_canceller(x, cuts), _run_canceller(x, []))


def test_retuned_notches_carry_on_from_the_nominal_ones() -> None:
    noise = rest_uv(8000, seed=4)[:, 0]
    y = _run_canceller(noise + _hum(8000, 50.1, 100.0), [])
    plain = _run_canceller(noise, [])
    left = np.abs(y - plain)
    assert left[1000:2000].max() > 5.0  # on nominal, the notch leaves some of the hum
    assert left[2000:2100].max() < left[1000:2000].max()  # no jump at the retune
    assert left[2500:].max() < 1.0  # what the nominal notch left fades within 0.5 s
    cold = HumCanceller([50.1, 150.3], 30.0, FS, 1)  # what a new cascade would have done
    started = cold.filter(np.ascontiguousarray((noise + _hum(8000, 50.1, 100.0))[np.newaxis]), 0)
    assert np.abs(started[0, :500] - plain[:500]).max() > 20.0


def test_a_conditioner_notches_the_mains_where_it_runs() -> None:
    cfg = DetectionConfig()
    x = rest_uv(6000, seed=5)[:, 0] + _hum(6000, 59.9, 30.0)
    cond = Conditioner(cfg.conditioning, cfg.quality, FS, 1, unit="uV")
    cond.process_cn(x[np.newaxis, :4000], 0)
    assert cond.mains_hz == 60.0  # the stream's mains, by its nominal name
    assert cond.process_cn(x[np.newaxis, 4000:], 4000).y.shape == (1, 2000)
    assert cond.notch_lines_hz[0] == pytest.approx(59.9, abs=0.01)


@cache
def _humming() -> np.ndarray:
    """12 s, 2 channels at 1 kHz: real rest, 40 µV of hum 0.15 Hz off 50 Hz, twitches."""
    x = rest_uv(12_000, seed=6)
    x += _hum(12_000, 50.15, 40.0)[:, np.newaxis]
    inject(x, 0, list(range(1_500, 11_500, 700)), 80.0, seed=1)
    inject(x, 1, list(range(1_800, 11_500, 900)), 300.0, seed=2)
    return x


def _humming_events(edges: list[int]) -> tuple[Event, ...]:
    x = _humming()
    pipe = Pipeline(DetectionConfig(), session_id="hum")
    out: list[Event] = []
    for a, b in itertools.pairwise(edges):
        out.extend(pipe.process(Chunk(HUMMING, a, x[a:b])))
    return tuple(out + pipe.flush())


@settings(max_examples=15, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 11_999), unique=True, max_size=30).map(sorted),
    live_from=st.integers(0, 11_000),
)
def test_the_pipeline_under_off_nominal_hum_is_chunking_invariant(
    cuts: list[int], live_from: int
) -> None:
    # the mains judged at 2 s, the notches retuned, the hum predicted
    live = range(live_from, min(live_from + 1_000, 12_000), 3)
    edges = sorted({0, *cuts, *live, 12_000})
    whole = _humming_events([0, 12_000])
    assert sum(str(e.type) in {"fasciculation", "fibrillation"} for e in whole) >= 20
    assert _humming_events(edges) == whole
