"""``synth_session``: a whole generated session with ground truth, from a named scenario."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from processor.synth import mechanics, muap, noise
from processor.synth.model import (
    ARTIFACT,
    CONTRACTION,
    FASCICULATION,
    FIBRILLATION,
    SPASM,
    FloatArray,
    SynthRecording,
    TruthEvent,
)
from processor.synth.scenarios import SCENARIOS, Scenario

MIN_INTERNAL_HZ = 2000.0  # waveforms are rendered at >= this rate, then band-limited
BLOCK_GUARD_S = 1.0  # no twitches this close to a set, cramp or artefact
TWITCH_SPACING_S = 0.2  # minimum spacing of independent twitch groups on one channel


@dataclass(frozen=True, slots=True)
class _Block:
    kind: str  # "reps", "spasm", "artifact"
    start_s: float
    duration_s: float


class _Builder:
    """Accumulates waveforms at the internal rate and accelerometer changes, plus truth."""

    def __init__(
        self,
        fs_hz: float,
        n: int,
        *,
        channels: tuple[str, ...],
        acc_fs_hz: float | None,
        acc_base: FloatArray | None,
        mech: np.random.Generator,
    ) -> None:
        self.factor = max(1, math.ceil(MIN_INTERNAL_HZ / fs_hz))
        self.fs_int = fs_hz * self.factor
        self.channels = channels
        self.emg = np.zeros((n * self.factor, len(channels)))
        self.acc_fs_hz = acc_fs_hz
        self.acc = acc_base
        self.truth: list[TruthEvent] = []
        # accelerometer draws come from their own stream: the EMG is the same with or without one
        self.mech = mech
        self.voluntary: list[FloatArray] = []
        self.n_reps = 0

    def rep_waveform(
        self, rng: np.random.Generator, duration_s: float, rms_uv: float
    ) -> FloatArray:
        """A synthetic rep of ``duration_s``, or the next real excerpt when there are any."""
        if not self.voluntary:
            return muap.voluntary_waveform(rng, self.fs_int, duration_s, rms_uv)
        wave = muap.faded(
            self.voluntary[self.n_reps % len(self.voluntary)], round(0.05 * self.fs_int)
        )
        rms = float(np.sqrt(np.mean(wave**2)))
        return wave * (rms_uv / rms) if rms > 0 else wave

    def add_emg(self, channel: int, start_s: float, wave: FloatArray) -> None:
        muap.add_waveform(self.emg[:, channel], round(start_s * self.fs_int), wave)

    def add_acc(self, start_s: float, delta_g: FloatArray) -> None:
        if self.acc is None or self.acc_fs_hz is None:
            return
        start = round(start_s * self.acc_fs_hz)
        lo, hi = max(start, 0), min(start + delta_g.shape[0], self.acc.shape[0])
        if hi > lo:
            self.acc[lo:hi] += delta_g[lo - start : hi - start]


def synth_session(
    *,
    fs_hz: float,
    duration_s: float,
    n_emg: int = 1,
    acc_fs_hz: float | None = None,
    seed: int = 0,
    scenario: str | Scenario = "demo",
    baseline_uv: FloatArray | None = None,
    emg_channels: Sequence[str] | None = None,
    voluntary_uv: Sequence[FloatArray] = (),
) -> SynthRecording:
    """Generate a session of EMG (+ accelerometer) with known injected events.

    Deterministic for a given seed and arguments.

    Args:
        fs_hz: EMG sample rate, Hz (200-4000).
        duration_s: length, seconds.
        n_emg: number of EMG channels.
        acc_fs_hz: accelerometer rate, Hz, or None for no accelerometer.
        seed: random seed.
        scenario: a name from ``SCENARIOS`` (``demo``, ``rest``, ``twitches``, ``spasm``,
            ``exercise``, ``consumer_200hz_8ch``) or a ``Scenario``.
        baseline_uv: real rest EMG to inject into, shape (m, n_emg) or (m,), µV at ``fs_hz``;
            tiled with crossfades when shorter than the session. Synthetic noise if None.
        emg_channels: channel names (default ``emg_0``, ``emg_1``, ...).
        voluntary_uv: real voluntary contraction excerpts (each shape (k,), µV at ``fs_hz``,
            0.4-2.5 s) used for the reps instead of synthetic interference, in turn; each is
            faded in and out over 50 ms and scaled to the rep's drawn RMS.

    Returns:
        The recording and its truth, sorted by onset.

    Raises:
        ValueError: unknown scenario, bad shapes, or a duration too short for the scenario.
    """
    spec = _scenario(scenario)
    channels = tuple(emg_channels) if emg_channels else tuple(f"emg_{i}" for i in range(n_emg))
    if len(channels) != n_emg or n_emg < 1:
        raise ValueError(f"need {n_emg} channel names, got {channels}")
    n = round(duration_s * fs_hz)
    seeds = np.random.SeedSequence(seed).spawn(7)
    rng_plan, rng_twitch, rng_block, rng_base, rng_mains, rng_acc, rng_mech = (
        np.random.default_rng(s) for s in seeds
    )
    acc = None
    if acc_fs_hz is not None:
        acc = mechanics.rest_acc(
            rng_acc, acc_fs_hz, round(duration_s * acc_fs_hz), spec.acc_noise_mg
        )
    build = _Builder(fs_hz, n, channels=channels, acc_fs_hz=acc_fs_hz, acc_base=acc, mech=rng_mech)
    build.voluntary = [
        muap.upsample(np.asarray(v, dtype=np.float64), build.factor) for v in voluntary_uv
    ]
    blocks = _plan_blocks(rng_plan, spec, duration_s)
    for block in blocks:
        _render_block(rng_block, spec, build, block)
    _render_twitches(rng_twitch, spec, build, blocks, duration_s)

    emg = np.column_stack(
        [muap.band_limit(build.emg[:, c], build.factor)[:n] for c in range(n_emg)]
    )
    emg += _baseline(rng_base, spec, fs_hz=fs_hz, n=n, n_emg=n_emg, baseline_uv=baseline_uv)
    if spec.mains_uv > 0:
        for c in range(n_emg):
            gain = float(rng_mains.uniform(0.5, 1.5))
            emg[:, c] += noise.mains(rng_mains, fs_hz, n, gain * spec.mains_uv, spec.mains_hz)
    truth = sorted(build.truth, key=lambda e: (e.start_s, e.channel))
    return SynthRecording(
        emg_uv=emg,
        acc_g=build.acc,
        fs_hz=fs_hz,
        acc_fs_hz=acc_fs_hz,
        emg_channels=channels,
        truth=truth,
    )


def _scenario(scenario: str | Scenario) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    try:
        return SCENARIOS[scenario]
    except KeyError:
        raise ValueError(f"unknown scenario {scenario!r}; known: {sorted(SCENARIOS)}") from None


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))


def _baseline(
    rng: np.random.Generator,
    spec: Scenario,
    *,
    fs_hz: float,
    n: int,
    n_emg: int,
    baseline_uv: FloatArray | None,
) -> FloatArray:
    if baseline_uv is None:
        return np.column_stack(
            [noise.rest_emg(rng, fs_hz, n, spec.noise_rms_uv) for _ in range(n_emg)]
        )
    base = np.asarray(baseline_uv, dtype=np.float64)
    if base.ndim == 1:
        base = base[:, None]
    if base.shape[1:] != (n_emg,):
        raise ValueError(f"baseline_uv shape {base.shape} does not match {n_emg} channels")
    return noise.tile_baseline(base, n, crossfade=max(2, round(0.1 * fs_hz)))


def _plan_blocks(rng: np.random.Generator, spec: Scenario, duration_s: float) -> list[_Block]:
    """Lay out exercise sets, cramps and artefacts over the session, separated by rest."""
    kinds = ["reps"] * spec.n_rep_sets + ["spasm"] * spec.n_spasms + ["artifact"] * spec.n_artifacts
    if spec.shuffle_blocks:
        kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    lengths = []
    for kind in kinds:
        if kind == "spasm":
            lengths.append(float(rng.uniform(*spec.spasm_duration_s)))
        elif kind == "reps":
            reps = int(rng.integers(spec.reps_per_set[0], spec.reps_per_set[1] + 1))
            lengths.append(reps * (float(np.mean(spec.rep_duration_s)) + 1.5) + 1.0)
        else:
            lengths.append(0.3)
    if not kinds:
        return []
    gap = (duration_s - sum(lengths)) / (len(kinds) + 1)
    if gap < 2 * BLOCK_GUARD_S + 1.0:
        raise ValueError(
            f"duration_s={duration_s} too short for {len(kinds)} blocks ({sum(lengths):.1f} s)"
        )
    blocks, t = [], 0.0
    for kind, length in zip(kinds, lengths, strict=True):
        t += gap * float(rng.uniform(0.8, 1.0))
        blocks.append(_Block(kind, t, length))
        t += length
    return blocks


def _render_block(rng: np.random.Generator, spec: Scenario, b: _Builder, block: _Block) -> None:
    if block.kind == "spasm":
        _render_spasm(rng, spec, b, block)
    elif block.kind == "reps":
        _render_reps(rng, spec, b, block)
    else:
        _render_artifact(rng, spec, b, block)


def _render_spasm(rng: np.random.Generator, spec: Scenario, b: _Builder, block: _Block) -> None:
    channel = (
        spec.spasm_channel if spec.spasm_channel is not None else int(rng.integers(len(b.channels)))
    )
    channel = min(channel, len(b.channels) - 1)
    wave = muap.spasm_waveform(
        rng, b.fs_int, block.duration_s, _log_uniform(rng, spec.spasm_rms_uv)
    )
    b.add_emg(channel, block.start_s, wave)
    if b.acc_fs_hz is not None:
        n_acc = round(block.duration_s * b.acc_fs_hz)
        b.add_acc(
            block.start_s,
            mechanics.tremor(b.mech, b.acc_fs_hz, n_acc, float(b.mech.uniform(1.0, 3.0))),
        )
    b.truth.append(
        TruthEvent(
            SPASM,
            b.channels[channel],
            block.start_s,
            block.start_s + block.duration_s,
            float(np.ptp(wave)),
            False,
        )
    )


def _render_reps(rng: np.random.Generator, spec: Scenario, b: _Builder, block: _Block) -> None:
    gains = rng.uniform(0.3, 1.0, len(b.channels))
    gains[int(rng.integers(len(b.channels)))] = 1.0
    t, end = block.start_s, block.start_s + block.duration_s
    while True:
        duration = float(rng.uniform(*spec.rep_duration_s))
        if b.voluntary:
            duration = b.voluntary[b.n_reps % len(b.voluntary)].shape[0] / b.fs_int
        if t + duration > end:
            break
        rms = _log_uniform(rng, spec.rep_rms_uv)
        for c, name in enumerate(b.channels):
            wave = b.rep_waveform(rng, duration, rms * float(gains[c]))
            b.add_emg(c, t, wave)
            b.truth.append(
                TruthEvent(CONTRACTION, name, t, t + duration, float(np.ptp(wave)), False)
            )
        if b.acc is not None and b.acc_fs_hz is not None:
            base = b.acc[min(round(t * b.acc_fs_hz), b.acc.shape[0] - 1)].copy()
            delay = float(b.mech.uniform(0.05, 0.15))
            b.add_acc(t + delay, mechanics.movement(b.mech, b.acc_fs_hz, duration + 0.3, base))
        t += duration + float(rng.uniform(1.0, 2.0))
        b.n_reps += 1


def _render_artifact(rng: np.random.Generator, spec: Scenario, b: _Builder, block: _Block) -> None:
    peak = _log_uniform(rng, spec.artifact_uv)
    for c, name in enumerate(b.channels):
        wave = noise.motion_artifact(rng, b.fs_int, peak * float(rng.uniform(0.5, 1.0)))
        b.add_emg(c, block.start_s, wave)
        b.truth.append(
            TruthEvent(
                ARTIFACT,
                name,
                block.start_s,
                block.start_s + wave.shape[0] / b.fs_int,
                float(np.ptp(wave)),
                False,
            )
        )
    if b.acc_fs_hz is not None:
        b.add_acc(
            block.start_s, mechanics.knock(b.mech, b.acc_fs_hz, float(b.mech.uniform(0.3, 1.5)))
        )


def _render_twitches(
    rng: np.random.Generator,
    spec: Scenario,
    b: _Builder,
    blocks: list[_Block],
    duration_s: float,
) -> None:
    if spec.twitch_rate_per_min <= 0:
        return
    busy = [
        (bl.start_s - BLOCK_GUARD_S, bl.start_s + bl.duration_s + BLOCK_GUARD_S) for bl in blocks
    ]
    for channel in range(len(b.channels)):
        t, last = 0.3, -math.inf
        while True:
            t += float(rng.exponential(60.0 / spec.twitch_rate_per_min))
            if t > duration_s - 0.5:
                break
            if t - last < TWITCH_SPACING_S or any(lo <= t <= hi + 0.3 for lo, hi in busy):
                continue
            last = _render_twitch_group(rng, spec, b, channel, t)


def _render_twitch_group(
    rng: np.random.Generator, spec: Scenario, b: _Builder, channel: int, t: float
) -> float:
    """One twitch, possibly a doublet or a short train; returns the last discharge time."""
    template = muap.muap_template(rng, b.fs_int)
    peak = _log_uniform(rng, spec.twitch_amplitude_uv)
    coin = rng.random()  # always drawn, so the EMG does not depend on having an accelerometer
    visible = (
        bool(coin < spec.visible_fraction) if b.acc is not None else (peak >= spec.visible_proxy_uv)
    )
    times = [t]
    draw = rng.random()
    if draw < spec.train_fraction:
        interval = 1.0 / float(rng.uniform(10.0, 25.0))
        times += [t + k * interval for k in range(1, int(rng.integers(3, 7)))]
    elif draw < spec.train_fraction + spec.doublet_fraction:
        times.append(t + float(rng.uniform(0.030, 0.035)))
    onset_s = template.onset / b.fs_int
    span_s = (template.offset - template.onset) / b.fs_int
    for k, start in enumerate(times):
        amp = peak * (float(rng.uniform(0.85, 1.15)) if k else 1.0)
        seen = visible if b.acc is not None else amp >= spec.visible_proxy_uv
        b.add_emg(channel, start - onset_s, amp * template.wave)
        kind = FASCICULATION if seen else FIBRILLATION
        b.truth.append(TruthEvent(kind, b.channels[channel], start, start + span_s, amp, seen))
    if visible and b.acc_fs_hz is not None:
        delay = float(b.mech.uniform(0.005, 0.020))
        peak_ms2 = _log_uniform(b.mech, spec.visible_acc_ms2)
        b.add_acc(t + delay, mechanics.twitch_transient(b.mech, b.acc_fs_hz, peak_ms2))
    return times[-1]
