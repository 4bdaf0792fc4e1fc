"""Accelerometer signals (in g): rest, visible-twitch transients, limb movement, cramp tremor.

Scales (detection.md section 1.3 and 5.2): a single motor unit moves the skin by 11-32 mm/s²
p-p, a gross visible flicker up to ~1 m/s²; the MMG band is ~5-100 Hz. Voluntary movement is
0.1-5 Hz and well above 50 mg; a cramp is near-isometric with low-level tremor only.
"""

from __future__ import annotations

import numpy as np
from scipy import signal
from scipy.spatial.transform import Rotation

from processor.synth.model import FloatArray

G_MS2 = 9.80665


def rest_acc(rng: np.random.Generator, fs_hz: float, n: int, noise_mg: float) -> FloatArray:
    """Resting accelerometer: a slightly tilted gravity vector plus white noise (shape (n, 3))."""
    tilt = Rotation.from_rotvec(rng.normal(0.0, 0.25, 3))
    gravity = tilt.apply(np.array([0.0, 0.0, 1.0]))
    out = np.tile(gravity, (n, 1))
    out += rng.normal(0.0, noise_mg * 1e-3, (n, 3))
    wander = signal.sosfilt(
        signal.butter(1, min(0.2 / (fs_hz / 2), 0.99), output="sos"),
        rng.standard_normal((n, 3)),
        axis=0,
    )
    return out + 0.2e-3 * wander / max(float(np.std(wander)), 1e-12)


def random_unit(rng: np.random.Generator) -> FloatArray:
    """A random direction in 3-D (shape (3,))."""
    v = rng.standard_normal(3)
    return v / float(np.linalg.norm(v))


def twitch_transient(rng: np.random.Generator, fs_hz: float, peak_ms2: float) -> FloatArray:
    """Damped 10-40 Hz oscillation lasting 50-200 ms along a random axis (shape (k, 3), g).

    The peak absolute acceleration is ``peak_ms2`` (m/s²).
    """
    freq = float(rng.uniform(10.0, min(40.0, 0.4 * fs_hz)))
    duration_s = float(rng.uniform(0.05, 0.2))
    t = np.arange(round(duration_s * fs_hz)) / fs_hz
    tau = duration_s / 4.0
    rise = 1.0 - np.exp(-t / 0.004)
    wave = np.sin(2 * np.pi * freq * t) * np.exp(-t / tau) * rise
    wave *= peak_ms2 / G_MS2 / max(float(np.max(np.abs(wave))), 1e-12)
    return wave[:, None] * random_unit(rng)[None, :]


def movement(
    rng: np.random.Generator, fs_hz: float, duration_s: float, base: FloatArray
) -> FloatArray:
    """Limb movement of one rep: a tilt there and back plus linear acceleration (shape (k, 3), g).

    Args:
        rng: random source.
        fs_hz: accelerometer rate, Hz.
        duration_s: movement duration, seconds.
        base: shape (3,), the resting gravity vector the movement starts from.

    Returns:
        The change relative to ``base`` (add it to the resting signal).
    """
    k = max(round(duration_s * fs_hz), 2)
    phase = np.linspace(0.0, 1.0, k)
    angle = np.deg2rad(float(rng.uniform(15.0, 45.0))) * 0.5 * (1.0 - np.cos(2 * np.pi * phase))
    axis = random_unit(rng)
    rotated = Rotation.from_rotvec(angle[:, None] * axis[None, :]).apply(base)
    linear = float(rng.uniform(0.05, 0.3)) * np.sin(2 * np.pi * phase)
    return rotated - base[None, :] + linear[:, None] * random_unit(rng)[None, :]


def tremor(rng: np.random.Generator, fs_hz: float, n: int, amplitude_mg: float) -> FloatArray:
    """Low-level 8-12 Hz physiological tremor along a random axis (shape (n, 3), g)."""
    high = min(12.0, 0.45 * fs_hz)
    sos = signal.butter(2, [min(8.0, 0.8 * high), high], btype="bandpass", fs=fs_hz, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal(n + 100))[100:]
    x *= amplitude_mg * 1e-3 / max(float(np.std(x)), 1e-12)
    return x[:, None] * random_unit(rng)[None, :]


def knock(rng: np.random.Generator, fs_hz: float, peak_g: float) -> FloatArray:
    """A bump against the sensor: a sharp broadband jerk decaying in ~50 ms (shape (k, 3), g)."""
    t = np.arange(round(0.08 * fs_hz)) / fs_hz
    wave = np.exp(-t / 0.015) * np.cos(2 * np.pi * float(rng.uniform(15, 0.4 * fs_hz)) * t)
    return peak_g * wave[:, None] * random_unit(rng)[None, :]
