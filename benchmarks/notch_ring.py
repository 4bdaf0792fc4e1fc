"""How long mains hum removal rings after a big twitch: twitchwatch's against a plain notch.

Usage::

    python -m benchmarks.notch_ring [--amplitude 300] [--hum 10] [--drift 0] [--seeds 8]

Screened real rest (the accuracy benchmark's lower-limb baseline, 1 kHz) gets 60 Hz hum
(and a third of it at 180 Hz) and one MUAP-shaped twitch at 3 s. Two conditioners run on it:

* ``iirnotch``: the same band-pass, then ``iirnotch`` sections at 60 and 180 Hz (what
  twitchwatch ran until session 6): its resonators are fed the twitch whole;
* ``twitchwatch``: the pipeline's own ``Conditioner`` (auto notch, ``processor/stages/hum.py``:
  the notches see the signal clipped around its predicted hum, the excess is added back).

``--drift`` moves the hum off 60 Hz (a grid runs within about 0.05 Hz of its nominal).

Printed: the 5 ms energy over its median on rest (the noise floor the detector uses) in 20 ms
windows after the twitch, the largest over seeds, and the RMS left on rest (hum removal).
``twitch.on_factor`` is 12 and ``contraction.active_factor`` 15.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import signal

from benchmarks import cases
from processor.config import DetectionConfig
from processor.stages.conditioning import Conditioner
from processor.synth.muap import muap_template

FS_HZ = 1000.0
N = 9000
AT = 3000
LINES_HZ = (60.0, 180.0)
WINDOWS_MS = tuple(range(40, 320, 20))


def _energy(y: np.ndarray) -> np.ndarray:
    return np.convolve(y * y, np.ones(5) / 5)[: y.size]


def _signal(seed: int, amplitude_uv: float, hum_uv: float, drift_hz: float = 0.0) -> np.ndarray:
    rest = cases.baseline("lower_limb")
    rng = np.random.default_rng(seed)
    start = int(rng.integers(0, rest.shape[0] - N))
    x = rest[start : start + N].copy()
    t = np.arange(N) / FS_HZ
    mains = LINES_HZ[0] + drift_hz
    x += hum_uv * np.sin(2 * np.pi * mains * t + rng.uniform(0, 2 * np.pi))
    x += hum_uv / 3 * np.sin(2 * np.pi * 3 * mains * t + rng.uniform(0, 2 * np.pi))
    wave = signal.resample_poly(muap_template(rng, 10_000.0).wave, 1, 10)
    x[AT : AT + wave.size] += amplitude_uv * wave
    return x


def twitchwatch(x: np.ndarray) -> np.ndarray:
    cfg = DetectionConfig()
    cond = Conditioner(cfg.conditioning, cfg.quality, FS_HZ, 1, unit="uV")
    return np.asarray(cond.process_cn(np.ascontiguousarray(x[np.newaxis, :]), 0).y[0])


def _band_and_notch(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cfg = DetectionConfig().conditioning
    band = signal.butter(2, [cfg.low_hz, cfg.high_hz], "bandpass", fs=FS_HZ, output="sos")
    notch = np.concatenate(
        [np.concatenate(signal.iirnotch(f, cfg.notch_q, fs=FS_HZ)).reshape(1, 6) for f in LINES_HZ]
    )
    return np.asarray(signal.sosfilt(band, x)), notch


def iirnotch(x: np.ndarray) -> np.ndarray:
    band, notch = _band_and_notch(x)
    return np.asarray(signal.sosfilt(notch, band))


def _profile(y: np.ndarray) -> tuple[list[float], float]:
    e = _energy(y)
    floor = float(np.median(e[AT - 1000 : AT - 100]))
    ring = [float(e[AT + k : AT + k + 20].max()) / floor for k in WINDOWS_MS]
    return ring, float(np.std(y[AT + 2000 : N]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amplitude", type=float, default=300.0, help="twitch p-p, uV")
    parser.add_argument("--hum", type=float, default=10.0, help="60 Hz hum amplitude, uV")
    parser.add_argument("--drift", type=float, default=0.0, help="hum off 60 Hz by, Hz")
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    names = ("iirnotch", "twitchwatch")
    rows: dict[str, list[list[float]]] = {name: [] for name in names}
    rms: dict[str, list[float]] = {name: [] for name in names}
    for seed in range(args.seeds):
        x = _signal(seed, args.amplitude, args.hum, args.drift)
        for name, y in zip(names, (iirnotch(x), twitchwatch(x)), strict=True):
            ring, left = _profile(y)
            rows[name].append(ring)
            rms[name].append(left)
    print(
        f"{args.amplitude:g} uV twitch, {args.hum:g} uV hum at {60 + args.drift:g} Hz, "
        f"{args.seeds} seeds: largest"
    )
    print("energy / floor in the 20 ms window starting this long after the twitch onset")
    print(f"{'ms after onset':16s}" + "".join(f"{k:>6d}" for k in WINDOWS_MS) + "  rest RMS uV")
    for name, ring_rows in rows.items():
        worst = np.max(np.asarray(ring_rows), axis=0)
        line = "".join(f"{v:6.0f}" for v in worst)
        print(f"{name:16s}{line}  {np.mean(rms[name]):.2f}")


if __name__ == "__main__":
    main()
