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
from processor.stages.energy_history import BackgroundWindow, EnergyHistory
from processor.stages.filters import FloatCN, MovingMean, first_true
from processor.stages.noise import NoiseFloor
from processor.stages.twitch import TwitchCandidate, TwitchDetector, energy_window_n
from processor.stages.voluntary import RecentBursts

# noise-floor refreshes the rest fast path looks ahead at most: a single channel stays quiet
# for long; with more channels one of them soon crosses and a longer look-ahead is wasted
_LOOKAHEAD_REFRESHES = (48, 24, 16)  # for 1, 2, 3+ channels
_FLAG_LEAD_MS = 200.0  # a twitch this soon before a quality flag is the bad signal's edge


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
    coactive_channels: int = 0


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
        fast_n = energy_window_n(cfg.envelope.fast_ms, cfg.twitch.low_rate_hz, fs_hz)
        self._envelope = MovingMean(fast_n, n_channels)
        self.noise = NoiseFloor(cfg.noise, fs_hz, n_channels)
        self._twitch = TwitchDetector(
            cfg.twitch, fs_hz, n_channels, unit, self.conditioner.notch_ring_n
        )
        window_n = round(cfg.envelope.slow_ms * fs_hz / 1000)
        self._bursts = ContractionDetector(cfg.contraction, cfg.spasm, window_n, fs_hz, n_channels)
        tw = cfg.twitch
        # every channel's: a contraction anywhere on the wearable makes nearby twitches voluntary
        self._recent = RecentBursts(cfg, fs_hz, self._twitch.is_train)
        low_rate = fs_hz < tw.low_rate_hz
        on_factor = tw.low_rate_on_factor if low_rate else tw.on_factor
        self._delay_n = self._recent.after_n + self._bursts.lag_n
        self._lead_n = min(round(_FLAG_LEAD_MS * fs_hz / 1000), self._delay_n)
        self._cv_block = max(1, round(50.0 / cfg.noise.decimate_ms))
        confirm_n = round(cfg.spasm.confirm_ms * fs_hz / 1000)
        refresh_n = self.noise.refresh_n
        # the window must lie before the segment holding the confirmation in any chunking
        self._coact_n = min(
            round(cfg.spasm.coactivation_ms * fs_hz / 1000), confirm_n - 2 * refresh_n
        )
        # at consumer rates a 10-25 Hz twitch train's ringing fills the window like a contraction
        self._background = None if low_rate else BackgroundWindow.of(tw, fs_hz)
        background_n = 0 if self._background is None else self._background.window_n
        # twitches are decided at most a quiet look-ahead after their delay: keep that much too
        self._lookahead = _LOOKAHEAD_REFRESHES[min(n_channels, 3) - 1]
        decide_n = self._delay_n + self._twitch.lookback_n + (self._lookahead + 2) * refresh_n
        self._history = EnergyHistory(
            n_channels,
            self.noise.decim_n,
            max(confirm_n, decide_n + background_n) + refresh_n,
        )
        self._pending: list[TwitchFound] = []
        self._factors = np.array(
            [on_factor, tw.off_factor, tw.onset_factor, cfg.contraction.active_factor]
        )
        self._lowest = min(on_factor, cfg.contraction.active_factor)
        self.end_index = 0
        self._seg_offset = 0
        self._clean = True
        self._seg_max: FloatCN = np.zeros((n_channels, 0))

    def process_cn(self, raw: FloatCN, start_index: int) -> list[EmgRecord]:
        """Run one chunk of channel-major raw samples ``(n_channels, n)``."""
        n = raw.shape[1]
        cond = self.conditioner.process_cn(raw, start_index)
        records: list[EmgRecord] = list(cond.flags)
        energy = self._envelope.filter(cond.y * cond.y)
        any_bad = bool(cond.bad.any())
        self._clean = not any_bad
        masked = np.where(cond.bad, 0.0, energy) if any_bad else energy
        bad_at = np.flatnonzero(cond.bad.any(axis=0)) if any_bad else None
        refresh = self.noise.refresh_n
        # maxima of the refresh segments of this chunk, taken once for the fast path
        offset = (-start_index) % refresh
        self._seg_offset = offset
        cuts = np.arange(offset or refresh, n, refresh)
        self._seg_max = np.maximum.reduceat(energy, np.append(0, cuts), axis=1) if n else energy
        a = 0
        while a < n:
            quiet_to = self._quiet_prefix(cond.y, energy, bad_at, start_index, a)
            if quiet_to > a:
                self._decide_twitches(start_index + quiet_to, records)
                a = quiet_to
                continue
            b = self._floor_run_end(masked, cond.bad, start_index, a, n)
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
        if n == 0:
            self._decide_twitches(start_index, records)
        self.end_index = start_index + n
        self._prune(self.end_index)
        return records

    def _quiet_prefix(
        self,
        y: FloatCN,
        energy: FloatCN,
        bad_at: NDArray[np.intp] | None,
        start: int,
        a: int,
    ) -> int:
        """Fast path for rest: skip the leading segments of ``[a, n)`` where nothing happens.

        The floors the segment loop would compute are derived in one go (sliding medians over
        the history plus the decimated values ahead); the segments before the first one with a
        sample at a twitch or activity threshold (or a bad sample) under those floors are
        processed in bulk, which equals the segment loop's outcome. Returns the end of that
        quiet prefix (``a``: none).
        """
        n = int(y.shape[1])
        noise = self.noise
        idle = not (self._twitch.busy or self._bursts.busy) and bool(noise.ready.all())
        stop = self._clean_until(bad_at, a, n) if idle else a
        if stop <= a:
            return a
        refresh, decim = noise.refresh_n, noise.decim_n
        offset = self._seg_offset  # ``a`` is always the start of a refresh segment of the chunk
        seg0 = a // refresh if offset == 0 else (0 if a == 0 else (a - offset) // refresh + 1)
        seg_max = self._seg_max
        abs0 = start + a
        first_refresh = a + ((-abs0) % refresh or refresh)  # first refresh after this sample
        first_dec = a + (-abs0) % decim
        lowest = self._lowest
        if first_refresh > n:  # no refresh ahead: one floor for the rest of the chunk
            if stop < n or (seg_max[:, seg0] > noise.floor * lowest).any():
                return a
            self._feed(energy[:, first_dec::decim], start + first_dec)
            self._twitch.skip(y[:, a:], energy[:, a:])
            return n
        # the first segment has the current floor: a crossing there ends the fast path cheaply
        if (
            stop < first_refresh
            or not noise.full
            or (seg_max[:, seg0] > noise.floor * lowest).any()
        ):
            return a
        # look a bounded number of refreshes ahead: the cost stays linear in long chunks
        lim = min(n, first_refresh + (self._lookahead - 1) * refresh)
        n_bounds = (lim - first_refresh) // refresh + 1  # refreshes up to lim, after samples
        bounds = np.arange(n_bounds) * refresh + first_refresh  # first_refresh + k * refresh
        # segment k ends at bound k (the last one at lim when lim is not a refresh)
        n_segs = n_bounds if int(bounds[-1]) == lim else n_bounds + 1
        values = energy[:, first_dec:lim:decim]
        pushed = (bounds - first_dec + decim - 1) // decim  # decimated values before each bound
        medians = noise.medians_ahead(values, pushed)
        seg_floor = np.concatenate([noise.floor[:, np.newaxis], medians], axis=1)
        ahead_max = seg_max[:, seg0 : seg0 + n_segs]
        loud = (ahead_max > seg_floor[:, :n_segs] * lowest).any(axis=0)
        quiet = int(loud.argmax()) if loud.any() else n_segs
        if stop < lim:  # segments ending after a bad sample are not quiet
            quiet = min(quiet, (stop - first_refresh) // refresh + 1)
        if quiet == 0:
            return a
        end = min(first_refresh + (quiet - 1) * refresh, lim)
        self._feed(
            values[:, : int(pushed[quiet - 1]) if end < lim else values.shape[1]], start + first_dec
        )
        passed = min(quiet, n_bounds)  # refreshes inside the prefix
        if passed:
            noise.set_floor(medians[:, passed - 1])
        self._twitch.skip(y[:, a:end], energy[:, a:end])
        return end

    def _floor_run_end(
        self, masked: FloatCN, bad: NDArray[np.bool_], start: int, a: int, n: int
    ) -> int:
        """End of the refresh segments from ``a`` on that share the current noise floor.

        The floor only changes at a refresh after a value was pushed to it; during a
        contraction or bad signal nothing is pushed, so those segments are run as one.
        """
        refresh = self.noise.refresh_n
        into = (start + a) % refresh
        end = min(n, a + refresh - into)
        # mid-segment, the floor may already be behind values pushed since its refresh
        if into or end == n or not self._bursts.busy:
            return end
        if self._learns_at(masked, bad, start, a, end) >= 0:  # cheaper than the look-ahead
            return end
        lim = min(n, end + (self._lookahead - 1) * refresh)
        at = self._learns_at(masked, bad, start, a, lim)
        return lim if at < 0 else min(n, at + refresh - (start + at) % refresh)

    def _learns_at(
        self, masked: FloatCN, bad: NDArray[np.bool_], start: int, a: int, stop: int
    ) -> int:
        """First sample in ``[a, stop)`` whose value the noise floor would take (-1: none)."""
        decim = self.noise.decim_n
        active = masked[:, a:stop] > (self.noise.floor * self._factors[3])[:, np.newaxis]
        first = (-(start + a)) % decim
        pushed = self._bursts.calm(self._bursts.peek(active)[:, first::decim])
        if not self._clean:
            pushed &= ~bad[:, a + first : stop : decim]
        at = first_true(np.logical_or.reduce(pushed, axis=0))
        return -1 if at < 0 else a + first + at * decim

    @staticmethod
    def _clean_until(bad_at: NDArray[np.intp] | None, a: int, n: int) -> int:
        """First bad sample at or after ``a`` (``n``: none)."""
        if bad_at is None:
            return n
        ahead = bad_at[bad_at >= a]
        return int(ahead[0]) if ahead.size else n

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
        valid = None if self._clean else ~bad[:, pick]
        if counts is not None:
            calm = self._bursts.calm(counts[:, pick])
            valid = calm if valid is None else valid & calm
        self._feed(energy[:, pick], start + first, valid, kept=masked[:, pick])
        self._decide_twitches(start + y.shape[1], records)

    def _feed(
        self,
        values: FloatCN,
        first_index: int,
        valid: NDArray[np.bool_] | None = None,
        *,
        kept: FloatCN | None = None,
    ) -> None:
        """Decimated energy from ``first_index`` on, to the noise floor and the energy history.

        Every decimated value must reach both, in order: ``valid`` says which the floor may
        use, ``kept`` (default ``values``) is what the history keeps (bad samples zeroed).
        """
        self.noise.process(values, valid)
        self._history.push(values if kept is None else kept, first_index)

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
            if not burst.floors_at_open:  # first seen: kept until no twitch can need it
                self._recent.add(burst)
                burst.floors_at_open = floor.tolist()
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
                coactive = self._history.coactive(burst, self._coact_n, self._cfg.spasm)
                out.append(BurstConfirmed(burst, cv, rms, coactive))
        return out, ended, counts

    def _decide_twitches(self, processed_to: int, records: list[EmgRecord]) -> None:
        if not self._pending:
            return
        keep = []
        for found in self._pending:
            if found.decided_index >= processed_to:
                keep.append(found)
            elif not self._dropped(found):
                records.append(found)
        self._pending = keep

    def _prune(self, processed_to: int) -> None:
        """Forget bursts and flags that no twitch, found or to be found, can still need."""
        # older ones change no decision: pruning once per chunk only bounds the memory
        needed = processed_to - self._delay_n - self._twitch.lookback_n
        needed = min([needed, *(found.twitch.onset_index for found in self._pending)])
        self.conditioner.forget_flags_before(needed)
        self._recent.forget_before(needed)

    def _dropped(self, found: TwitchFound) -> bool:
        """Voluntary activity around the twitch, or the leading edge of bad signal."""
        tw, window = found.twitch, self._background
        # a lurch's low-frequency flag rises 50-100 ms after its sharp start
        lead = self.conditioner.flagged_within(
            tw.channel, tw.onset_index, tw.end_index + self._lead_n
        )
        busy = window is not None and self._history.on_background(tw, found.decided_index, window)
        known_at = tw.end_index + self._delay_n  # <= the decision sample in any chunking
        return lead or busy or self._recent.surround(tw, found.decided_index, known_at)

    def flush(self, ended_by: str = "end_of_stream") -> list[EmgRecord]:
        """Input stops: decide pending twitches, close bursts and quality episodes.

        Args:
            ended_by: why the input stops (``"end_of_stream"``, ``"gap"``, ``"rate_change"``);
                copied into the bursts still open, which are cut short here.
        """
        records: list[EmgRecord] = list(self.conditioner.flush())
        for burst in self._bursts.flush(self.end_index, ended_by):
            if not burst.floors_at_open:  # never seen open (registered in _burst_step)
                self._recent.add(burst)
            records.append(BurstEnded(burst))
        records.extend(found for found in self._pending if not self._dropped(found))
        self._pending = []
        return records
