"""Consumer-rate wearables: 200 Hz EMG in counts (Myo) or µV (Ganglion), slow accelerometers."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.config.detection import DetectionConfig, VisibilityConfig
from processor.model import Chunk, Event, EventType, StreamInfo
from processor.stages.pipeline import Pipeline
from processor.synth import SynthRecording, synth_session
from processor.synth.muap import band_limit, muap_template
from tests.processor._signals import triphasic

FS = 200.0
UV_PER_COUNT = 4.0  # the Myo emulator's gain
TWITCHES = {EventType.FASCICULATION, EventType.FIBRILLATION}
ACC_AXES = ("acc_x", "acc_y", "acc_z")


@cache
def _demo(acc_fs_hz: float | None) -> SynthRecording:
    return synth_session(
        fs_hz=FS, duration_s=60.0, n_emg=4, acc_fs_hz=acc_fs_hz, seed=0, scenario="demo"
    )


def _items(
    emg: np.ndarray, unit: str, acc: np.ndarray | None, acc_fs: float, sizes: tuple[int, int]
) -> list[Chunk]:
    info = StreamInfo("emg", FS, tuple(f"emg_{i}" for i in range(emg.shape[1])), unit)
    timed = [
        (a / FS, 0, Chunk(info, a, emg[a : a + sizes[0]])) for a in range(0, len(emg), sizes[0])
    ]
    if acc is not None:
        acc_info = StreamInfo("acc", acc_fs, ACC_AXES, "g")
        timed += [
            (a / acc_fs, 1, Chunk(acc_info, a, acc[a : a + sizes[1]]))
            for a in range(0, len(acc), sizes[1])
        ]
    timed.sort(key=lambda item: (item[0], item[1]))
    return [chunk for *_, chunk in timed]


def _run(items: list[Chunk], cfg: DetectionConfig | None = None) -> list[Event]:
    pipe = Pipeline(cfg or DetectionConfig(), session_id="lr")
    out: list[Event] = []
    for item in items:
        out.extend(pipe.process(item))
    return out + pipe.flush()


def _myo_counts(rec: SynthRecording) -> np.ndarray:
    return np.clip(np.round(rec.emg_uv / UV_PER_COUNT), -128, 127)


def _matched(events: list[Event], rec: SynthRecording) -> list[tuple[Event, bool]]:
    """(event, truly visible) for every true twitch found within 25 ms on its channel."""
    twitches = [e for e in events if e.type in TWITCHES]
    out = []
    for truth in rec.truth:
        if truth.type not in {"fasciculation", "fibrillation"}:
            continue
        near = [
            e
            for e in twitches
            if e.channel == truth.channel and abs(e.start_s - truth.start_s) <= 0.025
        ]
        if near:
            out.append((near[0], truth.visible))
    return out


def test_myo_counts_with_50hz_imu_show_all_three_classes() -> None:
    rec = _demo(50.0)
    assert rec.acc_g is not None
    events = _run(_items(_myo_counts(rec), "counts", rec.acc_g, 50.0, (10, 3)))
    twitches = [e for e in events if e.type in TWITCHES]
    true_twitches = [t for t in rec.truth if t.type in {"fasciculation", "fibrillation"}]
    kinds = {e.type for e in twitches}
    assert kinds == TWITCHES
    assert {e.extras["visibility_evidence"] for e in twitches} == {"accelerometer"}
    assert len({e.event_id for e in events if e.type is EventType.SPASM}) == 1
    # no flood of false twitches, and most true ones are found
    assert len(twitches) <= 1.2 * len(true_twitches)
    matched = _matched(events, rec)
    assert len(matched) >= 0.45 * len(true_twitches)  # 21 of 38 when written
    right = sum((e.type is EventType.FASCICULATION) == visible for e, visible in matched)
    assert right >= 0.75 * len(matched)  # 18 of 21 when written


def test_ganglion_10hz_accelerometer_falls_back_to_the_amplitude_proxy() -> None:
    rec = _demo(100.0)
    assert rec.acc_g is not None
    acc_10hz = rec.acc_g[::10]  # the Ganglion's accelerometer rate
    events = _run(_items(rec.emg_uv, "uV", acc_10hz, 10.0, (8, 1)))
    twitches = [e for e in events if e.type in TWITCHES]
    assert twitches
    assert {e.extras["visibility_evidence"] for e in twitches} == {"amplitude"}
    proxy = VisibilityConfig().amplitude_proxy_uv
    for e in twitches:
        visible = float(e.extras["peak_uv"]) >= proxy  # type: ignore[arg-type]
        assert (e.type is EventType.FASCICULATION) == visible
    assert any(e.type is EventType.SPASM for e in events)


@pytest.mark.parametrize("proxy_counts", [25.0, 0.0])
def test_counts_without_accelerometer_use_the_counts_proxy(proxy_counts: float) -> None:
    base = DetectionConfig()
    cfg = replace(base, visibility=replace(base.visibility, amplitude_proxy_counts=proxy_counts))
    rec = _demo(None)
    events = _run(_items(_myo_counts(rec), "counts", None, 50.0, (25, 1)), cfg)
    twitches = [e for e in events if e.type in TWITCHES]
    assert twitches
    assert {e.extras["visibility_evidence"] for e in twitches} == {"amplitude"}
    assert {e.extras["unit"] for e in events if "duration_ms" in e.extras} == {"counts"}
    visible = [e for e in twitches if e.type is EventType.FASCICULATION]
    if proxy_counts == 0:
        assert not visible
    else:
        assert visible
        assert all(float(e.extras["peak_uv"]) >= proxy_counts for e in visible)  # type: ignore[arg-type]


def _rest_200hz(seconds: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 3.0, size=(round(seconds * FS), 1))


def test_twitch_train_at_200hz_stays_twitches_but_a_contraction_does_not() -> None:
    x = _rest_200hz(20.0, seed=1)
    wave = triphasic(3.0, FS, 150.0)
    train = [round(6.0 * FS) + k * round(FS / 16) for k in range(5)]  # 5 discharges at 16 Hz
    for at in train:
        x[at : at + wave.size, 0] += wave
    # a voluntary contraction: 2 s of dense interference pattern
    burst = slice(round(12.0 * FS), round(14.0 * FS))
    x[burst, 0] += np.random.default_rng(2).normal(0.0, 60.0, size=x[burst, 0].size)
    events = _run(_items(x, "uV", None, 50.0, (9, 1)))
    found = sorted(round(e.start_s * FS) for e in events if e.type in TWITCHES)
    assert len(found) == len(train)
    assert all(abs(f - t) <= 3 for f, t in zip(found, train, strict=True))
    assert [e.type for e in events if e.type is EventType.CONTRACTION]


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    emg_size=st.integers(1, 60),
    acc_size=st.integers(1, 20),
)
def test_myo_like_events_do_not_depend_on_chunking(emg_size: int, acc_size: int) -> None:
    rec = _demo(50.0)
    counts = _myo_counts(rec)
    reference = _run(_items(counts, "counts", rec.acc_g, 50.0, (200, 50)))
    events = _run(_items(counts, "counts", rec.acc_g, 50.0, (emg_size, acc_size)))
    assert events == reference


def test_big_single_twitches_at_200hz_are_not_mistaken_for_sustained_activity() -> None:
    """At 200 Hz the 50 Hz notch rings at ~5-10 % of a big twitch's peak energy for ~40 ms; the
    twitch still ends there instead of running past ``max_active_ms`` into sustained activity."""
    rng = np.random.default_rng(4)
    x = _rest_200hz(40.0, seed=3)
    x[:, 0] += 5.0 * np.sin(2 * np.pi * 50.0 * np.arange(x.shape[0]) / FS + 0.3)  # mains
    onsets = [round((3.0 + 1.5 * k) * FS) for k in range(20)]
    for at in onsets:
        muap = muap_template(rng, 2000.0)
        wave = band_limit(muap.wave, 10) * float(rng.uniform(100.0, 300.0))
        x[at : at + wave.size, 0] += wave
    events = _run(_items(x, "uV", None, 50.0, (2, 1)))
    found = [round(e.start_s * FS) for e in events if e.type in TWITCHES]
    hits = [at for at in onsets if any(abs(f - at - 2) <= 5 for f in found)]
    assert len(hits) == len(onsets)
    assert len(found) == len(onsets)
