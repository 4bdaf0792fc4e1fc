from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import signal

from processor.synth import (
    CONTRACTION,
    FASCICULATION,
    FIBRILLATION,
    SCENARIOS,
    SPASM,
    TWITCH_TYPES,
    synth_session,
    tile_baseline,
)

FS = 1000.0


def _quiet(name: str, **changes: object):
    """The named scenario without mains or synthetic noise, so injected events stand alone."""
    return dataclasses.replace(SCENARIOS[name], mains_uv=0.0, **changes)  # type: ignore[arg-type]


def _movement_mg(acc: np.ndarray, fs: float) -> np.ndarray:
    """Magnitude of the 0.1-5 Hz accelerometer band, mg."""
    sos = signal.butter(2, [0.1, 5.0], btype="bandpass", fs=fs, output="sos")
    band = signal.sosfiltfilt(sos, acc - acc[0], axis=0)
    return np.asarray(1e3 * np.linalg.norm(band, axis=1), dtype=np.float64)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_has_shapes_and_sorted_truth_within_the_session(name: str) -> None:
    fs, n_emg, acc_fs = (200.0, 8, 50.0) if name.startswith("consumer") else (FS, 2, 100.0)
    rec = synth_session(
        fs_hz=fs, duration_s=80, n_emg=n_emg, acc_fs_hz=acc_fs, seed=3, scenario=name
    )
    assert rec.emg_uv.shape == (round(80 * fs), n_emg)
    assert rec.acc_g is not None
    assert rec.acc_g.shape == (round(80 * acc_fs), 3)
    assert np.all(np.isfinite(rec.emg_uv))
    assert rec.emg_channels == tuple(f"emg_{i}" for i in range(n_emg))
    starts = [e.start_s for e in rec.truth]
    assert starts == sorted(starts)
    for e in rec.truth:
        assert 0 <= e.start_s < e.end_s <= rec.duration_s
        assert e.channel in rec.emg_channels
    # gravity is there and about 1 g
    assert np.median(np.linalg.norm(rec.acc_g, axis=1)) == pytest.approx(1.0, abs=0.05)


def test_demo_contains_all_three_classes_and_voluntary_reps() -> None:
    rec = synth_session(fs_hz=FS, duration_s=75, acc_fs_hz=FS, seed=0, scenario="demo")
    kinds = {e.type for e in rec.truth}
    assert {FASCICULATION, FIBRILLATION, SPASM, CONTRACTION} <= kinds


def test_same_seed_same_session_other_seed_differs() -> None:
    a = synth_session(fs_hz=FS, duration_s=30, acc_fs_hz=100.0, seed=5, scenario="twitches")
    b = synth_session(fs_hz=FS, duration_s=30, acc_fs_hz=100.0, seed=5, scenario="twitches")
    c = synth_session(fs_hz=FS, duration_s=30, acc_fs_hz=100.0, seed=6, scenario="twitches")
    np.testing.assert_array_equal(a.emg_uv, b.emg_uv)
    assert a.truth == b.truth
    assert a.truth != c.truth


def test_twitches_have_the_stated_amplitude_and_duration_and_nothing_else_is_injected() -> None:
    spec = _quiet("twitches", doublet_fraction=0.0, train_fraction=0.0, twitch_rate_per_min=60.0)
    n = round(60 * FS)
    rec = synth_session(fs_hz=FS, duration_s=60, seed=2, scenario=spec, baseline_uv=np.zeros(n))
    twitches = [e for e in rec.truth if e.type in TWITCH_TYPES]
    assert len(twitches) > 30
    x = rec.emg_uv[:, 0]
    mask = np.zeros(n, dtype=bool)
    for e in twitches:
        assert 0.007 <= e.end_s - e.start_s <= 0.030
        lo, hi = round(e.start_s * FS) - 5, round(e.end_s * FS) + 5
        assert np.ptp(x[lo:hi]) == pytest.approx(e.peak_uv, rel=0.15)
        assert 20.0 <= e.peak_uv <= 300.0
        # the waveform starts at the truth onset, not well before it
        assert np.max(np.abs(x[lo - 20 : lo])) < 0.1 * e.peak_uv
        mask[lo - 10 : hi + 10] = True
    assert np.max(np.abs(x[~mask])) < 1.0


def test_visible_twitches_move_the_accelerometer_and_invisible_ones_do_not() -> None:
    spec = _quiet("twitches", twitch_rate_per_min=30.0, doublet_fraction=0.0, train_fraction=0.0)
    acc_fs = 500.0
    rec = synth_session(fs_hz=FS, duration_s=120, acc_fs_hz=acc_fs, seed=4, scenario=spec)
    assert rec.acc_g is not None
    sos = signal.butter(2, [5.0, 100.0], btype="bandpass", fs=acc_fs, output="sos")
    mms2 = 9806.65 * np.linalg.norm(signal.sosfilt(sos, rec.acc_g, axis=0), axis=1)
    noise = np.median(mms2)
    seen = {True: 0, False: 0}
    for e in rec.truth:
        i = round(e.start_s * acc_fs)
        window = mms2[i : i + round(0.25 * acc_fs)]
        if e.visible:
            assert e.type == FASCICULATION
            assert np.max(window) > 10 * noise
            # nothing before the EMG onset: the transient follows the twitch
            assert np.max(mms2[i - 25 : i]) < 5 * noise
        else:
            assert e.type == FIBRILLATION
            assert np.max(window) < 5 * noise
        seen[e.visible] += 1
    assert seen[True] > 5
    assert seen[False] > 5


def test_without_accelerometer_visibility_follows_the_amplitude_proxy() -> None:
    rec = synth_session(fs_hz=FS, duration_s=60, seed=1, scenario="twitches")
    assert rec.acc_g is None
    twitches = [e for e in rec.truth if e.type in TWITCH_TYPES]
    assert twitches
    for e in twitches:
        assert e.visible == (e.peak_uv >= SCENARIOS["twitches"].visible_proxy_uv)
        assert e.type == (FASCICULATION if e.visible else FIBRILLATION)


def test_reps_move_the_limb_and_spasms_stay_near_isometric() -> None:
    acc_fs = 100.0
    ex = synth_session(fs_hz=FS, duration_s=90, acc_fs_hz=acc_fs, seed=7, scenario="exercise")
    sp = synth_session(
        fs_hz=FS,
        duration_s=90,
        acc_fs_hz=acc_fs,
        seed=7,
        scenario=_quiet("spasm", twitch_rate_per_min=0.0),
    )
    assert ex.acc_g is not None
    assert sp.acc_g is not None
    move = _movement_mg(ex.acc_g, acc_fs)
    reps = [e for e in ex.truth if e.type == CONTRACTION]
    assert reps
    for e in reps:
        assert 0.4 <= e.end_s - e.start_s <= 2.5
        seg = move[round(e.start_s * acc_fs) : round((e.end_s + 0.4) * acc_fs)]
        assert np.max(seg) > 50.0
    spasm = next(e for e in sp.truth if e.type == SPASM)
    assert 5.0 <= spasm.end_s - spasm.start_s <= 40.0
    still = _movement_mg(sp.acc_g, acc_fs)
    assert np.max(still[round(spasm.start_s * acc_fs) : round(spasm.end_s * acc_fs)]) < 20.0
    # the cramp is loud and sustained on its channel
    x = sp.emg_uv[round(spasm.start_s * FS) : round(spasm.end_s * FS), 0]
    quarters = np.array_split(x - np.mean(x), 4)
    assert all(np.sqrt(np.mean(q**2)) > 10.0 for q in quarters)


def test_spasm_motor_units_fire_irregularly() -> None:
    from processor.synth.muap import firing_times

    rng = np.random.default_rng(0)
    t = firing_times(rng, 0.0, 60.0, mean_rate_pps=14.5, doublet_fraction=0.0)
    isi = np.diff(t)
    assert 10.0 < 1.0 / np.mean(isi) < 20.0
    assert 0.35 < np.std(isi) / np.mean(isi) < 0.6


def test_real_baseline_is_tiled_and_checked() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(0.0, 3.0, (5000, 1))
    tiled = tile_baseline(base, 23000, crossfade=100)
    assert tiled.shape == (23000, 1)
    np.testing.assert_array_equal(tiled[:4900], base[:4900])
    assert np.std(tiled) == pytest.approx(3.0, rel=0.1)
    rec = synth_session(fs_hz=FS, duration_s=23, seed=0, scenario="rest", baseline_uv=base)
    assert rec.emg_uv.shape == (23000, 1)
    with pytest.raises(ValueError, match="does not match"):
        synth_session(fs_hz=FS, duration_s=5, n_emg=2, scenario="rest", baseline_uv=base)


def test_bad_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        synth_session(fs_hz=FS, duration_s=10, scenario="nope")
    with pytest.raises(ValueError, match="too short"):
        synth_session(fs_hz=FS, duration_s=10, scenario="demo")


def test_consumer_band_is_band_limited() -> None:
    from processor.synth.muap import band_limit

    # a 150 Hz component would fold to 50 Hz in a 200 Hz stream without the anti-alias filter
    t = np.arange(20000) / 2000.0
    out = band_limit(np.sin(2 * np.pi * 150.0 * t), 10)
    assert out.shape == (2000,)
    assert np.max(np.abs(out[100:-100])) < 0.01
    passed = band_limit(np.sin(2 * np.pi * 40.0 * t), 10)
    assert np.sqrt(np.mean(passed[100:-100] ** 2)) == pytest.approx(np.sqrt(0.5), abs=0.02)
    rec = synth_session(
        fs_hz=200.0, duration_s=80, n_emg=8, acc_fs_hz=50.0, seed=1, scenario="consumer_200hz_8ch"
    )
    assert len({e.channel for e in rec.truth}) == 8


def test_real_contraction_excerpts_replace_synthetic_reps() -> None:
    rng = np.random.default_rng(1)
    excerpts = [rng.normal(0.0, 10.0, 800), rng.normal(0.0, 10.0, 1500)]
    spec = _quiet("exercise", twitch_rate_per_min=0.0, reps_per_set=(4, 4), rep_rms_uv=(50, 50))
    rec = synth_session(
        fs_hz=FS,
        duration_s=60,
        seed=1,
        scenario=spec,
        baseline_uv=np.zeros(60000),
        voluntary_uv=excerpts,
    )
    reps = [e for e in rec.truth if e.type == CONTRACTION]
    assert reps
    durations = sorted({round(e.end_s - e.start_s, 3) for e in reps})
    assert durations == [0.8, 1.5]
    e = reps[0]
    seg = rec.emg_uv[round(e.start_s * FS) : round(e.end_s * FS), 0]
    assert np.sqrt(np.mean(seg**2)) == pytest.approx(50.0, rel=0.1)
    # faded in: the first samples are near zero although the excerpt itself is not
    assert np.max(np.abs(seg[:5])) < 5.0


def test_emg_does_not_depend_on_the_accelerometer_rate() -> None:
    a = synth_session(fs_hz=FS, duration_s=60, seed=9, scenario="demo", acc_fs_hz=1000.0)
    b = synth_session(fs_hz=FS, duration_s=60, seed=9, scenario="demo", acc_fs_hz=200.0)
    np.testing.assert_array_equal(a.emg_uv, b.emg_uv)
    assert a.truth == b.truth
