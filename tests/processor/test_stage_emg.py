"""EMG detector (stages A-C together) and accelerometer features: chunked == one pass."""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.config.detection import DetectionConfig, NoiseConfig, VisibilityConfig
from processor.stages.accel import AccFeatures
from processor.stages.contraction import Burst
from processor.stages.emg import BurstConfirmed, BurstEnded, EmgDetector, EmgRecord, TwitchFound
from processor.stages.twitch import TwitchCandidate
from tests.processor._signals import inject, rest_uv

N = 12_000


@cache
def _emg() -> np.ndarray:
    x = rest_uv(N, seed=21)
    inject(x, 0, [2000, 2033, 5000], 80.0, seed=22)
    rng = np.random.default_rng(23)
    x[7000:11000, 1] += rng.normal(0.0, 60.0, 4000)  # a 4 s burst
    x[9000:9010, 0] = np.inf
    return x


def _records(cuts: list[int], x: np.ndarray | None = None) -> list[EmgRecord]:
    det = EmgDetector(DetectionConfig(), 1000.0, 2, "uV")
    x = _emg() if x is None else x
    edges = [0, *cuts, N]
    out: list[EmgRecord] = []
    for a, b in itertools.pairwise(edges):
        out.extend(det.process_cn(np.ascontiguousarray(x[a:b].T), a))
    return out + det.flush()


def _summary(records: list[EmgRecord]) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for r in records:
        if isinstance(r, TwitchFound):
            rows.append(("twitch", r.twitch, r.decided_index))
        elif isinstance(r, BurstConfirmed):
            rows.append(
                ("confirm", r.burst.onset_index, r.burst.confirm_index, r.envelope_cv, r.rms_factor)
            )
        elif isinstance(r, BurstEnded):
            rows.append(("end", r.burst.onset_index, r.burst.end_index, r.burst.decided_index))
        else:
            rows.append(("quality", r))
    return sorted(rows, key=repr)


def test_emg_detector_finds_twitches_burst_and_bad_samples() -> None:
    rows = _summary(_records([]))
    twitch_onsets = sorted(r[1].onset_index for r in rows if r[0] == "twitch")  # type: ignore[attr-defined]
    # the second of a doublet starts in the first one's tail: its onset may come up to 10 ms early
    tolerance = (5, 10, 5)
    expected = (2000, 2033, 5000)
    assert all(
        abs(a - b) <= tol for a, b, tol in zip(twitch_onsets, expected, tolerance, strict=True)
    )
    assert len(twitch_onsets) == 3
    assert any(r[0] == "confirm" for r in rows)
    assert any(r[0] == "end" and abs(int(r[1]) - 7000) < 100 for r in rows)  # type: ignore[call-overload]
    assert any(r[0] == "quality" for r in rows)


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(1, N - 1), unique=True, max_size=40).map(sorted))
def test_emg_detector_chunked_equals_one_pass(cuts: list[int]) -> None:
    assert _summary(_records(cuts)) == _summary(_records([]))


def test_segments_that_share_a_noise_floor_run_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing reaches the noise floor while every channel contracts or is bad, so those
    refresh segments are run in one call: the records are those of one segment at a time."""
    x = _emg().copy()
    x[7_000:11_000, 0] += 0.5 * x[7_000:11_000, 1]  # the burst, copied onto the other electrode
    calls: list[int] = []
    segment = EmgDetector._segment

    def counted(self: EmgDetector, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        segment(self, *args, **kwargs)

    def one_segment(self: EmgDetector, *args: Any) -> int:  # (masked, bad, start, a, n)
        start, a, n = (int(v) for v in args[2:])
        refresh = self.noise.refresh_n
        return min(n, a + refresh - (start + a) % refresh)

    monkeypatch.setattr(EmgDetector, "_segment", counted)
    cuts = [3_333, 7_050, 7_150, 7_250, 7_350, 8_050]  # some start inside a refresh segment
    merged = _summary(_records(cuts, x))
    merged_calls = len(calls)
    calls.clear()
    monkeypatch.setattr(EmgDetector, "_floor_run_end", one_segment)
    assert merged == _summary(_records(cuts, x))
    assert merged_calls < 0.8 * len(calls)


def _acc_run(cuts: list[int]) -> tuple[tuple[bool, float, float], ...]:
    rng = np.random.default_rng(3)
    acc = rng.normal(0.0, 0.001, size=(3, 2000))
    acc[2, :] += 1.0
    acc[0, 1500:1520] += 0.05 * np.sin(np.arange(20) * 1.3)
    feats = AccFeatures(VisibilityConfig(), NoiseConfig(), 200.0, 3, keep_s=20.0)
    edges = [0, *cuts, 2000]
    for a, b in itertools.pairwise(edges):
        feats.process_cn(acc[:, a:b], a)
    return feats.window(1490, 1530), feats.window(1000, 1100), feats.window(1990, 2100)


def test_acc_features_see_a_transient_and_report_coverage() -> None:
    transient, quiet, beyond = _acc_run([])
    assert transient[0]
    assert transient[1] > 4.0
    assert quiet[0]
    assert quiet[1] < 4.0
    assert quiet[2] < 50.0
    assert not beyond[0]


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(1, 1999), unique=True, max_size=30).map(sorted))
def test_acc_features_chunked_equals_one_pass(cuts: list[int]) -> None:
    assert _acc_run(cuts) == _acc_run([])


def _twitch_and_burst(
    *, twitch_onset: int, burst: tuple[int, int], burst_decided: int, span: int = 30
) -> tuple[EmgDetector, TwitchFound]:
    """A detector holding one ended burst ``(onset, end)`` and one pending twitch."""
    det = EmgDetector(DetectionConfig(), 1000.0, 1, "uV")
    onset, end = burst
    det._recent.add(Burst(0, onset, end, decided_index=burst_decided, opened_index=onset + 50))
    cand = TwitchCandidate(0, twitch_onset, twitch_onset + span, twitch_onset + span, 80.0, 20.0)
    found = TwitchFound(cand, cand.end_index + det._delay_n)
    det._pending.append(found)
    return det, found


def _decided(det: EmgDetector, *steps: int) -> list[EmgRecord]:
    out: list[EmgRecord] = []
    for processed_to in steps:
        det._decide_twitches(processed_to, out)
    return out


def test_a_burst_ending_after_the_twitch_decision_is_still_open_for_it() -> None:
    # a short burst (shorter than a contraction: "a twitch's ringing") whose end is decided a
    # few samples after the twitch: at the twitch's decision sample it was still open, so the
    # twitch is near a contraction however much data the chunk held past that sample
    for late in (0, 3):
        det, found = _twitch_and_burst(twitch_onset=5_000, burst=(4_900, 4_960), burst_decided=0)
        burst = det._recent.bursts[0]
        burst.decided_index = found.decided_index + late
        kept = _decided(det, found.decided_index + 1_000)
        assert (kept == [found]) is (late == 0)


def test_recent_bursts_outlive_the_pending_twitches_that_need_them() -> None:
    before_n = round(DetectionConfig().twitch.near_contraction_before_ms)
    det_whole, found = _twitch_and_burst(
        twitch_onset=5_000 + before_n, burst=(3_000, 5_000), burst_decided=5_100
    )
    whole = _decided(det_whole, found.decided_index + 1)
    det_live, _ = _twitch_and_burst(
        twitch_onset=5_000 + before_n, burst=(3_000, 5_000), burst_decided=5_100
    )
    live = _decided(det_live, found.decided_index - 5, found.decided_index, found.decided_index + 1)
    assert whole == live == []  # the twitch is right after a contraction in both


def test_state_stays_bounded_through_a_long_twitch_free_workout() -> None:
    """A contraction and a cable lurch every second for 3 minutes, no twitch ever pending:
    what the detector remembers about bursts and quality episodes must not grow."""
    from processor.synth.noise import motion_artifact

    rng = np.random.default_rng(0)
    detector = EmgDetector(DetectionConfig(), 1000.0, 2, "uV")
    held = []
    for second in range(180):
        x = rng.normal(0.0, 3.0, (2, 1000))
        x[1, 200:600] += rng.normal(0.0, 80.0, 400)
        lurch = motion_artifact(rng, 1000.0, 400.0)
        x[0, 100 : 100 + lurch.size] += lurch
        detector.process_cn(x, second * 1000)
        held.append(len(detector._recent.bursts) + sum(map(len, detector.conditioner._opened)))
    assert max(held[60:]) <= 4
