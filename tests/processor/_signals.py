"""Seeded test signals: real rest EMG baselines and simple triphasic MUAP templates."""

from __future__ import annotations

from functools import cache

import numpy as np

from benchmarks.baselines import DATA_DIR
from processor.model import Chunk, StreamInfo

# the real baselines live outside the repository: the same folder benchmarks/baselines.py uses
REAL = DATA_DIR


@cache
def quiet_baseline_uv() -> np.ndarray:
    """Real quiet BF/ST sEMG of UCI lower-limb subject 3 (µV, 1 kHz), or seeded noise if absent.

    Only the first 3 s (before the first knee extension) are used, tiled with random polarity
    flips, so the baseline is real rest noise (~3 µV RMS) without voluntary crosstalk.
    """
    path = REAL / "uci_lower_limb" / "3Asen.txt"
    if path.exists():
        data = np.loadtxt(path, skiprows=7, usecols=(1, 3))[:3000] * 1000.0
        return np.asarray(data - data.mean(axis=0), dtype=np.float64)
    return np.random.default_rng(7).normal(0.0, 3.0, size=(3000, 2))


def rest_uv(n: int, seed: int) -> np.ndarray:
    """``n`` samples x 2 channels of tiled real rest noise (µV)."""
    base = quiet_baseline_uv()
    rng = np.random.default_rng(seed)
    pieces = []
    total = 0
    while total < n:
        start = int(rng.integers(0, base.shape[0] - 1000))
        piece = base[start : start + 1000] * rng.choice([-1.0, 1.0])
        pieces.append(piece)
        total += piece.shape[0]
    return np.concatenate(pieces)[:n].copy()


def triphasic(width_ms: float, fs_hz: float, peak_to_peak: float) -> np.ndarray:
    """A triphasic (Mexican-hat) MUAP scaled to ``peak_to_peak``; starts at ~5 % of its peak."""
    t = np.arange(-3.2 * width_ms, 3.2 * width_ms + 1e-9, 1000.0 / fs_hz) / width_ms
    wave = (1 - t**2) * np.exp(-(t**2) / 2)
    return np.asarray(wave / np.ptp(wave) * peak_to_peak)


def inject(x: np.ndarray, channel: int, onsets: list[int], amp: float, seed: int) -> None:
    """Add triphasic twitches of ``amp`` µV p-p at sample ``onsets`` (random width/polarity)."""
    rng = np.random.default_rng(seed)
    for onset in onsets:
        wave = triphasic(float(rng.uniform(2.0, 4.0)), 1000.0, amp) * rng.choice([-1.0, 1.0])
        end = min(len(x), onset + len(wave))
        x[onset:end, channel] += wave[: end - onset]


def chunks(info: StreamInfo, data: np.ndarray, size: int) -> list[Chunk]:
    """Cut ``data`` (n, c) into chunks of ``size`` samples."""
    return [Chunk(info, a, data[a : a + size]) for a in range(0, data.shape[0], size)]
