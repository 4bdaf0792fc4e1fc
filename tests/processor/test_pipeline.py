"""Whole-pipeline behaviour: injected twitches on real rest noise, spasms, exercise, bad input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from processor.config.detection import DetectionConfig, RateConfig
from processor.errors import ConfigError
from processor.model import Chunk, Event, EventType, Gap, StreamInfo
from processor.stages.pipeline import Pipeline
from processor.synth import SCENARIOS, synth_session
from tests.processor._signals import chunks, inject, rest_uv

EMG = StreamInfo("emg", 1000.0, ("emg_bf", "emg_st"), "uV")
TWITCHES = {EventType.FASCICULATION, EventType.FIBRILLATION}


def _run(items: Sequence[Chunk | Gap], cfg: DetectionConfig | None = None) -> list[Event]:
    pipe = Pipeline(cfg or DetectionConfig(), session_id="t")
    out: list[Event] = []
    for item in items:
        out.extend(pipe.process(item))
    return out + pipe.flush()


def _twitches(events: list[Event], channel: str) -> list[Event]:
    return [e for e in events if e.type in TWITCHES and e.channel == channel]


@pytest.mark.parametrize(("amp", "min_f1"), [(20.0, 0.8), (30.0, 0.95), (60.0, 0.95)])
def test_injected_twitches_on_real_rest_noise(amp: float, min_f1: float) -> None:
    n = 60_000
    x = rest_uv(n, seed=1)
    rng = np.random.default_rng(2)
    onsets = [int(t) for t in np.arange(2000, n - 1000, 900) + rng.integers(-200, 200, 64)]
    inject(x, 0, onsets, amp, seed=3)
    events = _run(chunks(EMG, x, 50))
    found = np.array([round(e.start_s * 1000) for e in _twitches(events, "emg_bf")])
    hits = [found[np.abs(found - t) <= 25] for t in onsets]
    tp = sum(len(h) > 0 for h in hits)
    fp = len(found) - tp
    precision, recall = tp / max(1, tp + fp), tp / len(onsets)
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    errors = [abs(int(h[0]) - t) for h, t in zip(hits, onsets, strict=True) if len(h)]
    assert f1 >= min_f1, (amp, precision, recall)
    assert np.median(errors) <= (5 if amp >= 30 else 8)  # 20 uV is ~7x the noise RMS
    assert len(_twitches(events, "emg_st")) <= 1  # untouched rest channel: <= 1 false twitch/min


def test_twitch_event_lines_carry_the_evidence() -> None:
    x = rest_uv(10_000, seed=4)
    inject(x, 0, [3000], 200.0, seed=5)
    inject(x, 0, [6000], 40.0, seed=6)
    first, second = _twitches(_run(chunks(EMG, x, 100)), "emg_bf")
    assert first.type is EventType.FASCICULATION  # 200 uV >= amplitude proxy 100 uV
    assert second.type is EventType.FIBRILLATION
    assert first.extras["visibility_evidence"] == "amplitude"
    assert first.extras["alert"] is False
    assert 150 < float(first.extras["peak_uv"]) < 260  # type: ignore[arg-type]
    assert 5 <= float(first.extras["duration_ms"]) <= 40  # type: ignore[arg-type]
    assert first.event_id == "t:emg_bf:fasciculation:" + str(round(first.start_s * 1000))
    assert first.end_s is not None
    assert first.detected_at_s >= first.end_s


def test_doublet_30ms_apart_stays_two_events() -> None:
    x = rest_uv(8000, seed=8)
    inject(x, 0, [4000, 4032], 120.0, seed=9)
    found = _twitches(_run(chunks(EMG, x, 7)), "emg_bf")
    assert [round(e.start_s * 1000) for e in found] == pytest.approx([4000, 4032], abs=5)


def test_rate_alert_rises_and_clears() -> None:
    cfg = replace(
        DetectionConfig(), rate=RateConfig(window_s=10, alert_per_min=30, clear_per_min=6)
    )
    x = rest_uv(40_000, seed=10)
    inject(x, 0, list(range(3000, 12000, 1000)), 80.0, seed=11)
    events = _run(chunks(EMG, x, 250), cfg)
    rates = [e for e in events if e.type is EventType.RATE]
    assert [e.extras["alert"] for e in rates] == [True, False]
    assert rates[1].detected_at_s > rates[0].detected_at_s
    assert all(e.extras["alert"] is False for e in _twitches(events, "emg_bf"))


def _synth_items(scenario: str, acc: bool, seed: int) -> tuple[list[Chunk], object]:
    rec = synth_session(
        fs_hz=1000.0,
        duration_s=70.0 if scenario == "spasm" else 100.0,
        n_emg=2,
        acc_fs_hz=200.0 if acc else None,
        seed=seed,
        scenario=scenario,
    )
    info = StreamInfo("emg", rec.fs_hz, rec.emg_channels, "uV")
    items = [(c.start_index / 1000.0, 0, c) for c in chunks(info, rec.emg_uv, 100)]
    if rec.acc_g is not None:
        acc_info = StreamInfo("acc", 200.0, ("acc_x", "acc_y", "acc_z"), "g")
        items += [(c.start_index / 200.0, 1, c) for c in chunks(acc_info, rec.acc_g, 20)]
    items.sort(key=lambda item: (item[0], item[1]))
    return [c for *_, c in items], rec


@pytest.mark.parametrize("acc", [True, False])
def test_spasm_confirmed_within_3_5_s_and_ended_with_same_id(acc: bool) -> None:
    items, rec = _synth_items("spasm", acc, seed=0)
    events = _run(items)
    truth = [t for t in rec.truth if t.type == "spasm"]  # type: ignore[attr-defined]
    spasms = [e for e in events if e.type is EventType.SPASM]
    assert len(truth) == 1
    assert len(spasms) == 2
    confirm, end = spasms
    assert confirm.event_id == end.event_id
    assert confirm.end_s is None
    assert end.end_s is not None
    assert confirm.extras["alert"] is True
    assert end.extras["alert"] is True
    assert confirm.channel == truth[0].channel
    assert confirm.detected_at_s - truth[0].start_s <= 3.5
    assert abs(end.end_s - truth[0].end_s) < 1.0


@pytest.mark.parametrize("acc", [True, False])
def test_exercise_reps_are_contractions_never_spasms(acc: bool) -> None:
    items, rec = _synth_items("exercise", acc, seed=1)
    events = _run(items)
    assert not [e for e in events if e.type is EventType.SPASM]
    reps = [t for t in rec.truth if t.type == "contraction"]  # type: ignore[attr-defined]
    found = [e for e in events if e.type is EventType.CONTRACTION]
    assert len(found) >= 0.8 * len(reps)


def test_bad_samples_are_flagged_without_false_twitches_and_recover() -> None:
    x = rest_uv(20_000, seed=12)
    x[5000:5300, 0] = np.nan
    x[9000:9500, 1] = 0.0  # flat line
    x[12000, 0] += 50_000.0  # electrode pop
    inject(x, 0, [16000], 60.0, seed=13)
    events = _run(chunks(EMG, x, 33))
    quality = [e for e in events if e.type is EventType.SIGNAL_QUALITY]
    flags = {(e.channel, tuple(e.extras["quality"])) for e in quality}  # type: ignore[arg-type]
    assert ("emg_bf", ("nonfinite",)) in flags
    assert ("emg_bf", ("step",)) in flags
    assert any(ch == "emg_st" and "flat" in q for ch, q in flags)
    starts = [round(e.start_s * 1000) for e in _twitches(events, "emg_bf")]
    assert starts
    assert abs(starts[-1] - 16000) <= 5
    assert all(abs(s - 16000) <= 5 for s in starts)
    assert not _twitches(events, "emg_st")


def test_gap_and_rate_change_are_flagged_and_recover() -> None:
    x = rest_uv(30_000, seed=14)
    inject(x, 0, [25000], 80.0, seed=15)
    items: list[Chunk | Gap] = [Chunk(EMG, 0, x[:10000]), Gap("emg", 10000, 500, "test hole")]
    items += [Chunk(EMG, c.start_index + 10500, c.data) for c in chunks(EMG, x[10500:20000], 100)]
    fast = replace(EMG, fs_hz=2000.0)
    y = np.repeat(x[20000:], 2, axis=0)
    items.append(Chunk(fast, 40000, y))
    pipe = Pipeline(DetectionConfig())
    events = [e for item in items for e in pipe.process(item)] + pipe.flush()
    quality = [e for e in events if e.type is EventType.SIGNAL_QUALITY]
    assert any("gap" in e.extras["quality"] for e in quality)  # type: ignore[operator]
    assert any("rate_change" in e.extras["quality"] for e in quality)  # type: ignore[operator]
    assert pipe.stats()["gaps.emg"] == 1
    twitches = _twitches(events, "emg_bf")
    assert len(twitches) == 1
    assert twitches[0].start_s == pytest.approx(25.0, abs=0.01)


def test_other_streams_are_ignored_and_stats_count_samples() -> None:
    pipe = Pipeline(DetectionConfig())
    ecg = StreamInfo("ecg", 130.0, ("ecg",), "uV")
    assert pipe.process(Chunk(ecg, 0, np.zeros((13, 1)))) == []
    pipe.process(Chunk(EMG, 0, rest_uv(500, seed=1)))
    assert pipe.stats()["samples.emg"] == 500


def test_spasm_still_going_on_at_the_end_of_the_input_is_flagged_truncated() -> None:
    items, rec = _synth_items("spasm", False, seed=0)
    (truth,) = [t for t in rec.truth if t.type == "spasm"]  # type: ignore[attr-defined]
    cut_s = truth.start_s + 0.6 * (truth.end_s - truth.start_s)
    assert cut_s - truth.start_s > 3.5  # confirmed before the input stops
    whole = [e for e in _run(items) if e.type is EventType.SPASM and e.end_s is not None]
    cut = _run([c for c in items if c.start_index / 1000.0 < cut_s])
    ended = [e for e in cut if e.type is EventType.SPASM and e.end_s is not None]
    assert [e.extras["truncated"] for e in whole] == [False]
    assert "ended_by" not in whole[0].extras
    assert len(ended) == 1
    assert ended[0].extras["truncated"] is True
    assert ended[0].extras["ended_by"] == "end_of_stream"
    assert ended[0].end_s == pytest.approx(cut_s, abs=0.2)
    assert all(e.extras["unit"] == "uV" for e in cut if e.type is not EventType.SIGNAL_QUALITY)


@pytest.mark.parametrize(
    ("low_hz", "high_hz", "fs_hz", "message"),
    [
        (200.0, 450.0, 200.0, "low_hz = 200 Hz must be below 0.45 x 200 Hz = 90 Hz for stream emg"),
        (95.0, 450.0, 200.0, "low_hz = 95 Hz must be below 0.45 x 200 Hz = 90 Hz"),
        (60.0, 80.0, 120.0, "low_hz = 60 Hz must be below 0.45 x 120 Hz = 54 Hz"),
    ],
)
def test_band_edges_that_do_not_fit_the_rate_are_a_config_error(
    low_hz: float, high_hz: float, fs_hz: float, message: str
) -> None:
    base = DetectionConfig()
    cfg = replace(base, conditioning=replace(base.conditioning, low_hz=low_hz, high_hz=high_hz))
    info = StreamInfo("emg", fs_hz, ("emg",), "uV")
    pipe = Pipeline(cfg)
    with pytest.raises(ConfigError, match=f"detection.conditioning.{message}") as err:
        pipe.process(Chunk(info, 0, np.zeros((10, 1))))
    assert "\n" not in str(err.value)
    ok = StreamInfo("emg", 1000.0, ("emg",), "uV")
    assert Pipeline(cfg).process(Chunk(ok, 0, np.zeros((10, 1)))) == []


@pytest.mark.parametrize("fs_hz", [500.0, 600.0])
def test_rest_between_500_and_700_hz_gives_no_false_twitches(fs_hz: float) -> None:
    # 5 ms is 2.5-3 samples there: a 3-sample energy of rest noise crossed on_factor ~1/min
    rec = synth_session(fs_hz=fs_hz, duration_s=120.0, n_emg=2, seed=7, scenario="rest")
    info = StreamInfo("emg", fs_hz, rec.emg_channels, "uV")
    events = _run(chunks(info, rec.emg_uv, round(0.02 * fs_hz)))
    assert not [e for e in events if e.type in TWITCHES]


def test_motion_lurches_are_flagged_without_twitches_but_contractions_are_not() -> None:
    from processor.synth.noise import motion_artifact

    x = rest_uv(30_000, seed=16)
    rng = np.random.default_rng(17)
    lurches = [5000, 11000, 17000]
    for at, peak in zip(lurches, (120.0, 300.0, 600.0), strict=True):
        wave = motion_artifact(rng, 1000.0, peak)
        x[at : at + wave.size, 0] += wave
    # a strong 2 s voluntary contraction on the other channel: EMG, not motion
    x[20000:22000, 1] += np.random.default_rng(18).normal(0.0, 300.0, 2000)
    inject(x, 0, [26000], 60.0, seed=19)
    events = _run(chunks(EMG, x, 37))
    motion = [
        e
        for e in events
        if e.type is EventType.SIGNAL_QUALITY and "motion" in e.extras["quality"]  # type: ignore[operator]
    ]
    assert {e.channel for e in motion} == {"emg_bf"}
    for at in lurches:
        assert [e for e in motion if at / 1000 <= e.start_s <= at / 1000 + 0.3]
    starts = [e.start_s for e in _twitches(events, "emg_bf")]
    assert len(starts) == 1
    assert abs(starts[0] - 26.0) <= 0.005
    assert [e for e in events if e.type is EventType.CONTRACTION and e.channel == "emg_st"]


@pytest.mark.parametrize("fs_hz", [200.0, 1000.0])
def test_baseline_wander_is_not_motion(fs_hz: float) -> None:
    # 5 uV of EMG-band noise on 15 uV of slow wander: its 1-10 Hz part tops 20 uV, steadily
    rest = replace(SCENARIOS["rest"], noise_rms_uv=5.0)
    rec = synth_session(fs_hz=fs_hz, duration_s=120.0, n_emg=2, seed=2, scenario=rest)
    info = StreamInfo("emg", fs_hz, rec.emg_channels, "uV")
    events = _run(chunks(info, rec.emg_uv, round(0.05 * fs_hz)))
    assert not [e for e in events if e.type is EventType.SIGNAL_QUALITY]
