"""Real voluntary activity: whole real recordings with genuine contractions, replayed live.

Usage::

    python -m benchmarks.real_activity [--json out.json]

The accuracy benchmark injects synthetic events into *quiet* real baselines; this check
replays the real recordings that contain genuine voluntary contractions from start to end
through ``processor.stages.pipeline.Pipeline`` (default ``DetectionConfig()``, live-sized
chunks: 20 ms at 1 kHz, 2 samples at 200 Hz). Nothing in them is a cramp or a labelled
twitch, so the target is 0 spasms during voluntary activity and few twitches there.
Voluntary windows are derived from the data (or, for BioSPPy, from its documented bursts);
see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from benchmarks import baselines
from benchmarks.baselines import mask_to_windows
from benchmarks.detectors import Detection, merge_event_lines
from benchmarks.scoring import WARMUP_S
from processor.config import DetectionConfig
from processor.model import TWITCH_TYPES, Chunk, Event, EventType, StreamInfo

FloatArray = baselines.FloatArray
Window = tuple[float, float]

RMS_WINDOW_S = 0.25
PAD_S = 0.5  # voluntary windows are widened by this on each side (ramps, co-contraction tails)
LOWER_LIMB_FACTOR = 4.0  # RF/VM 250 ms RMS over its first-2-s median
MYO_LOUD_FACTOR = 2.0  # all-channel 250 ms RMS over its class-1 (rest) median
MYO_GESTURE_LABELS = (2, 3, 4, 5, 6)
# emg_1.txt bursts documented in shared/data/real/README.md
BIOSPPY_BURSTS_S: tuple[Window, ...] = ((1.52, 1.79), (15.58, 16.90))
BIOSPPY_AMBIGUOUS_S: tuple[Window, ...] = ((25.69, 25.81), (26.48, 26.60))  # twitch-like


@dataclass(frozen=True)
class RealRecording:
    """One real recording with its voluntary windows and the spans not scored at all."""

    name: str
    emg: FloatArray  # shape (n_samples, n_channels), in ``unit``
    fs_hz: float
    channels: tuple[str, ...]
    unit: str
    chunk_samples: int
    voluntary: list[Window]
    excluded: list[Window] = field(default_factory=list)
    note: str = ""  # printed under the windows: a sanity check or what is excluded

    @property
    def duration_s(self) -> float:
        return float(self.emg.shape[0] / self.fs_hz)


def widen(windows: list[Window], pad_s: float, duration_s: float) -> list[Window]:
    """Each window widened by ``pad_s`` on both sides, clipped to the recording, merged."""
    out: list[Window] = []
    for a, b in sorted(windows):
        lo, hi = max(0.0, a - pad_s), min(duration_s, b + pad_s)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def moving_rms(x: FloatArray, fs_hz: float, window_s: float = RMS_WINDOW_S) -> FloatArray:
    """Centred moving RMS over ``window_s`` of ``x`` (shape (n,)); the mean square of rows
    when ``x`` has channels, so shape (n,) either way."""
    power = x**2 if x.ndim == 1 else np.mean(x**2, axis=1)
    n = max(1, round(window_s * fs_hz))
    return np.asarray(np.sqrt(np.convolve(power, np.ones(n) / n, mode="same")), dtype=np.float64)


def lower_limb_windows(ll: baselines.LowerLimb) -> list[Window]:
    """3Asen knee extensions: RF or VM 20-450 Hz 250 ms RMS above 4x its first-2-s median."""
    active = np.zeros(ll.rf_uv.shape[0], dtype=bool)
    rest = slice(0, round(2.0 * ll.fs_hz))
    for x in (ll.rf_uv, ll.vm_uv):
        rms = moving_rms(baselines.band(x, ll.fs_hz), ll.fs_hz)
        active |= rms > LOWER_LIMB_FACTOR * float(np.median(rms[rest]))
    return widen(mask_to_windows(active, ll.fs_hz), PAD_S, active.shape[0] / ll.fs_hz)


def myo_windows(counts: FloatArray, labels: NDArray[np.int64]) -> list[Window]:
    """Myo gestures (labels 2-6) plus unlabelled (0) stretches louder than 2x rest (label 1)."""
    fs = baselines.MYO_FS_HZ
    rms = moving_rms(counts - np.median(counts, axis=0), fs)
    loud = rms > MYO_LOUD_FACTOR * float(np.median(rms[labels == 1]))
    active = np.isin(labels, MYO_GESTURE_LABELS) | ((labels == 0) & loud)
    return widen(mask_to_windows(active, fs), PAD_S, labels.shape[0] / fs)


def recordings() -> Iterator[RealRecording]:
    ll = baselines.uci_lower_limb()
    windows = lower_limb_windows(ll)
    # the knee angle is an independent check: each window should hold one full extension
    swings = [np.ptp(ll.knee_deg[round(a * ll.fs_hz) : round(b * ll.fs_hz)]) for a, b in windows]
    yield RealRecording(
        "uci_lower_limb 3Asen",
        np.stack([ll.rf_uv, ll.bf_uv, ll.vm_uv, ll.st_uv], axis=1),
        ll.fs_hz,
        ("rf", "bf", "vm", "st"),
        "uV",
        20,
        windows,
        note="knee angle range in each window (deg): " + ", ".join(f"{v:.0f}" for v in swings),
    )
    counts, labels = baselines.myo_gestures()
    yield RealRecording(
        "myo gestures",
        counts,
        baselines.MYO_FS_HZ,
        tuple(f"emg_{i}" for i in range(counts.shape[1])),
        "counts",
        2,
        myo_windows(counts, labels),
    )
    emg = baselines.biosppy_emg_uv()
    duration_s = emg.shape[0] / 1000.0
    yield RealRecording(
        "biosppy emg_1",
        emg[:, None],
        1000.0,
        ("emg",),
        "uV",
        20,
        widen(list(BIOSPPY_BURSTS_S), PAD_S, duration_s),
        excluded := widen(list(BIOSPPY_AMBIGUOUS_S), PAD_S, duration_s),
        note=f"not scored (two 120 ms twitch-like bursts): {_fmt_windows(excluded)}",
    )


def replay(rec: RealRecording, cfg: DetectionConfig | None = None) -> list[Detection]:
    """The recording in fixed live-sized chunks, then flushed; one detection per event_id."""
    from processor.stages.pipeline import Pipeline

    info = StreamInfo("emg", rec.fs_hz, rec.channels, rec.unit)
    pipeline = Pipeline(cfg or DetectionConfig(), session_id="real")
    events: list[Event] = []
    for start in range(0, rec.emg.shape[0], rec.chunk_samples):
        block = np.ascontiguousarray(rec.emg[start : start + rec.chunk_samples])
        events += pipeline.process(Chunk(info, start, block))
    events += pipeline.flush()
    return merge_event_lines(events)


def _overlaps(lo: float, hi: float, windows: list[Window]) -> bool:
    return any(lo <= b and hi >= a for a, b in windows)


def _length_s(windows: list[Window], minus: list[Window]) -> float:
    """Total length of ``windows`` outside ``minus`` (both lists merged and sorted)."""
    total = 0.0
    for a, b in windows:
        total += b - a
        for c, d in minus:
            total -= max(0.0, min(b, d) - max(a, c))
    return total


def score(rec: RealRecording, dets: list[Detection]) -> dict[str, float]:
    """Counts for one recording; twitches and spasms that touch an excluded span are ignored."""
    vol, excl = rec.voluntary, rec.excluded
    spasm_in = spasm_out = tw_in = tw_out = 0
    hit: set[int] = set()
    n_contractions = 0
    for d in dets:
        # a spasm with no end line (should not happen after flush) lasts until it was confirmed
        end = d.end_s if d.end_s is not None else (d.detected_at_s or d.start_s)
        if d.type == EventType.SPASM:
            if _overlaps(d.start_s, end, excl):
                continue
            if _overlaps(d.start_s, end, vol):
                spasm_in += 1
            else:
                spasm_out += 1
        elif d.type in TWITCH_TYPES:
            if _overlaps(d.start_s, d.start_s, excl):
                continue
            if _overlaps(d.start_s, d.start_s, vol):
                tw_in += 1
            elif d.start_s >= WARMUP_S:  # as in scoring.py: the warm-up is not scored
                tw_out += 1
        elif d.type == EventType.CONTRACTION:
            n_contractions += 1
            hit.update(i for i, (a, b) in enumerate(vol) if d.start_s <= b and end >= a)
    vol_min = _length_s(vol, excl) / 60.0
    warm = [(0.0, WARMUP_S)]
    out_min = _length_s([(0.0, rec.duration_s)], widen(vol + excl + warm, 0.0, 1e9)) / 60.0
    return {
        "minutes": rec.duration_s / 60.0,
        "voluntary_minutes": vol_min,
        "voluntary_windows": len(vol),
        "spasms_in_voluntary": spasm_in,
        "spasms_elsewhere": spasm_out,
        "twitches_in_voluntary": tw_in,
        "twitches_in_voluntary_per_min": tw_in / vol_min if vol_min else float("nan"),
        "contractions": n_contractions,
        "windows_with_contraction": len(hit),
        "outside_minutes": out_min,
        "twitches_outside": tw_out,
        "twitches_outside_per_min": tw_out / out_min if out_min else float("nan"),
    }


def total(rows: dict[str, dict[str, float]]) -> dict[str, float]:
    keys = [k for k in next(iter(rows.values())) if not k.endswith("_per_min")]
    t = {k: sum(r[k] for r in rows.values()) for k in keys}
    vol, out = t["voluntary_minutes"], t["outside_minutes"]
    t["twitches_in_voluntary_per_min"] = t["twitches_in_voluntary"] / vol if vol else float("nan")
    t["twitches_outside_per_min"] = t["twitches_outside"] / out if out else float("nan")
    return t


def _fmt_windows(windows: list[Window]) -> str:
    return ", ".join(f"{a:.1f}-{b:.1f}" for a, b in windows)


def evaluate(*, verbose: bool = True) -> dict[str, dict[str, float]]:
    """Replay every recording and score it: {recording name: figures}."""
    rows: dict[str, dict[str, float]] = {}
    for rec in recordings():
        if verbose:
            n = len(rec.voluntary)
            print(f"{rec.name}: {n} voluntary windows (s): {_fmt_windows(rec.voluntary)}")
            if rec.note:
                print(f"  {rec.note}")
        rows[rec.name] = score(rec, replay(rec))
    return rows


def report(rows: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Print the table (one row per recording and a total row); returns the JSON summary."""
    summary = {**rows, "total": total(rows)}
    print("\n== Real voluntary activity (whole real recordings, twitchwatch, live chunks) ==")
    cols = "vol. min|spasms in vol.|tw/min in vol.|contr. (win hit)|spasms else|tw/min outside"
    print(f"{'recording':<24}" + "".join(f"{c:>18}" for c in cols.split("|")))
    for name, r in summary.items():
        hit = f"{r['windows_with_contraction']:.0f}/{r['voluntary_windows']:.0f}"
        cells = (
            f"{r['voluntary_minutes']:.2f}",
            f"{r['spasms_in_voluntary']:.0f}",
            f"{r['twitches_in_voluntary_per_min']:.1f} ({r['twitches_in_voluntary']:.0f})",
            f"{r['contractions']:.0f} ({hit})",
            f"{r['spasms_elsewhere']:.0f}",
            f"{r['twitches_outside_per_min']:.1f} ({r['twitches_outside']:.0f})",
        )
        print(f"{name:<24}" + "".join(f"{c:>18}" for c in cells))
    met = summary["total"]["spasms_in_voluntary"] == 0
    print(f"{'MET ' if met else 'MISS'}  spasms during real voluntary activity == 0")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    summary = report(evaluate())
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1, default=float), encoding="utf-8")


if __name__ == "__main__":
    main()
