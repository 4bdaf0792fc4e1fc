"""Tolerant loaders for the real baselines in ``../shared/data/real`` (see its README).

Everything is returned in physical units with the conversions stated here:

* UCI lower limb (``3Asen.txt``, CC BY 4.0): mV -> µV; 7 header lines; trailing tab-only line.
* BioSPPy ``emg_1.txt`` (BSD-3): 12-bit ADC counts. Assumed BITalino EMG sensor transfer
  function ``(ADC / 2**12 - 1/2) * 3.3 V / 1009``, i.e. 0.7985 µV per count; the file itself
  gives no scale (an assumption, stated in recordings/README.md and docs/benchmarks.md).
* BioSPPy ``acc.txt``: the header says m/s² but the values are g (magnitude ~1.03).
* UCI gestures Myo: values are int8 counts x 1e-5 on ~1 ms time stamps, sample-and-hold;
  resampled to the Myo's native 200 Hz by holding the latest value at each 5 ms tick.
* PhysioNet emgdb: lines with stray characters; the leading two numbers of each line are kept.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, signal

FloatArray = NDArray[np.float64]

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("TWITCHWATCH_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))
BITALINO_UV_PER_COUNT = 3.3 / 1009 / 4096 * 1e6
MYO_FS_HZ = 200.0
MYO_UV_PER_COUNT = 2.0  # assumed: Myo EMG is uncalibrated int8; gives ~5 µV RMS at rest
SCREEN_K = 6.0
_LEADING_TWO = re.compile(
    r"^\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)\s+([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)"
)


@dataclass(frozen=True, slots=True)
class LowerLimb:
    """UCI lower-limb subject 3 seated (1 kHz): four sEMG channels in µV and the knee angle."""

    rf_uv: FloatArray
    bf_uv: FloatArray
    vm_uv: FloatArray
    st_uv: FloatArray
    knee_deg: FloatArray
    fs_hz: float = 1000.0


def data_file(relative: str) -> Path:
    path = DATA_DIR / relative
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: real baseline not found (set TWITCHWATCH_REAL_DATA to the data/real folder)"
        )
    return path


def uci_lower_limb(name: str = "3Asen.txt") -> LowerLimb:
    rows = []
    for line in data_file(f"uci_lower_limb/{name}").read_text(encoding="utf-8").splitlines()[7:]:
        cells = line.split("\t")
        try:
            rows.append([float(c) for c in cells[:5]])
        except ValueError:
            continue  # the trailing tab-only line
    d = np.asarray(rows, dtype=np.float64)
    return LowerLimb(
        rf_uv=d[:, 0] * 1e3,
        bf_uv=d[:, 1] * 1e3,
        vm_uv=d[:, 2] * 1e3,
        st_uv=d[:, 3] * 1e3,
        knee_deg=d[:, 4],
    )


def _numeric_rows(path: Path, n_cols: int) -> FloatArray:
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        try:
            rows.append([float(c) for c in line.split()[:n_cols]])
        except ValueError:
            continue
    return np.asarray(rows, dtype=np.float64)


def biosppy_emg_uv() -> FloatArray:
    """``emg_1.txt``: shape (63880,), µV at 1 kHz, mid-scale removed (BITalino scale assumed)."""
    counts = _numeric_rows(data_file("biosppy/emg_1.txt"), 1)[:, 0]
    return (counts - 2048.0) * BITALINO_UV_PER_COUNT


def biosppy_acc_g() -> FloatArray:
    """``acc.txt``: shape (2000, 3), g at 100 Hz (walking-like movement)."""
    return _numeric_rows(data_file("biosppy/acc.txt"), 3)


def myo_gestures() -> tuple[FloatArray, NDArray[np.int64]]:
    """UCI gestures Myo file at 200 Hz: counts shape (n, 8) and class labels shape (n,)."""
    path = data_file("uci_gestures_myo/1_raw_data_11-08_21.03.16.txt")
    d = _numeric_rows(path, 10)
    t_ms, values, labels = d[:, 0], d[:, 1:9], d[:, 9]
    ticks = np.arange(t_ms[0], t_ms[-1], 1000.0 / MYO_FS_HZ)
    idx = np.searchsorted(t_ms, ticks, side="right") - 1
    return np.round(values[idx] * 1e5), labels[idx].astype(np.int64)


def emgdb(name: str) -> tuple[FloatArray, FloatArray]:
    """PhysioNet emgdb needle record (``healthy`` or ``neuropathy``): time s, EMG mV, 4 kHz."""
    t, x = [], []
    text = data_file(f"physionet_emgdb/emg_{name}.txt").read_text(
        encoding="utf-8", errors="replace"
    )
    for line in text.splitlines():
        m = _LEADING_TWO.match(line)
        if m:
            t.append(float(m.group(1)))
            x.append(float(m.group(2)))
    return np.asarray(t), np.asarray(x)


def band(x: FloatArray, fs_hz: float, low_hz: float = 20.0, high_hz: float = 450.0) -> FloatArray:
    """Zero-phase band-pass used only to *screen* baselines (never in a detector)."""
    high = min(high_hz, 0.45 * fs_hz)
    sos = signal.butter(4, [low_hz, high], btype="bandpass", fs=fs_hz, output="sos")
    return np.asarray(signal.sosfiltfilt(sos, x - np.mean(x, axis=0), axis=0), dtype=np.float64)


def fast_energy(y: FloatArray, fs_hz: float) -> FloatArray:
    """|TKEO| smoothed over 5 ms (shape (n,)): the twitch-detection feature of detection.md."""
    tk = np.zeros_like(y)
    tk[1:-1] = np.abs(y[1:-1] ** 2 - y[:-2] * y[2:])
    width = max(1, round(0.005 * fs_hz))
    return np.convolve(tk, np.ones(width) / width, mode="same")


def screen_spikes(
    x_uv: FloatArray, fs_hz: float, *, k_on: float = SCREEN_K, guard_s: float = 0.2
) -> list[tuple[float, float]]:
    """Spontaneous transients in a "quiet" baseline, as windows (start_s, end_s) to crop.

    The screen is a sensitive twitch detector: 5 ms |TKEO| of the 20-450 Hz band-passed
    signal above ``k_on`` times its global median, or above ``k_on`` times its trailing 2 s
    median (so quiet stretches are screened as sensitively as an adaptive detector sees
    them). Hits closer than ``guard_s`` are merged and every window is widened by ``guard_s``.

    Args:
        x_uv: shape (n,), µV.
        fs_hz: sample rate, Hz.
        k_on: threshold over the medians; 6 is twice as sensitive as twitchwatch's default
            ``on_factor`` of 12, so whatever a detector could take for a twitch is removed.
        guard_s: half-width added around each transient, s.
    """
    e = fast_energy(band(x_uv, fs_hz), fs_hz)
    step = max(1, round(fs_hz / 100))
    size = max(3, round(2.0 * fs_hz / step))
    trailing = ndimage.median_filter(e[::step], size=size, origin=(size - 1) // 2, mode="nearest")
    trailing = np.repeat(trailing, step)[: e.shape[0]]
    hits = np.flatnonzero((e > k_on * float(np.median(e))) | (e > k_on * trailing)) / fs_hz
    windows: list[tuple[float, float]] = []
    for t in hits:
        if windows and t - guard_s <= windows[-1][1]:
            windows[-1] = (windows[-1][0], float(t) + guard_s)
        else:
            windows.append((float(t) - guard_s, float(t) + guard_s))
    return windows


def mask_to_windows(mask: NDArray[np.bool_], fs_hz: float) -> list[tuple[float, float]]:
    """Runs of True in ``mask`` (shape (n,)) as (start_s, end_s)."""
    padded = np.concatenate([[0], mask.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    pairs = zip(edges[::2], edges[1::2], strict=True)
    return [(float(a) / fs_hz, float(b) / fs_hz) for a, b in pairs]


def crop(x: FloatArray, fs_hz: float, windows: list[tuple[float, float]]) -> FloatArray:
    """``x`` (shape (n, ...)) with the windows cut out, pieces joined by 20 ms crossfades."""
    keep = np.ones(x.shape[0], dtype=bool)
    for lo, hi in windows:
        keep[max(0, round(lo * fs_hz)) : max(0, round(hi * fs_hz))] = False
    edges = np.flatnonzero(np.diff(keep.astype(np.int8))) + 1
    pieces = [p for p in np.split(np.arange(x.shape[0]), edges) if p.size and keep[p[0]]]
    fade = max(2, round(0.02 * fs_hz))
    ramp = np.linspace(0.0, np.pi / 2, fade)
    ramp = ramp.reshape((-1,) + (1,) * (x.ndim - 1))
    out = x[pieces[0]]
    for p in pieces[1:]:
        nxt = x[p]
        if nxt.shape[0] <= fade or out.shape[0] <= fade:
            continue
        joint = out[-fade:] * np.cos(ramp) + nxt[:fade] * np.sin(ramp)
        out = np.concatenate([out[:-fade], joint, nxt[fade:]])
    return out


def screened(x_uv: FloatArray, fs_hz: float) -> tuple[FloatArray, float]:
    """The baseline with its spontaneous transients cropped out, and the share removed."""
    windows = screen_spikes(x_uv, fs_hz)
    out = crop(x_uv, fs_hz, windows)
    return out, 1.0 - out.shape[0] / x_uv.shape[0]


def real_contractions(
    fs_hz: float = 1000.0, durations_s: tuple[float, ...] = (0.6, 1.0, 1.4, 1.8, 2.2, 2.5)
) -> list[FloatArray]:
    """Real voluntary contraction onsets from 3Asen RF and VM (knee extensions), µV at 1 kHz.

    Each excerpt starts 100 ms before an onset (RF/VM 100 ms RMS rising above 4x its rest
    level) and lasts one of ``durations_s`` in turn, so it carries the real ramped onset.
    """
    ll = uci_lower_limb()
    out: list[FloatArray] = []
    k = 0
    for x in (ll.rf_uv, ll.vm_uv):
        y = band(x, fs_hz)
        rms = np.sqrt(np.convolve(y**2, np.ones(100) / 100, mode="same"))
        rest = float(np.median(rms[: round(2 * fs_hz)]))
        active = rms > 4 * rest
        onsets = np.flatnonzero(np.diff(active.astype(np.int8)) == 1) + 1
        last = -(10**9)
        for i in (int(v) for v in onsets):
            if i - last < 5 * fs_hz or not active[i : i + round(0.5 * fs_hz)].all():
                continue
            last = i
            start = max(0, i - round(0.1 * fs_hz))
            out.append(y[start : start + round(durations_s[k % len(durations_s)] * fs_hz)])
            k += 1
    return out


def quiet_lower_limb_uv() -> FloatArray:
    """The quiet BF and ST channels of 3Asen, joined end to end: shape (77942,), µV, 1 kHz."""
    ll = uci_lower_limb()
    return np.concatenate([ll.bf_uv - np.mean(ll.bf_uv), ll.st_uv - np.mean(ll.st_uv)])


def myo_rest_uv() -> FloatArray:
    """Quiet stretches of the Myo file (class 1 and unlabelled), shape (n, 8), µV at 200 Hz.

    Kept where the all-channel 0.5 s RMS stays below 2x its class-1 (rest) median, at least
    0.25 s away from any louder stretch; the pieces are joined by crossfades. Counts are scaled
    by the assumed ``MYO_UV_PER_COUNT``.
    """
    counts, labels = myo_gestures()
    x = counts - np.median(counts, axis=0)
    power = np.mean(x**2, axis=1)
    win = round(0.5 * MYO_FS_HZ)
    rms = np.sqrt(np.convolve(power, np.ones(win) / win, mode="same"))
    loud = rms > 2.0 * float(np.median(rms[labels == 1]))
    loud = ndimage.binary_dilation(loud, iterations=win // 2)
    return crop(x, MYO_FS_HZ, mask_to_windows(loud, MYO_FS_HZ)) * MYO_UV_PER_COUNT


MYO_QUIET_CHANNELS = (0, 5, 6, 7)


def myo_quiet_uv() -> FloatArray:
    """Eight columns of quiet Myo rest, shape (n, 8), µV at 200 Hz.

    Channels 3 and 4 (and to a lesser degree 1 and 2) of the rest stretches carry ongoing
    low-level activity (7-15 µV RMS: the forearm holds its posture), which is not rest. The
    four quiet channels (2-3 µV RMS) are used twice, the second time shifted by half their
    length, to fill the eight channels of a Myo. Screened by amplitude: stretches where any
    of the four exceeds 5 robust SDs in the 20-90 Hz band are cropped (a TKEO screen would
    remove everything: the quantised int8 signal is spiky under TKEO).
    """
    quiet = myo_rest_uv()[:, list(MYO_QUIET_CHANNELS)]
    y = band(quiet, MYO_FS_HZ)
    sigma = 1.4826 * np.median(np.abs(y), axis=0)
    hits = np.flatnonzero(np.any(np.abs(y) > 5.0 * sigma, axis=1)) / MYO_FS_HZ
    windows: list[tuple[float, float]] = []
    for t in hits:
        if windows and t - 0.2 <= windows[-1][1]:
            windows[-1] = (windows[-1][0], float(t) + 0.2)
        else:
            windows.append((float(t) - 0.2, float(t) + 0.2))
    quiet = crop(quiet, MYO_FS_HZ, windows)
    return np.concatenate([quiet, np.roll(quiet, quiet.shape[0] // 2, axis=0)], axis=1)
