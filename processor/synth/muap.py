"""Surface motor-unit action potentials and the signals built from them.

Waveforms are rendered at an oversampled internal rate (>= 2 kHz) and band-limited down to the
output rate by the caller, so a 200 Hz consumer band sees a properly anti-aliased twitch.
Physiology (detection.md section 1): surface twitch 10-500 µV p-p lasting 8-30 ms, doublets
30-35 ms apart, cramp motor units at 6-25 pps with ISI CV ~45 %, ~4 % doublets and a common
~1.4 Hz rate modulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from processor.synth.model import FloatArray

ONSET_FRACTION = 0.05  # a waveform "starts" where it first exceeds 5 % of its peak
MIN_DRIFT_SAMPLES = 4
LATE_RECRUIT_FRACTION = 0.8  # share of cramp units that join over the first ~0.5 s


@dataclass(frozen=True, slots=True)
class Muap:
    """One MUAP waveform normalised to 1 peak-to-peak.

    Attributes:
        wave: shape (n,), the waveform at the internal rate.
        onset: index of the first sample above ``ONSET_FRACTION`` of the peak.
        offset: index one past the last such sample.
    """

    wave: FloatArray
    onset: int
    offset: int


def muap_template(rng: np.random.Generator, fs_hz: float, width_ms: float | None = None) -> Muap:
    """A bi- or triphasic Hermite-Rodriguez MUAP, random polarity, normalised to 1 p-p.

    Args:
        rng: random source.
        fs_hz: rate to render at, Hz (use >= 2 kHz).
        width_ms: Gaussian width lambda, ms; random 1.8-6 ms (8-26 ms electrical duration) if None.
    """
    lam_ms = width_ms if width_ms is not None else float(rng.triangular(1.8, 3.0, 6.0))
    lam = lam_ms * 1e-3 * fs_hz
    half = int(np.ceil(3.2 * lam))
    u = (np.arange(-half, half + 1, dtype=np.float64) + float(rng.uniform(-0.5, 0.5))) / lam
    gauss = np.exp(-(u**2))
    biphasic = u * gauss
    triphasic = (1.0 - 2.0 * u**2) * gauss
    mix = float(rng.uniform(0.0, 1.0))
    wave = (1.0 - mix) * biphasic / np.ptp(biphasic) + mix * triphasic / np.ptp(triphasic)
    wave *= rng.choice([-1.0, 1.0])
    wave /= np.ptp(wave)
    return _with_extent(wave)


def _with_extent(wave: FloatArray) -> Muap:
    above = np.flatnonzero(np.abs(wave) >= ONSET_FRACTION * np.max(np.abs(wave)))
    return Muap(wave=wave, onset=int(above[0]), offset=int(above[-1]) + 1)


def add_waveform(out: FloatArray, start: int, wave: FloatArray) -> None:
    """Add ``wave`` into ``out`` (shape (n,)) starting at index ``start``, clipped to the ends."""
    lo = max(start, 0)
    hi = min(start + wave.shape[0], out.shape[0])
    if hi > lo:
        out[lo:hi] += wave[lo - start : hi - start]


def firing_times(
    rng: np.random.Generator,
    start_s: float,
    end_s: float,
    *,
    mean_rate_pps: float,
    cv: float = 0.45,
    modulation_hz: float = 1.4,
    modulation_depth: float = 0.25,
    modulation_phase: float = 0.0,
    doublet_fraction: float = 0.04,
) -> FloatArray:
    """Discharge times (s) of one motor unit firing irregularly between ``start_s`` and ``end_s``.

    ISIs are gamma distributed with the given CV; the rate follows a common sinusoidal
    modulation (the ~1.4 Hz common drive of cramps); a fraction of discharges gets a doublet
    3-10 ms later.
    """
    shape = 1.0 / cv**2
    times: list[float] = []
    t = start_s + float(rng.uniform(0.0, 1.0 / mean_rate_pps))
    while t < end_s:
        times.append(t)
        if rng.random() < doublet_fraction:
            times.append(t + float(rng.uniform(0.003, 0.010)))
        rate = mean_rate_pps * (
            1.0 + modulation_depth * np.sin(2 * np.pi * modulation_hz * t + modulation_phase)
        )
        t += float(rng.gamma(shape, 1.0 / (rate * shape)))
    return np.asarray([x for x in times if x < end_s], dtype=np.float64)


def slow_drift(rng: np.random.Generator, n: int, fs_hz: float, corner_hz: float) -> FloatArray:
    """Smooth random fluctuation around 0 with unit standard deviation, below ``corner_hz``."""
    if n < MIN_DRIFT_SAMPLES:
        return np.zeros(n)
    sos = signal.butter(2, min(corner_hz / (fs_hz / 2), 0.99), output="sos")
    pad = int(2 * fs_hz / corner_hz)
    x = signal.sosfilt(sos, rng.standard_normal(n + pad))[pad:]
    sd = float(np.std(x))
    return x / sd if sd > 0 else x


def spasm_waveform(
    rng: np.random.Generator, fs_hz: float, duration_s: float, rms_uv: float
) -> FloatArray:
    """EMG of a cramp: the sum of 10-40 irregular motor-unit trains (shape (n,), µV).

    Motor units recruit over the first ~0.5 s and drop out over the last ~0.7 s; each unit's
    amplitude drifts slowly (a moving territory); the sum is scaled to ``rms_uv`` over its
    middle half.
    """
    n = round(duration_s * fs_hz)
    out = np.zeros(n)
    n_units = int(rng.integers(10, 41))
    phase = float(rng.uniform(0, 2 * np.pi))
    for _ in range(n_units):
        muap = muap_template(rng, fs_hz, float(rng.uniform(1.5, 4.0)))
        start = float(rng.exponential(0.25)) if rng.random() < LATE_RECRUIT_FRACTION else 0.0
        end = duration_s - float(rng.exponential(0.35))
        rate = float(np.clip(rng.normal(14.5, 5.1), 6.0, 25.0))
        times = firing_times(
            rng, min(start, duration_s / 3), end, mean_rate_pps=rate, modulation_phase=phase
        )
        weight = float(np.exp(rng.uniform(np.log(0.3), np.log(3.0))))
        drift = np.clip(1.0 + 0.3 * slow_drift(rng, n, fs_hz, 0.3), 0.2, None)
        train = np.zeros(n)
        idx = np.round(times * fs_hz).astype(np.int64) - muap.onset
        keep = (idx >= 0) & (idx < n)
        np.add.at(train, idx[keep], 1.0)
        out += weight * drift * signal.oaconvolve(train, muap.wave)[:n]
    mid = out[n // 4 : 3 * n // 4]
    rms = float(np.sqrt(np.mean(mid**2))) if mid.size else 0.0
    return out * (rms_uv / rms) if rms > 0 else out


def voluntary_waveform(
    rng: np.random.Generator, fs_hz: float, duration_s: float, rms_uv: float
) -> FloatArray:
    """EMG of one voluntary rep: interference pattern with a ramped onset (shape (n,), µV).

    Band-limited Gaussian noise (30-250 Hz, the bulk of surface EMG power) shaped by a
    raised-cosine rise of 100-300 ms, a plateau and a 100-250 ms fall.
    """
    n = round(duration_s * fs_hz)
    high = min(250.0, 0.45 * fs_hz)
    sos = signal.butter(2, [30.0, high], btype="bandpass", fs=fs_hz, output="sos")
    noise = signal.sosfilt(sos, rng.standard_normal(n + 200))[200:]
    rise = min(round(float(rng.uniform(0.1, 0.3)) * fs_hz), n // 3)
    fall = min(round(float(rng.uniform(0.1, 0.25)) * fs_hz), n // 3)
    env = np.ones(n)
    env[:rise] = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, rise))
    env[n - fall :] = 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, fall))
    env *= 1.0 + 0.2 * slow_drift(rng, n, fs_hz, 3.0)
    x = noise * np.clip(env, 0.0, None)
    rms = float(np.sqrt(np.mean(x**2)))
    return x * (rms_uv / rms) if rms > 0 else x


def band_limit(x: FloatArray, factor: int) -> FloatArray:
    """Decimate an oversampled signal (shape (n,)) by ``factor`` with an anti-alias FIR."""
    if factor == 1:
        return x
    return np.asarray(signal.resample_poly(x, 1, factor), dtype=np.float64)


def upsample(x: FloatArray, factor: int) -> FloatArray:
    """Interpolate a signal (shape (n,)) to ``factor`` times its rate (shape (n * factor,))."""
    if factor == 1:
        return x.copy()
    return np.asarray(signal.resample_poly(x, factor, 1), dtype=np.float64)


def faded(x: FloatArray, ramp: int) -> FloatArray:
    """``x`` (shape (n,)) minus its mean, with raised-cosine fades of ``ramp`` samples."""
    out = x - float(np.mean(x))
    ramp = min(ramp, out.shape[0] // 2)
    if ramp > 0:
        w = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, ramp))
        out[:ramp] *= w
        out[-ramp:] *= w[::-1]
    return out
