"""Conditioning stage: chunking invariance, mains auto-selection, quality flags."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.config.detection import ConditioningConfig, QualityConfig
from processor.model import Chunk, StreamInfo
from processor.stages.conditioning import Conditioner, QualityFlag

FS = 1000.0
N = 4000
INFO = StreamInfo("emg", FS, ("emg_a", "emg_b"), "uV")


def _make(**cond: object) -> Conditioner:
    cfg = replace(ConditioningConfig(), mains_detect_ms=500.0, **cond)  # type: ignore[arg-type]
    return Conditioner(cfg, QualityConfig(), FS, 2, unit="uV")


def _noisy(seed: int = 0, mains_hz: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 3.0, size=(N, 2)) + 100.0
    t = np.arange(N) / FS
    if mains_hz:
        x += 20.0 * np.sin(2 * np.pi * mains_hz * t)[:, np.newaxis]
    x[1500:1510, 0] = np.nan
    x[2500, 1] += 20_000.0
    return x


Result = tuple[np.ndarray, np.ndarray, list[QualityFlag]]


def _run(stage: Conditioner, x: np.ndarray, cuts: list[int]) -> Result:
    edges = [0, *cuts, N]
    ys: list[np.ndarray] = []
    bads: list[np.ndarray] = []
    flags: list[QualityFlag] = []
    for a, b in itertools.pairwise(edges):
        out = stage.process_cn(np.ascontiguousarray(x[a:b].T), a)
        ys.append(out.y)
        bads.append(out.bad)
        flags.extend(out.flags)
    flags.extend(stage.flush())
    return np.concatenate(ys, axis=1), np.concatenate(bads, axis=1), flags


@settings(max_examples=25, deadline=None)
@given(
    cuts=st.lists(st.integers(1, N - 1), unique=True, max_size=30).map(sorted),
    notch=st.sampled_from(["auto", "60"]),
)
def test_conditioner_chunked_equals_one_pass(cuts: list[int], notch: str) -> None:
    # 20 µV of hum on 3 µV of noise: predicted from the samples before (hum.py), set or auto
    x = _noisy(mains_hz=60.0)
    ref = _run(_make(notch=notch), x, [])
    got = _run(_make(notch=notch), x, cuts)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    assert got[2] == ref[2]


def test_mains_frequency_is_chosen_from_the_signal() -> None:
    for hz, expected in ((50.0, 50.0), (60.0, 60.0), (0.0, 0.0)):
        stage = _make()
        y, _bad, _flags = _run(stage, _noisy(mains_hz=hz), [])
        assert stage.mains_hz == expected
        assert np.std(y[0, 3000:]) < 4.5  # the 20 uV hum is gone, noise (3 uV) remains


def test_only_the_mains_harmonics_present_are_notched() -> None:
    t = np.arange(N) / FS
    rng = np.random.default_rng(1)
    hum = 40.0 * np.sin(2 * np.pi * 60.0 * t) + 8.0 * np.sin(2 * np.pi * 300.0 * t)
    x = rng.normal(0.0, 3.0, size=(N, 2)) + hum[:, np.newaxis]
    stage = _make()
    y, _bad, _flags = _run(stage, x, [])
    assert stage.mains_hz == 60.0
    assert len(stage.notch_lines_hz) == 2  # 60 Hz and its 5th harmonic; 120, 180, 240 are absent
    assert np.std(y[0, 3000:]) < 3.5  # both lines are gone, the 3 uV noise remains
    full = _make(notch="60")
    _run(full, x, [])
    assert len(full.notch_lines_hz) == 7  # forced: every harmonic up to the band's 450 Hz


def test_a_stream_too_slow_for_any_mains_line_decides_no_notch() -> None:
    # at 100 Hz both 50 and 60 Hz lie above the band: nothing to probe, nothing to notch
    stage = Conditioner(
        replace(ConditioningConfig(), mains_detect_ms=500.0), QualityConfig(), 100.0, 1, unit="uV"
    )
    x = np.random.default_rng(2).normal(0.0, 3.0, size=(1, 300))
    for a in range(0, 300, 7):
        stage.process_cn(x[:, a : a + 7], a)
    assert stage.mains_hz == 0.0
    assert len(stage.notch_lines_hz) == 0


def test_forced_notch_and_off() -> None:
    assert _make(notch="60").mains_hz == 60.0
    assert _make(notch="off").mains_hz == 0.0


def test_quality_flags_open_and_close_with_blanking() -> None:
    _y, bad, flags = _run(_make(), _noisy(), [])
    assert QualityFlag(0, "nonfinite", 1500, None) in flags
    assert QualityFlag(0, "nonfinite", 1500, 1510, 1810) in flags  # seen closed 300 ms on
    assert QualityFlag(1, "step", 2500, None) in flags
    assert bad[0, 1500:1810].all()
    assert not bad[0, 1811:1900].any()
    assert not np.isnan(_y).any()


def test_flat_channel_is_flagged() -> None:
    x = _noisy()
    x[3000:, 1] = 7.0
    _y, bad, flags = _run(_make(), x, [])
    assert any(f.channel == 1 and f.flag == "flat" for f in flags)
    assert bad[1, -100:].all()


def test_public_process_keeps_sample_layout() -> None:
    out = _make().process(Chunk(INFO, 0, _noisy()[:100]))
    assert out.data.shape == (100, 2)
