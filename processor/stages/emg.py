"""One EMG stream through stages A-C: conditioning, envelope, noise floor, twitch, bursts.

The noise floor is piecewise constant between refresh boundaries at absolute sample indices, so
each chunk is cut at those boundaries and every decision is made at an absolute sample index:
the records returned are the same whatever the chunking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from processor.config.detection import DetectionConfig
from processor.stages.conditioning import Conditioner, QualityFlag
from processor.stages.contraction import Burst, ContractionDetector, envelope_stats
from processor.stages.filters import FloatCN, MovingMean
from processor.stages.noise import NoiseFloor
from processor.stages.twitch import TwitchCandidate, TwitchDetector


@dataclass(frozen=True, slots=True)
class TwitchFound:
    """A twitch that survived the contraction check, decided at ``decided_index``."""

    twitch: TwitchCandidate
    decided_index: int


@dataclass(frozen=True, slots=True)
class BurstConfirmed:
    """A burst that lasted ``confirm_ms`` (spasm candidate) with its envelope evidence."""

    burst: Burst
    envelope_cv: float
    rms_factor: float


@dataclass(frozen=True, slots=True)
class BurstEnded:
    """A burst that ended (``burst.end_index`` and ``burst.decided_index`` are set)."""

    burst: Burst


EmgRecord = TwitchFound | BurstConfirmed | BurstEnded | QualityFlag


class EmgDetector:
    """Stages A-C for one EMG stream of ``n_channels`` at ``fs_hz``.

    Args:
        cfg: the whole detection config.
        fs_hz: sample rate.
        n_channels: number of EMG channels.
        unit: ``"uV"`` or ``"counts"``.
        mains_hz: mains decision carried over from before a re-seed.
    """

    def __init__(
        self,
        cfg: DetectionConfig,
        fs_hz: float,
        n_channels: int,
        unit: str,
        mains_hz: float | None = None,
    ) -> None:
        self.fs_hz = fs_hz
        self.n_channels = n_channels
        self._cfg = cfg
        self.conditioner = Conditioner(
            cfg.conditioning, cfg.quality, fs_hz, n_channels, unit=unit, mains_hz=mains_hz
        )
        # at consumer rates (200 Hz) 5 ms is one sample: keep >= 3 so the energy is smoothed
        fast_n = max(3, round(cfg.envelope.fast_ms * fs_hz / 1000))
        self._envelope = MovingMean(fast_n, n_channels)
        self.noise = NoiseFloor(cfg.noise, fs_hz, n_channels)
        self._twitch = TwitchDetector(cfg.twitch, fs_hz, n_channels, unit)
        window_n = round(cfg.envelope.slow_ms * fs_hz / 1000)
        self._bursts = ContractionDetector(cfg.contraction, cfg.spasm, window_n, fs_hz, n_channels)
        tw = cfg.twitch
        self._before_n = round(tw.near_contraction_before_ms * fs_hz / 1000)
        self._after_n = round(tw.near_contraction_after_ms * fs_hz / 1000)
        on_factor = tw.low_rate_on_factor if fs_hz < tw.low_rate_hz else tw.on_factor
        self._delay_n = self._after_n + self._bursts.lag_n
        self._min_burst_n = round(cfg.contraction.min_duration_ms * fs_hz / 1000)
        self._cv_block = max(1, round(50.0 / cfg.noise.decimate_ms))
        self._recent: list[list[Burst]] = [[] for _ in range(n_channels)]
        self._pending: list[TwitchFound] = []
        self._factors = np.array(
            [on_factor, tw.off_factor, tw.onset_factor, cfg.contraction.active_factor]
        )
        self.end_index = 0

    def process_cn(self, raw: FloatCN, start_index: int) -> list[EmgRecord]:
        """Run one chunk of channel-major raw samples ``(n_channels, n)``."""
        n = raw.shape[1]
        cond = self.conditioner.process_cn(raw, start_index)
        records: list[EmgRecord] = list(cond.flags)
        energy = self._envelope.filter(cond.y * cond.y)
        masked = np.where(cond.bad, 0.0, energy) if cond.bad.any() else energy
        if self._quiet_chunk(cond.y, energy, cond.bad, start_index):
            self._decide_twitches(start_index + n, records)
            self.end_index = start_index + n
            return records
        refresh = self.noise.refresh_n
        a = 0
        while a < n:
            b = min(n, a + refresh - (start_index + a) % refresh)
            self._segment(
                cond.y[:, a:b],
                energy[:, a:b],
                masked[:, a:b],
                cond.bad[:, a:b],
                start=start_index + a,
                records=records,
            )
            if (start_index + b) % refresh == 0:
                self.noise.refresh()
            a = b
        self.end_index = start_index + n
        return records

    def _quiet_chunk(self, y: FloatCN, energy: FloatCN, bad: NDArray[np.bool_], start: int) -> bool:
        """Fast path for rest: all segments at once when nothing crosses a threshold.

        The floors the segment loop would compute are derived in one go (sliding medians over
        the history plus this chunk's decimated values); if no sample reaches a twitch or
        activity threshold under those floors, the outcome equals the segment loop's.
        """
        n = y.shape[1]
        noise = self.noise
        if n == 0 or self._twitch.busy or self._bursts.busy or bad.any() or not noise.ready.all():
            return False
        refresh, decim = noise.refresh_n, noise.decim_n
        first_refresh = (-start) % refresh or refresh
        first_dec = (-start) % decim
        values = energy[:, first_dec::decim]
        lowest = min(float(self._factors[0]), float(self._factors[3]))
        if first_refresh > n:  # no refresh inside: one floor for the whole chunk
            if (energy.max(axis=1) > noise.floor * lowest).any():
                return False
            noise.process(values, None)
            self._twitch.skip(y, energy)
            return True
        history = noise.chronological()
        if history is None:
            return False
        bounds = np.arange(first_refresh, n + 1, refresh)  # refreshes after these samples
        seg_starts = np.concatenate([[0], bounds[bounds < n]])
        cap = history.shape[1]
        floors = [noise.floor]
        if bounds.size:
            pushed = (bounds - first_dec + decim - 1) // decim  # decimated values before each bound
            stack = np.concatenate([history, values], axis=1)
            windows = np.lib.stride_tricks.sliding_window_view(stack, cap, axis=1)[:, pushed]
            mid = cap // 2
            medians = np.partition(windows, mid, axis=2)[:, :, mid]
            floors += list(np.maximum(medians, 1e-12).T)
        seg_floor = np.stack(floors[: seg_starts.size], axis=1)  # (n_channels, n_segments)
        seg_max = np.maximum.reduceat(energy, seg_starts, axis=1)
        if (seg_max > seg_floor * lowest).any():
            return False
        noise.process(values, None)
        if bounds.size:
            noise.set_floor(floors[-1])
        self._twitch.skip(y, energy)
        return True

    def _segment(
        self,
        y: FloatCN,
        energy: FloatCN,
        masked: FloatCN,
        bad: NDArray[np.bool_],
        *,
        start: int,
        records: list[EmgRecord],
    ) -> None:
        floor = self.noise.floor
        thr = floor[np.newaxis, :] * self._factors[:, np.newaxis]
        active = masked > thr[3][:, np.newaxis]
        confirmed, ended, counts = self._burst_step(active, masked, start, floor)
        records.extend(confirmed)
        hot = (masked > thr[0][:, np.newaxis]).any(axis=1)
        cands = self._twitch.process(y, masked, start, (thr[0], thr[1], thr[2]), hot)
        for cand in cands:
            decided = max(cand.final_index, cand.end_index + self._delay_n)
            self._pending.append(TwitchFound(cand, decided))
        records.extend(BurstEnded(burst) for burst in ended)
        decim = self.noise.decim_n
        first = (-start) % decim
        pick = slice(first, None, decim)
        valid = ~bad[:, pick]
        if counts is not None:
            valid &= counts[:, pick] < self._bursts.freeze_count
        self.noise.process(energy[:, pick], valid)
        self._decide_twitches(start + y.shape[1], records)

    def _burst_step(
        self, active: NDArray[np.bool_], masked: FloatCN, start: int, floor: FloatCN
    ) -> tuple[list[BurstConfirmed], list[Burst], NDArray[np.int64] | None]:
        confirmed, ended, counts = self._bursts.process(active, start)
        if counts is None:
            return [], ended, None
        n = active.shape[1]
        decim = self.noise.decim_n
        touched = [b for b in self._bursts.open if b is not None] + ended
        out = []
        for burst in touched:
            ch = burst.channel
            if burst not in self._recent[ch]:
                self._recent[ch].append(burst)
            if burst.confirm_index is not None and burst not in confirmed:
                continue
            stop = start + n if burst.confirm_index is None else burst.confirm_index
            lo = max(start, burst.opened_index)
            lo += (-lo) % decim
            if lo < stop:
                vals = masked[ch, lo - start : stop - start : decim] / floor[ch]
                burst.energy.extend(vals.tolist())
            if burst in confirmed:
                cv, rms = envelope_stats(burst.energy, self._cv_block)
                out.append(BurstConfirmed(burst, cv, rms))
        return out, ended, counts

    def _decide_twitches(self, processed_to: int, records: list[EmgRecord]) -> None:
        if not self._pending:
            return
        keep = []
        for found in self._pending:
            if found.decided_index >= processed_to:
                keep.append(found)
            elif not self._near_burst(found.twitch):
                records.append(found)
        self._pending = keep
        horizon = processed_to - self._before_n - self._delay_n
        for ch in range(self.n_channels):
            self._recent[ch] = [
                b for b in self._recent[ch] if b.end_index is None or b.end_index >= horizon
            ]

    def _near_burst(self, twitch: TwitchCandidate) -> bool:
        for burst in self._recent[twitch.channel]:
            if burst.onset_index > twitch.end_index + self._after_n:
                continue
            if (
                burst.end_index is not None
                and burst.end_index - burst.onset_index < self._min_burst_n
            ):
                continue  # a big twitch's own ringing, not a contraction
            if burst.end_index is None or burst.end_index + self._before_n >= twitch.onset_index:
                return True
        return False

    def flush(self) -> list[EmgRecord]:
        """End of stream: decide pending twitches, close bursts and quality episodes."""
        records: list[EmgRecord] = list(self.conditioner.flush())
        for burst in self._bursts.flush(self.end_index):
            if burst not in self._recent[burst.channel]:
                self._recent[burst.channel].append(burst)
            records.append(BurstEnded(burst))
        records.extend(found for found in self._pending if not self._near_burst(found.twitch))
        self._pending = []
        return records
