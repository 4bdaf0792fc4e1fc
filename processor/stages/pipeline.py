"""The detection pipeline: interleaved EMG/ACC items in, ordered event lines out.

Twitch and spasm classifications wait until the accelerometer is known past their evidence
window (its samples arrived, an item starting later arrived, or the stream ended); events are
released in (detected_at_s, channel, type, event_id) order once nothing earlier can appear, so
the output is identical whatever the chunking or interleaving (docs/detection.md).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter

import numpy as np

from processor.config.detection import DetectionConfig
from processor.model import Chunk, Event, EventType, Gap, JsonValue, StreamInfo
from processor.stages.accel import AccFeatures
from processor.stages.blocks import BlockJoiner
from processor.stages.classify import Stamp, spasm_rule, twitch_confidence, twitch_visibility
from processor.stages.conditioning import QualityFlag
from processor.stages.emg import BurstConfirmed, BurstEnded, EmgDetector, EmgRecord, TwitchFound
from processor.stages.pending import (
    Pending,
    acc_window,
    burst_end_extras,
    channel_of,
    decided_index,
    gap_event,
    quality_event,
    record_key,
)
from processor.stages.rates import RateTracker

EMG_STREAM = "emg"
ACC_STREAM = "acc"
_INF = math.inf
_TRAIN_S = 0.15  # twitches this close to a visible one on the channel belong to its train
_BLOCK_S = 0.1  # live chunks are joined into blocks this long (blocks.py)


class Pipeline:
    """Streaming detector for one wearable (see docs/detection.md).

    Args:
        cfg: detection config.
        session_id: prefix of every ``event_id``.
        wearable: opaque wearable id copied into every event.
    """

    def __init__(self, cfg: DetectionConfig, *, session_id: str = "s", wearable: str = "") -> None:
        self._cfg = cfg
        self._session = session_id
        self._wearable = wearable
        self.reset()

    def reset(self) -> None:
        """Forget everything (streams, pending events, rates, counters)."""
        self._emg: EmgDetector | None = None
        self._emg_info: StreamInfo | None = None
        self._acc: AccFeatures | None = None
        self._acc_info: StreamInfo | None = None
        self._acc_ended = False
        self._watermark_s = -_INF
        self._emg_done_s = -_INF
        self._pending: list[Pending] = []
        self._rate_stamps: dict[str, Stamp] = {}
        self._burst_evidence: dict[str, dict[str, JsonValue]] = {}
        self._visible_at: dict[str, float] = {}
        self._ready: list[tuple[tuple[float, str, str, str, int], Event]] = []
        self._seq = 0
        self._rates: dict[str, RateTracker] = {}
        self._spasms: dict[str, bool] = {}
        self._counts: Counter[str] = Counter()
        self._mains: float | None = None
        self._blocks = BlockJoiner(_BLOCK_S)

    # ----------------------------------------------------------------- input
    def process(self, item: Chunk | Gap) -> list[Event]:
        """Feed one item (other streams than ``emg``/``acc`` are ignored)."""
        name = item.stream if isinstance(item, Gap) else item.stream.name
        if name not in {EMG_STREAM, ACC_STREAM}:
            return []
        if isinstance(item, Chunk):
            self._counts[f"samples.{name}"] += item.data.shape[0]
            blocks = self._blocks.push(item)
            if not blocks:  # held (live chunks are joined): nothing ran, nothing to release
                return []
            self._drain(blocks)
        else:
            self._drain()
            self._gap(item)
        return self._release(final=False)

    def flush(self) -> list[Event]:
        """End of stream: decide everything still pending and close open spasms."""
        self._drain()
        if self._emg is not None:
            self._handle(self._emg.flush("end_of_stream"), self._stamp_base())
        self._acc_ended = True
        self._emg_done_s = _INF
        self._resolve()
        return self._release(final=True)

    def stats(self) -> dict[str, JsonValue]:
        """Counters: samples per stream, gaps, quality flags, events per type per channel."""
        return {key: int(value) for key, value in sorted(self._counts.items())}

    # ----------------------------------------------------------------- streams
    def _drain(self, blocks: list[Chunk] | None = None) -> None:
        """Run ``blocks`` (default: whatever the joiner holds), oldest first."""
        for block in self._blocks.drain() if blocks is None else blocks:
            (self._emg_chunk if block.stream.name == EMG_STREAM else self._acc_chunk)(block)

    def _item_start(self, info: StreamInfo, start_index: int) -> None:
        self._watermark_s = max(self._watermark_s, info.time_s(start_index))

    def _emg_chunk(self, chunk: Chunk) -> None:
        info = chunk.stream
        self._item_start(info, chunk.start_index)
        if self._emg is None or self._emg_info is None:
            self._new_emg(info, keep_noise=False)
        elif (info.fs_hz, info.channels, info.unit) != (
            self._emg_info.fs_hz,
            self._emg_info.channels,
            self._emg_info.unit,
        ):
            self._restart_emg(info, chunk.start_index, "rate_change")
        self._emg_info = info
        assert self._emg is not None  # noqa: S101 - set just above
        raw = np.ascontiguousarray(chunk.data.T, dtype=np.float64)
        self._handle(self._emg.process_cn(raw, chunk.start_index), self._stamp_base())
        self._emg_done_s = info.time_s(self._emg.end_index)
        self._advance_rates(self._emg_done_s)
        self._resolve()

    def _acc_chunk(self, chunk: Chunk) -> None:
        info = chunk.stream
        self._item_start(info, chunk.start_index)
        if self._acc is None or self._acc_info is None or info.fs_hz != self._acc_info.fs_hz:
            keep_s = (self._cfg.spasm.confirm_ms + self._cfg.spasm.movement_before_ms) / 1000
            self._acc = AccFeatures(
                self._cfg.visibility, self._cfg.noise, info.fs_hz, chunk.data.shape[1], keep_s + 5
            )
        self._acc_info = info
        self._acc.process_cn(np.ascontiguousarray(chunk.data.T), chunk.start_index)
        self._resolve()

    def _gap(self, gap: Gap) -> None:
        self._counts[f"gaps.{gap.stream}"] += 1
        info = self._emg_info if gap.stream == EMG_STREAM else self._acc_info
        if info is None:
            return
        self._item_start(info, gap.start_index)
        stamp = Stamp(self._session, self._wearable, gap.stream, info.t0_s, info.fs_hz)
        self._push(gap_event(gap, stamp))
        if gap.stream == EMG_STREAM and self._emg is not None:
            self._handle(self._emg.flush("gap"), self._stamp_base())
            self._new_emg(info, keep_noise=True)
        elif self._acc is not None:
            self._acc.reseed()
        self._resolve()

    def _restart_emg(self, info: StreamInfo, index: int, why: str) -> None:
        assert self._emg is not None  # noqa: S101 - only called with a running detector
        self._handle(self._emg.flush(why), self._stamp_base())
        stamp = Stamp(self._session, self._wearable, EMG_STREAM, info.t0_s, info.fs_hz)
        extras: dict[str, JsonValue] = {"quality": [why], "fs_hz": info.fs_hz}
        self._push(stamp.event(EventType.SIGNAL_QUALITY, index, index, index, extras))
        self._new_emg(info, keep_noise=False)

    def _new_emg(self, info: StreamInfo, *, keep_noise: bool) -> None:
        old = self._emg
        mains = old.conditioner.mains_hz if old is not None else None
        self._emg = EmgDetector(self._cfg, info.fs_hz, len(info.channels), info.unit, mains)
        if keep_noise and old is not None and old.fs_hz == info.fs_hz:
            self._emg.noise = old.noise
        self._emg_info = info

    def _stamp_base(self) -> StreamInfo:
        assert self._emg_info is not None  # noqa: S101 - records only exist with a stream
        return self._emg_info

    # ----------------------------------------------------------------- records
    def _handle(self, records: list[EmgRecord], info: StreamInfo) -> None:
        for record in sorted(records, key=record_key):
            channel = channel_of(record)
            stamp = Stamp(
                self._session,
                self._wearable,
                info.channels[channel],
                info.t0_s,
                info.fs_hz,
                info.unit,
            )
            if isinstance(record, QualityFlag):
                self._quality(record, stamp)
                continue
            at = stamp.time(decided_index(record))
            rate = 0.0
            if isinstance(record, TwitchFound):
                self._advance_rates(at, inclusive=True)
                rate = self._count_rate(record, stamp)
            self._pending.append(Pending(at, record, stamp, rate))

    def _quality(self, flag: QualityFlag, stamp: Stamp) -> None:
        self._counts[f"quality.{flag.flag}"] += flag.end_index is None
        self._push(quality_event(flag, stamp))

    def _count_rate(self, found: TwitchFound, stamp: Stamp) -> float:
        tracker = self._rates.get(stamp.channel)
        if tracker is None:
            tracker = self._rates[stamp.channel] = RateTracker(self._cfg.rate)
        self._rate_stamps[stamp.channel] = stamp
        rate, change = tracker.add(stamp.time(found.decided_index))
        if change is not None:
            self._rate_event(stamp, found.decided_index, change.rate_per_min, alert=True)
        return rate

    def _advance_rates(self, until_s: float, *, inclusive: bool = False) -> None:
        for channel, tracker in self._rates.items():
            stamp = self._rate_stamps[channel]
            for change in tracker.advance(until_s, inclusive=inclusive):
                index = round((change.time_s - stamp.t0_s) * stamp.fs_hz)
                self._rate_event(stamp, index, change.rate_per_min, alert=False)

    def _rate_event(self, stamp: Stamp, index: int, rate: float, *, alert: bool) -> None:
        extras: dict[str, JsonValue] = {"rate_per_min": round(rate, 3), "alert": alert}
        self._push(stamp.event(EventType.RATE, index, None, index, extras))

    # ----------------------------------------------------------------- resolution
    def _acc_known_s(self) -> float:
        """Time up to which the accelerometer stream is completely known."""
        if self._acc_ended:
            return _INF
        acc_end = -_INF
        if self._acc is not None and self._acc_info is not None:
            acc_end = self._acc_info.time_s(self._acc.end_index)
        return max(acc_end, self._watermark_s)

    def _prune_acc(self) -> None:
        if self._acc is None or self._acc_info is None:
            return
        spasm = self._cfg.spasm
        keep_s = (spasm.confirm_ms + spasm.movement_before_ms) / 1000 + 2.0
        needed = min([self._emg_done_s, *(p.at for p in self._pending)]) - keep_s
        if math.isinf(needed):
            self._acc.prune(self._acc.end_index)
            return
        self._acc.prune(math.floor((needed - self._acc_info.t0_s) * self._acc_info.fs_hz))

    def _resolve(self) -> None:
        self._prune_acc()
        known = self._acc_known_s()
        keep: list[Pending] = []
        for item in self._pending:
            need = item.at
            if isinstance(item.record, TwitchFound):
                onset = item.stamp.time(item.record.twitch.onset_index)
                need = onset + self._cfg.visibility.window_end_ms / 1000
            if need >= known or self._waits_for_confirm(item):
                keep.append(item)
                continue
            self._finish(item)
        self._pending = keep

    def _waits_for_confirm(self, item: Pending) -> bool:
        if not isinstance(item.record, BurstEnded):
            return False
        key = item.stamp.event_id("burst", item.record.burst.onset_index)
        return item.record.burst.confirm_index is not None and key not in self._spasms

    def _finish(self, item: Pending) -> None:
        record, stamp = item.record, item.stamp
        if isinstance(record, TwitchFound):
            self._push(self._twitch_event(record, stamp, item.rate))
        elif isinstance(record, BurstConfirmed):
            self._confirm(record, stamp)
        elif isinstance(record, BurstEnded):
            self._burst_end(record, stamp)

    def _acc_window(self, start_s: float, end_s: float) -> tuple[bool, float, float] | None:
        return acc_window(self._acc, self._acc_info, start_s, end_s)

    def _twitch_event(self, found: TwitchFound, stamp: Stamp, rate: float) -> Event:
        twitch = found.twitch
        vis = self._cfg.visibility
        onset_s = stamp.time(twitch.onset_index)
        acc = None
        quality: list[JsonValue] = []
        if self._acc is not None and self._acc.mmg_usable:
            window = self._acc_window(
                onset_s + vis.window_start_ms / 1000, onset_s + vis.window_end_ms / 1000
            )
            if window is not None:
                acc = (window[0], window[1])
                if not window[0]:
                    quality.append("acc_incomplete")
        kind, evidence, vis_conf = twitch_visibility(
            self._cfg, unit=stamp.unit, peak_to_peak=twitch.peak_to_peak, acc=acc
        )
        last_visible = self._visible_at.get(stamp.channel)
        if evidence == "accelerometer":
            if kind is EventType.FASCICULATION:
                self._visible_at[stamp.channel] = onset_s
            elif last_visible is not None and onset_s - last_visible <= _TRAIN_S:
                # a doublet/train member of a visible twitch: the skin is already moving, so
                # its own transient drowns in the first one's; it is as visible as the first
                kind = EventType.FASCICULATION
                self._visible_at[stamp.channel] = onset_s
        tw = self._cfg.twitch
        on_factor = tw.low_rate_on_factor if stamp.fs_hz < tw.low_rate_hz else tw.on_factor
        confidence = twitch_confidence(twitch.peak_ratio, on_factor)
        extras: dict[str, JsonValue] = {
            "peak_uv": round(twitch.peak_to_peak, 3),
            "unit": stamp.unit,
            "duration_ms": round((twitch.end_index - twitch.onset_index) * 1000 / stamp.fs_hz, 3),
            "rate_per_min": round(rate, 3),
            "confidence": round(confidence * vis_conf, 3),
            "quality": quality,
            "visibility_evidence": evidence,
            "alert": False,
        }
        return stamp.event(kind, twitch.onset_index, twitch.end_index, found.decided_index, extras)

    def _confirm(self, confirmed: BurstConfirmed, stamp: Stamp) -> None:
        burst = confirmed.burst
        key = stamp.event_id("burst", burst.onset_index)
        assert burst.confirm_index is not None  # noqa: S101 - confirmed bursts carry it
        movement: float | None = None
        if self._acc is not None and self._acc.movement_usable:
            before = self._cfg.spasm.movement_before_ms / 1000
            window = self._acc_window(
                stamp.time(burst.onset_index) - before, stamp.time(burst.confirm_index)
            )
            if window is not None and window[0]:
                movement = window[2]
        is_spasm, confidence, reasons = spasm_rule(
            self._cfg,
            envelope_cv=confirmed.envelope_cv,
            rms_factor=confirmed.rms_factor,
            movement_mg=movement,
            coactive_channels=confirmed.coactive_channels,
        )
        self._spasms[key] = is_spasm
        self._burst_evidence[key] = {
            "envelope_cv": round(confirmed.envelope_cv, 3),
            "rms_factor": round(confirmed.rms_factor, 3),
            "movement_mg": None if movement is None else round(movement, 3),
            "coactive_channels": confirmed.coactive_channels,
            "not_spasm_because": list(reasons),
            "confidence": confidence,
        }
        if is_spasm:
            extras = {**self._burst_evidence[key], "unit": stamp.unit, "alert": True, "quality": []}
            extras.pop("not_spasm_because")
            self._push(
                stamp.event(EventType.SPASM, burst.onset_index, None, burst.confirm_index, extras)
            )

    def _burst_end(self, ended: BurstEnded, stamp: Stamp) -> None:
        burst = ended.burst
        assert burst.end_index is not None  # noqa: S101 - ended bursts carry both
        assert burst.decided_index is not None  # noqa: S101
        key = stamp.event_id("burst", burst.onset_index)
        duration_ms = (burst.end_index - burst.onset_index) * 1000 / stamp.fs_hz
        evidence = self._burst_evidence.pop(key, {})
        if self._spasms.pop(key, False):
            kind = EventType.SPASM
        elif duration_ms >= self._cfg.contraction.min_duration_ms:
            kind = EventType.CONTRACTION
        else:
            return
        extras = burst_end_extras(burst, evidence, stamp.unit, duration_ms, kind)
        decided = max(burst.decided_index, burst.end_index)
        self._push(stamp.event(kind, burst.onset_index, burst.end_index, decided, extras))

    # ----------------------------------------------------------------- output order
    def _push(self, event: Event) -> None:
        self._seq += 1
        line = 1 if event.end_s is not None and event.type == EventType.SPASM else 0
        key = (event.detected_at_s, event.channel, str(event.type), event.event_id, line)
        heapq.heappush(self._ready, (key, event))
        self._counts[f"events.{event.type}.{event.channel}"] += 1

    def _horizon_s(self) -> float:
        emg = max(self._emg_done_s, self._watermark_s)
        acc = self._acc_known_s()
        pending = min((p.at for p in self._pending), default=_INF)
        return min(emg, acc, pending)

    def _release(self, *, final: bool) -> list[Event]:
        horizon = _INF if final else self._horizon_s()
        out = []
        while self._ready and self._ready[0][0][0] < horizon:
            out.append(heapq.heappop(self._ready)[1])
        return out
