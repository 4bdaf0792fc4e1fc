"""EMG background: rest noise, mains interference, motion artefacts and baseline tiling."""

from __future__ import annotations

import numpy as np
from scipy import signal

from processor.synth.model import FloatArray


def rest_emg(rng: np.random.Generator, fs_hz: float, n: int, rms_uv: float) -> FloatArray:
    """Synthetic resting sEMG: band-limited (20-450 Hz, capped at 0.45 fs) noise plus a DC offset.

    Returns:
        shape (n,), µV; ``rms_uv`` is the RMS inside the band.
    """
    high = min(450.0, 0.45 * fs_hz)
    sos = signal.butter(2, [20.0, high], btype="bandpass", fs=fs_hz, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal(n + 500))[500:]
    x *= rms_uv / max(float(np.std(x)), 1e-12)
    wander = signal.sosfilt(
        signal.butter(1, min(0.5 / (fs_hz / 2), 0.99), output="sos"), rng.standard_normal(n)
    )
    wander *= 3.0 * rms_uv / max(float(np.std(wander)), 1e-12)
    return x + wander + float(rng.uniform(-50.0, 50.0))


def mains(
    rng: np.random.Generator, fs_hz: float, n: int, amplitude_uv: float, mains_hz: float
) -> FloatArray:
    """Mains hum: fundamental plus 3rd and 5th harmonics below Nyquist, slowly waxing and waning.

    Returns:
        shape (n,), µV; ``amplitude_uv`` is the fundamental's peak amplitude.
    """
    t = np.arange(n) / fs_hz
    out = np.zeros(n)
    for harmonic, rel in ((1, 1.0), (3, 0.3), (5, 0.1)):
        f = harmonic * mains_hz
        if f < 0.45 * fs_hz:
            out += rel * np.sin(2 * np.pi * f * t + float(rng.uniform(0, 2 * np.pi)))
    sway = 1.0 + 0.3 * np.sin(2 * np.pi * float(rng.uniform(0.02, 0.1)) * t)
    return amplitude_uv * out * sway


def motion_artifact(rng: np.random.Generator, fs_hz: float, peak_uv: float) -> FloatArray:
    """Cable/electrode motion: a 1-15 Hz lurch with a small step, 100-300 ms (shape (k,), µV)."""
    k = round(float(rng.uniform(0.1, 0.3)) * fs_hz)
    t = np.linspace(0.0, 1.0, k)
    lurch = np.sin(np.pi * t) ** 2 * np.sin(2 * np.pi * float(rng.uniform(1.0, 4.0)) * t)
    step = float(rng.uniform(-0.3, 0.3)) * np.heaviside(t - 0.5, 1.0)
    wave = lurch + step
    return np.asarray(peak_uv * wave / max(float(np.max(np.abs(wave))), 1e-12), dtype=np.float64)


def tile_baseline(x: FloatArray, n: int, crossfade: int) -> FloatArray:
    """Repeat a real baseline (shape (m, c)) to ``n`` samples with raised-cosine crossfades.

    Each repetition is joined to the previous one over ``crossfade`` samples with equal-power
    (sine/cosine) weights, so the joins add no step, click or dip in noise power.
    """
    m = x.shape[0]
    if m >= n:
        return x[:n].copy()
    if crossfade >= m // 2:
        raise ValueError(f"baseline of {m} samples too short for a {crossfade}-sample crossfade")
    ramp = np.linspace(0.0, np.pi / 2, crossfade)[:, None]
    out = x.copy()
    while out.shape[0] < n:
        head = out[-crossfade:] * np.cos(ramp) + x[:crossfade] * np.sin(ramp)
        out = np.concatenate([out[:-crossfade], head, x[crossfade:]])
    return out[:n]
