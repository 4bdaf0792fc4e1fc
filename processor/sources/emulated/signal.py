"""The signal an emulated wearable streams: synthetic EMG with twitches and a spasm, plus ACC.

It comes from ``processor.synth.synth_session`` (the project's physiologically grounded
generator) when that is available, else from a small internal generator with the same shape:
rest noise, twitches of 40-300 µV peak-to-peak (half of them with an accelerometer transient, so
both visible and invisible ones), and one spasm (an irregular 6-25 Hz motor-unit train) lasting
several seconds.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np

from processor.model import FloatArray

_ACC_FS_HZ = 100.0
MIN_DEMO_S = 60.0  # the demo scenario needs this much to fit reps, a cramp and rest


@dataclass(frozen=True, slots=True)
class WearableSignal:
    """What the emulator encodes, looped when a session outlasts it.

    Attributes:
        fs_hz: EMG sample rate in Hz.
        emg_uv: shape (n, n_emg), µV.
        acc_fs_hz: accelerometer sample rate in Hz.
        acc_g: shape (m, 3), g.
        truth: (type, start_s) of every injected event, for checks.
    """

    fs_hz: float
    emg_uv: FloatArray
    acc_fs_hz: float
    acc_g: FloatArray
    truth: tuple[tuple[str, float], ...] = ()

    @property
    def duration_s(self) -> float:
        """Length of one loop of the signal in seconds."""
        return float(self.emg_uv.shape[0]) / self.fs_hz


def make_signal(
    *, fs_hz: float, n_emg: int, duration_s: float, seed: int = 0, builtin: bool = False
) -> WearableSignal:
    """A demo signal of at least ``MIN_DEMO_S``: from ``processor.synth``, else built in.

    ``builtin=True`` skips ``processor.synth`` (much cheaper; for tests that only count bytes).
    """
    duration_s = max(duration_s, MIN_DEMO_S)
    if builtin:
        return _internal_signal(fs_hz=fs_hz, n_emg=n_emg, duration_s=duration_s, seed=seed)
    try:
        synth = importlib.import_module("processor.synth")
        rec = synth.synth_session(
            fs_hz=fs_hz,
            duration_s=duration_s,
            n_emg=n_emg,
            acc_fs_hz=_ACC_FS_HZ,
            seed=seed,
            scenario="demo",
        )
    except (ImportError, AttributeError, ValueError):
        return _internal_signal(fs_hz=fs_hz, n_emg=n_emg, duration_s=duration_s, seed=seed)
    acc = rec.acc_g if rec.acc_g is not None else _rest_acc(int(duration_s * _ACC_FS_HZ))
    acc_fs = float(rec.acc_fs_hz) if rec.acc_g is not None else _ACC_FS_HZ
    return WearableSignal(
        fs_hz=float(rec.fs_hz),
        emg_uv=np.asarray(rec.emg_uv, dtype=np.float64),
        acc_fs_hz=acc_fs,
        acc_g=np.asarray(acc, dtype=np.float64),
        truth=tuple((str(t.type), float(t.start_s)) for t in rec.truth),
    )


def _rest_acc(n: int) -> FloatArray:
    acc = np.zeros((n, 3))
    acc[:, 2] = 1.0
    return acc


def _muap(fs_hz: float, peak_to_peak_uv: float) -> FloatArray:
    """A biphasic motor-unit action potential of about 12 ms."""
    t = np.arange(int(0.012 * fs_hz)) / fs_hz
    centre, width = 0.006, 0.0015
    wave = -(t - centre) / width * np.exp(-0.5 * ((t - centre) / width) ** 2)
    span = float(wave.max() - wave.min()) or 1.0
    return np.asarray(wave * peak_to_peak_uv / span, dtype=np.float64)


def _internal_signal(*, fs_hz: float, n_emg: int, duration_s: float, seed: int) -> WearableSignal:
    rng = np.random.default_rng(seed)
    n = int(duration_s * fs_hz)
    emg = rng.normal(0.0, 3.0, size=(n, n_emg))
    acc = _rest_acc(int(duration_s * _ACC_FS_HZ)) + rng.normal(
        0.0, 0.002, (int(duration_s * 100), 3)
    )
    truth: list[tuple[str, float]] = []
    spasm_start_s, spasm_len_s = min(12.0, 0.4 * duration_s), min(8.0, 0.25 * duration_s)
    t = 1.5
    visible = True
    while t < duration_s - 1.0:
        if not spasm_start_s - 1.0 < t < spasm_start_s + spasm_len_s + 1.0:
            amp = float(rng.uniform(150, 300) if visible else rng.uniform(40, 80))
            wave = _muap(fs_hz, amp)
            i = int(t * fs_hz)
            emg[i : i + wave.size, 0] += wave[: max(0, min(wave.size, n - i))]
            if visible:
                j = int((t + 0.02) * _ACC_FS_HZ)
                acc[j : j + 5, 0] += 0.05 * np.hanning(7)[1:6][: max(0, acc.shape[0] - j)]
            truth.append(("fasciculation" if visible else "fibrillation", t))
            visible = not visible
        t += float(rng.uniform(1.2, 2.2))
    start, stop = int(spasm_start_s * fs_hz), int((spasm_start_s + spasm_len_s) * fs_hz)
    k = start
    while k < stop:
        wave = _muap(fs_hz, float(rng.uniform(120, 220)))
        emg[k : k + wave.size, 0] += wave[: max(0, min(wave.size, n - k))]
        k += int(fs_hz / rng.uniform(8, 20))
    truth.append(("spasm", spasm_start_s))
    return WearableSignal(fs_hz, emg, _ACC_FS_HZ, acc, tuple(sorted(truth, key=lambda e: e[1])))
