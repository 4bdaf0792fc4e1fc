"""The detectors compared by the benchmarks, all returning the same ``Detection`` records.

* twitchwatch: ``processor.stages.pipeline.Pipeline`` fed live-sized chunks (20-50 ms, random
  per chunk, seeded) of EMG and accelerometer interleaved in time order, then flushed.
* NeuroKit2: ``nk.emg_process`` per channel (its default ``threshold`` activation); each
  activation is one detection (onset, offset).
* BioSPPy: ``biosppy.signals.emg.emg`` per channel; it returns onsets only.

Third-party detectors are batch (they see the whole file) and know no event classes: each
activation counts as a twitch candidate, and as a spasm if it lasts >= the spasm
confirmation time (NeuroKit only; BioSPPy gives no offsets).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from processor.config import DetectionConfig
from processor.model import Chunk, Event, StreamInfo
from processor.synth import SynthRecording


@dataclass(frozen=True, slots=True)
class Detection:
    """One detector output, in the event-log vocabulary.

    Attributes:
        type: ``fasciculation``, ``fibrillation``, ``spasm``, ``contraction``, ... or
            ``activation`` for a third-party onset/offset pair.
        channel: EMG channel name.
        start_s: onset, s.
        end_s: end, s (None: unknown).
        detected_at_s: when a causal detector decided (None for batch detectors).
        event_id: id (spasm lines are merged per id).
    """

    type: str
    channel: str
    start_s: float
    end_s: float | None
    detected_at_s: float | None
    event_id: str = ""


def live_items(
    rec: SynthRecording, *, seed: int = 0, min_ms: float = 20.0, max_ms: float = 50.0
) -> Iterator[Chunk]:
    """The recording as a live wearable would deliver it: small chunks, streams interleaved."""
    rng = np.random.default_rng(seed)
    emg = StreamInfo("emg", rec.fs_hz, rec.emg_channels, "uV")
    streams: list[tuple[StreamInfo, np.ndarray]] = [(emg, rec.emg_uv)]
    if rec.acc_g is not None and rec.acc_fs_hz is not None:
        streams.append(
            (StreamInfo("acc", rec.acc_fs_hz, ("acc_x", "acc_y", "acc_z"), "g"), rec.acc_g)
        )
    chunks: list[tuple[float, int, Chunk]] = []
    for order, (info, data) in enumerate(streams):
        start = 0
        while start < data.shape[0]:
            n = max(1, round(float(rng.uniform(min_ms, max_ms)) * 1e-3 * info.fs_hz))
            block = np.ascontiguousarray(data[start : start + n], dtype=np.float64)
            chunks.append((start / info.fs_hz, order, Chunk(info, start, block)))
            start += n
    chunks.sort(key=lambda c: (c[0], c[1]))
    for _, _, chunk in chunks:
        yield chunk


def run_twitchwatch(
    rec: SynthRecording, cfg: DetectionConfig | None = None, *, seed: int = 0
) -> list[Detection]:
    """Feed the recording through the pipeline in live-sized chunks; spasm lines merged."""
    from processor.stages.pipeline import Pipeline

    pipeline = Pipeline(cfg or DetectionConfig(), session_id="bench")
    events: list[Event] = []
    for chunk in live_items(rec, seed=seed):
        events += pipeline.process(chunk)
    events += pipeline.flush()
    return merge_event_lines(events)


def merge_event_lines(events: list[Event]) -> list[Detection]:
    """One detection per ``event_id``: first line's detected_at_s, last line's end_s."""
    merged: dict[str, Detection] = {}
    for e in events:
        first = merged.get(e.event_id)
        merged[e.event_id] = Detection(
            type=str(e.type),
            channel=e.channel,
            start_s=e.start_s,
            end_s=e.end_s if e.end_s is not None else (first.end_s if first else None),
            detected_at_s=first.detected_at_s if first else e.detected_at_s,
            event_id=e.event_id,
        )
    return list(merged.values())


def run_neurokit(rec: SynthRecording) -> list[Detection]:
    import neurokit2 as nk

    out = []
    for c, name in enumerate(rec.emg_channels):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, info = nk.emg_process(rec.emg_uv[:, c], sampling_rate=int(rec.fs_hz))
        onsets = np.asarray(info.get("EMG_Onsets", []), dtype=float)
        offsets = np.asarray(info.get("EMG_Offsets", []), dtype=float)
        for on, off in zip(onsets, offsets, strict=False):
            if np.isfinite(on):
                out.append(
                    Detection(
                        "activation",
                        name,
                        on / rec.fs_hz,
                        off / rec.fs_hz if np.isfinite(off) else None,
                        None,
                    )
                )
    return out


def run_biosppy(rec: SynthRecording) -> list[Detection]:
    from biosppy.signals import emg

    out = []
    for c, name in enumerate(rec.emg_channels):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = emg.emg(signal=rec.emg_uv[:, c], sampling_rate=rec.fs_hz, show=False)
        out += [
            Detection("activation", name, float(i) / rec.fs_hz, None, None)
            for i in result["onsets"]
        ]
    return out


DETECTORS = {"twitchwatch": run_twitchwatch, "neurokit2": run_neurokit, "biosppy": run_biosppy}
