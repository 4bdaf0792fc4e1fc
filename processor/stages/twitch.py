"""Stage C1: twitch detector (hysteresis on the energy envelope, absolute sample onsets).

A twitch starts when the envelope exceeds ``on_factor`` x noise floor; its onset is walked back
to where the envelope was below ``onset_factor`` x floor (the causal boxcar starts rising at the
true onset). It ends when the envelope falls below ``off_factor`` x floor. A re-crossing within
``merge_ms`` of the onset belongs to the same twitch (refractory), so 30-40 ms doublets stay two
events. Longer than ``max_active_ms`` is sustained activity, not a twitch.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from processor.config.detection import TwitchConfig
from processor.stages.contraction import Burst
from processor.stages.filters import FloatCN, first_true, last_true

_IDLE, _ACTIVE, _ENDED, _LONG = 0, 1, 2, 3
_END_OF_PEAK = 0.02  # a big twitch has ended once its energy fell to 2 % of its peak
# at consumer rates the mains notch rings at ~5-10 % of a big twitch's peak energy for 40 ms
_LOW_RATE_END_OF_PEAK = 0.1
_SPLIT_VALLEY = 0.25  # a dip to a quarter of the peak ...
_SPLIT_RISE = 4.0  # ... followed by a rise of 4x starts a second twitch (doublet)
_SPLIT_PEAK = 0.5  # ... if that second discharge reaches half the first one's energy (same unit)
_MIN_ACTIVE_SAMPLES = 16
_MEDIAN_ENERGY_PER_VARIANCE = 0.8
_ECHO_MS = 120.0  # the band-pass rings after a big twitch for a few tens of ms; ...
_ECHO_OF_PEAK = 0.2  # ... re-crossings below 20 % of its energy (45 % amplitude) are echoes
_LONG_KEPT = 64  # sustained episodes remembered per channel (a train check looks back < 1 s)
# a mains notch keeps ringing after a burst with up to ~8 % of its peak energy (MUAPs of
# 1.8-6 ms at 200 Hz-4 kHz, every harmonic notched), decaying with the notch's time constant
_RING_SHARE = 0.1
_RING_FADED = 0.05  # ... until the ring is this share of the on threshold


def energy_window_n(fast_ms: float, low_rate_hz: float, fs_hz: float) -> int:
    """Samples in the twitch energy window of a stream at ``fs_hz``.

    5 ms is 1 sample at 200 Hz: keep >= 3 to smooth. At 500-700 Hz 3 samples of rest crossed
    ``on_factor`` 1-3 times a minute: keep the 5 the 1 kHz thresholds were set with.
    """
    return max(3 if fs_hz < low_rate_hz else 5, round(fast_ms * fs_hz / 1000))


@dataclass(frozen=True, slots=True)
class TwitchCandidate:
    """A short above-threshold episode on one channel (absolute sample indices).

    Attributes:
        channel: channel index.
        onset_index: first sample of the twitch.
        end_index: one past its last sample.
        final_index: sample at which the detector closed it (end of the refractory window).
        peak_to_peak: peak-to-peak amplitude of the conditioned signal (µV or counts).
        peak_ratio: envelope maximum over the noise floor.
        floor: the noise floor (energy) the twitch was detected against.
    """

    channel: int
    onset_index: int
    end_index: int
    final_index: int
    peak_to_peak: float
    peak_ratio: float
    floor: float = 0.0


class TwitchDetector:
    """Hysteresis twitch detector over channel-major envelope segments.

    Args:
        cfg: twitch settings.
        fs_hz: sample rate.
        n_channels: number of channels.
        unit: ``"uV"`` or ``"counts"`` (selects the minimum peak-to-peak).
    """

    def __init__(
        self,
        cfg: TwitchConfig,
        fs_hz: float,
        n_channels: int,
        unit: str,
        ring_n: Callable[[int], float] | None = None,
    ) -> None:
        self._cfg = cfg
        self._ring_n = ring_n
        self._n = n_channels
        # at consumer rates the band-pass rings for ~16 samples (80 ms at 200 Hz) after a twitch
        self._max_active_n = max(_MIN_ACTIVE_SAMPLES, round(cfg.max_active_ms * fs_hz / 1000))
        self._merge_n = round(cfg.merge_ms * fs_hz / 1000)
        self._walk_n = max(1, round(15.0 * fs_hz / 1000))
        self._min_pp = cfg.min_peak_counts if unit != "uV" else cfg.min_peak_uv
        low_rate = fs_hz < cfg.low_rate_hz
        self._end_of_peak = _LOW_RATE_END_OF_PEAK if low_rate else _END_OF_PEAK
        self._pp_noise_factor = cfg.low_rate_min_peak_factor if low_rate else 0.0
        # consumer rates: a small candidate must also be a compact burst (see _close)
        self._strict = (
            (cfg.low_rate_strict_on_factor, cfg.low_rate_strict_peak_factor) if low_rate else None
        )
        self._compact_n = max(2, round(cfg.low_rate_compact_ms * fs_hz / 1000))
        self._echo_n = round(_ECHO_MS * fs_hz / 1000)
        # only at consumer rates does a train's ringing fill the duty window like a contraction
        self._train_max_n = round(cfg.train_max_ms * fs_hz / 1000) if low_rate else -1
        self._tail_n = self._max_active_n + self._merge_n + self._walk_n + 4
        self.reset()

    def reset(self) -> None:
        """Forget open twitches and history."""
        self._tail_y = np.zeros((self._n, 0))
        self._tail_e = np.zeros((self._n, 0))
        self._ext_y: FloatCN = self._tail_y
        self._ext_e: FloatCN = self._tail_e
        self._thr_low = 0.0
        self._base = 0
        self._state = [_IDLE] * self._n
        self._onset = [0] * self._n
        self._end = [0] * self._n
        self._peak = [0.0] * self._n
        self._valley = [(0.0, 0)] * self._n
        self._echo_until = [0] * self._n
        self._echo_level = [0.0] * self._n
        self._ring = [(0, 0, 0.0, 1.0)] * self._n  # (from, until, energy, tau_n) of a notch ring
        self._long_at: list[deque[int]] = [deque(maxlen=_LONG_KEPT) for _ in range(self._n)]

    @property
    def lookback_n(self) -> int:
        """How far before the last processed sample an undecided twitch can start (samples)."""
        return self._tail_n + self._merge_n

    @property
    def busy(self) -> bool:
        """Some channel has an open twitch."""
        return any(self._state)

    def is_train(self, burst: Burst, known_at: int) -> bool:
        """Whether a burst, ended by ``known_at``, was a train of discrete twitches.

        A contraction's interference pattern keeps the envelope up for longer than
        ``max_active_ms``; a 10-25 Hz train of discrete twitches never does, although at
        consumer rates (200 Hz) their ringing fills the duty window like a contraction.
        Only bursts decided by ``known_at`` count, so the answer is the same whatever the
        chunking.
        """
        if (
            burst.confirm_index is not None
            or burst.end_index is None
            or burst.decided_index is None
            or burst.decided_index > known_at
            or burst.end_index - burst.onset_index > self._train_max_n
        ):
            return False
        lo = burst.onset_index - self._max_active_n
        return not any(lo <= index <= burst.end_index for index in self._long_at[burst.channel])

    def active_mask(self) -> NDArray[np.bool_]:
        """Channels with an open twitch, ``(n_channels,)``."""
        return np.array([s in {_ACTIVE, _LONG} for s in self._state], dtype=bool)

    def process(
        self,
        y: FloatCN,
        energy: FloatCN,
        start_index: int,
        thresholds: tuple[FloatCN, FloatCN, FloatCN],
        hot: NDArray[np.bool_],
    ) -> list[TwitchCandidate]:
        """Process one segment with constant thresholds.

        Args:
            y: conditioned signal ``(n_channels, n)``.
            energy: envelope with bad samples zeroed ``(n_channels, n)``.
            start_index: absolute index of the first sample.
            thresholds: per-channel (on, off, onset) thresholds ``(n_channels,)`` each.
            hot: channels with an on-crossing in this segment ``(n_channels,)``.

        Returns:
            Twitches closed in this segment, in channel order then time.
        """
        n = y.shape[1]
        base = start_index - self._tail_y.shape[1]
        ext_y = np.concatenate([self._tail_y, y], axis=1)
        self._ext_y, self._base = ext_y, base
        ext_e = np.concatenate([self._tail_e, energy], axis=1)
        self._ext_e = ext_e
        out: list[TwitchCandidate] = []
        for ch in range(self._n):
            if hot[ch] or self._state[ch] != _IDLE:
                out.extend(self._channel(ch, ext_e, start_index, n, thresholds))
        keep = min(self._tail_n, ext_y.shape[1])
        self._tail_y = ext_y[:, ext_y.shape[1] - keep :]
        self._tail_e = ext_e[:, ext_e.shape[1] - keep :]
        return out

    def skip(self, y: FloatCN, energy: FloatCN) -> None:
        """Keep the history up to date over a segment known to hold no twitch."""
        keep = min(self._tail_n, self._tail_y.shape[1] + y.shape[1])
        if y.shape[1] >= keep:  # a long quiet stretch: no need to join it to the old tail
            self._tail_y, self._tail_e = y[:, -keep:].copy(), energy[:, -keep:].copy()
            return
        self._tail_y = np.concatenate([self._tail_y, y], axis=1)[:, -keep:]
        self._tail_e = np.concatenate([self._tail_e, energy], axis=1)[:, -keep:]

    def flush(self) -> list[TwitchCandidate]:
        """Close twitches still waiting for their refractory window at end of stream."""
        return []

    def _channel(
        self,
        ch: int,
        ext_e: FloatCN,
        start: int,
        n: int,
        thresholds: tuple[FloatCN, FloatCN, FloatCN],
    ) -> list[TwitchCandidate]:
        thr_on, thr_off, thr_low = (float(t[ch]) for t in thresholds)
        self._thr_low = thr_low
        row = ext_e[ch, start - self._base :]
        on = row > thr_on
        out: list[TwitchCandidate] = []
        p = 0
        while p < n:
            state = self._state[ch]
            if state == _IDLE:
                onset_at = self._next_onset(ch, row, on, (start, p), thr_on)
                if onset_at < 0:
                    break
                p = onset_at
                self._open(ch, ext_e, start + p, thr_low)
            elif state == _ACTIVE:
                p = self._follow(ch, row, start, p, n, thr=(thr_on, thr_off), out=out)
            elif state == _LONG:
                low_at = first_true(row[p:] <= thr_off)
                if low_at < 0:
                    break
                p += low_at
                self._state[ch] = _IDLE
            else:
                limit = self._onset[ch] + self._merge_n - start
                again = max(thr_on, self._peak[ch] * self._end_of_peak)
                hit_at = first_true(row[p : max(p, min(n, limit))] > again)
                if hit_at >= 0:
                    p += hit_at
                    self._state[ch] = _ACTIVE
                    continue
                close_at = max(self._end[ch], self._onset[ch] + self._merge_n)
                if close_at > start + n:
                    break
                p = max(p, close_at - start)
                self._state[ch] = _IDLE
                cand = self._close(ch, close_at, (thr_on, thr_off))
                if cand is not None:
                    out.append(cand)
        return out

    def _next_onset(
        self, ch: int, row: FloatCN, on: NDArray[np.bool_], at: tuple[int, int], thr_on: float
    ) -> int:
        """First onset at or after ``p`` (-1: none); filter echoes ignore weak re-crossings.

        ``at`` is (absolute index of ``row[0]``, ``p``).
        """
        start, p = at
        ring_from, ring_until, ring_energy, ring_tau = self._ring[ch]
        guard_stop = min(len(on), max(p, self._echo_until[ch] - start, ring_until - start))
        if guard_stop > p:
            # above the current on threshold too: the echo level was set under an older floor,
            # and a crossing below it must not count (segments without one are skipped)
            loud = on[p:guard_stop].copy()
            echo_stop = min(guard_stop, max(p, self._echo_until[ch] - start))
            loud[: echo_stop - p] &= row[p:echo_stop] > self._echo_level[ch]
            if ring_until > start + p:
                # a notch's ring after the last burst: only what stands out of it is new
                ages = np.arange(start + p - ring_from, start + guard_stop - ring_from)
                level = thr_on + ring_energy * np.exp(ages / -ring_tau)
                loud &= row[p:guard_stop] > level
            loud_at = first_true(loud)
            if loud_at >= 0:
                return p + loud_at
            p = guard_stop
        hit_at = first_true(on[p:])
        return p + hit_at if hit_at >= 0 else -1

    def _follow(
        self,
        ch: int,
        row: FloatCN,
        start: int,
        p: int,
        n: int,
        *,
        thr: tuple[float, float],
        out: list[TwitchCandidate],
    ) -> int:
        """Walk an open twitch sample by sample (it is at most ``max_active_ms`` long)."""
        thr_on, thr_off = thr
        while p < n:
            value = float(row[p])
            index = start + p
            if index - self._onset[ch] > self._max_active_n:
                self._state[ch] = _LONG
                self._long_at[ch].append(index)
                return p
            peak = self._peak[ch]
            if value > peak:
                self._peak[ch] = peak = value
                self._valley[ch] = (value, index)
            elif value < self._valley[ch][0]:
                self._valley[ch] = (value, index)
            if value <= max(thr_off, peak * self._end_of_peak):
                self._end[ch] = index
                self._state[ch] = _ENDED
                return p
            valley, valley_at = self._valley[ch]
            if (
                value > thr_on
                and valley_at - self._onset[ch] >= self._merge_n
                and valley <= peak * _SPLIT_VALLEY
                and value >= valley * _SPLIT_RISE
                and value >= peak * _SPLIT_PEAK
            ):
                # a second discharge before the first one faded: a doublet, two twitches
                self._end[ch] = valley_at
                cand = self._close(ch, valley_at, (thr_on, thr_off))
                if cand is not None:
                    out.append(cand)
                self._onset[ch] = self._second_onset(ch, valley, valley_at, index)
                self._peak[ch] = value
                self._valley[ch] = (value, index)
            p += 1
        return p

    def _second_onset(self, ch: int, valley: float, valley_at: int, cross: int) -> int:
        """Onset of a second discharge: walk back from its crossing, not past the dip."""
        level = max(self._thr_low, 2.0 * valley)
        lo, hi = valley_at - self._base, cross - self._base
        last = last_true(self._ext_e[ch, max(lo, 0) : hi] <= level)
        return valley_at + last + 1 if last >= 0 else valley_at

    def _open(self, ch: int, ext_e: FloatCN, cross: int, thr_low: float) -> None:
        base = self._base
        i = cross - base
        previous_end = self._echo_until[ch] - self._echo_n - base
        stop = max(0, i - self._walk_n, previous_end)
        span = ext_e[ch, stop:i]
        level = thr_low
        if stop == previous_end and span.size:
            # right after another twitch its tail is still above thr_low: start from the dip
            level = max(thr_low, 2.0 * float(span.min()))
        last = last_true(span <= level)
        onset = stop + last + 1 if last >= 0 else stop
        self._onset[ch] = base + onset
        self._peak[ch] = 0.0
        self._valley[ch] = (0.0, cross)
        self._state[ch] = _ACTIVE

    def _close(self, ch: int, close_at: int, thr: tuple[float, float]) -> TwitchCandidate | None:
        thr_on, thr_off = thr
        ext_y, base = self._ext_y, self._base
        onset, end = self._onset[ch], self._end[ch]
        self._echo_until[ch] = end + self._echo_n
        self._echo_level[ch] = max(thr_on, self._peak[ch] * _ECHO_OF_PEAK)
        tau = self._ring_n(end) if self._ring_n is not None else 0.0
        ring_energy = self._peak[ch] * _RING_SHARE
        if tau > 0 and ring_energy > _RING_FADED * thr_on:
            until = end + math.ceil(tau * math.log(ring_energy / (_RING_FADED * thr_on)))
            self._ring[ch] = (end, until, ring_energy, tau)
        if end - onset > self._max_active_n:
            return None
        seg = ext_y[ch, max(0, onset - base) : max(0, end - base)]
        if seg.size == 0:
            return None
        pp = float(seg.max() - seg.min())
        floor = thr_off / self._cfg.off_factor
        # the floor is the median of a short energy mean: ~0.8 sigma^2 for Gaussian noise
        noise_rms = math.sqrt(max(floor, 0.0) / _MEDIAN_ENERGY_PER_VARIANCE)
        if pp < max(self._min_pp, self._pp_noise_factor * noise_rms):
            return None
        ratio = self._peak[ch] / max(thr_off / self._cfg.off_factor, 1e-300)
        if self._strict is not None and end - onset > self._compact_n:
            # at 200 Hz an 8-26 ms MUAP rings for <= 45 ms in the energy; the int8
            # sample-and-hold steps of real quiet Myo data ring for 50-60 ms
            strict_on, strict_pp = self._strict
            if ratio < strict_on or pp < strict_pp * noise_rms:
                return None
        return TwitchCandidate(ch, onset, end, close_at, pp, ratio, floor)
