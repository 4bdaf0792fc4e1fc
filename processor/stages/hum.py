"""Mains hum removal that does not ring after a twitch.

A notch at ``f`` Hz subtracts what a narrow resonator at ``f`` extracts from the signal. A
resonator fed a big twitch keeps ringing at ``f`` for a few hundred ms (time constant
``q / (2 pi f)``, up to 8 % of the twitch's energy): after a 300 µV twitch in 10 µV of hum the
energy stayed above the twitch and activity thresholds for 100-200 ms. Here the notches see
the signal clipped to ``_CLIP_X_RMS`` x its usual RMS (the median RMS of the last
``_HISTORY`` 100 ms blocks, on an absolute block grid), and what was clipped off is added back
after them: hum and rest noise pass the notches whole, a twitch reaches them as no more than
that level, and its excess passes untouched. Where nothing is clipped the output is exactly
the notches' output.

That level holds the hum too, so a strong hum would let a twitch through at its own size. On
the channels told to (``follow``), the signal is clipped around its hum instead: the hum is
predicted as the median of the samples 1-5 lags earlier (twitches in two of them, e.g. two
twitches one lag apart, are ignored), at ``_PREDICTED_CLIP_X_RMS`` x the usual RMS of what is
left. The lag (:func:`hum_lag_n`) is a whole number of samples and of mains periods: 100 ms at
1 kHz, 250 ms for 60 Hz at 1024 Hz.

Hum that the clip level or the prediction has not caught up with (it rose, or vanished) is
clipped off period after period: where the clipped-off part repeated, sign for sign, one mains
period earlier for most of the last 50 ms (``follow``), the notches take the signal whole.

Where the mains runs off nominal (measured by ``mains.MainsProbe``), ``retune`` moves the notches
to the measured lines, carrying on from their state.

The clip level of a block is fixed when the block begins, from blocks already complete, and the
prediction uses earlier samples only, so the output is the same whatever the chunking.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray
from scipy import signal

from processor.stages.filters import FloatCN, RunningCount, SosState

_BLOCK_S = 0.1
_HISTORY = 10  # blocks: 1 s; until half of them are seen nothing is clipped
_CLIP_X_RMS = 2.0  # hum alone peaks at 1.41 x its RMS, Gaussian noise at 2 x for 5 % of samples
_PREDICTED_CLIP_X_RMS = 2.5  # what is left around a predicted hum is noise (and drift)
# where the clipped-off part has repeated, sign for sign, one mains period earlier for most of
# the last 50 ms, it is hum the clip level or the prediction has not caught up with (the hum
# changed), not a twitch (a fifth of the window at most) nor a contraction (a third or so)
_REPEATING_S = 0.05
_REPEATING_SHARE = 0.6
_PREDICTED_LAGS = 5  # a median of 3 took two twitches 100 ms apart for hum
_MIN_LAG_S = 0.1  # longer than a twitch: one twitch lands in one of the earlier samples only
_MAX_LAG_S = 0.5
# a lag off by 0.002 periods predicts a 50x noise hum with an error of 0.6x the noise
_LAG_TOLERANCE_PERIODS = 0.002


def hum_lag_n(mains_hz: float, fs_hz: float) -> int:
    """Samples in the shortest lag of at least 100 ms that holds whole mains periods (0: none).

    Whole to within ``_LAG_TOLERANCE_PERIODS``, and at most ``_MAX_LAG_S``.
    """
    period_n = fs_hz / mains_hz
    periods = math.ceil(_MIN_LAG_S * mains_hz - 1e-9)
    while periods * period_n <= _MAX_LAG_S * fs_hz + 1e-9:
        lag = round(periods * period_n)
        if abs(periods * period_n - lag) <= _LAG_TOLERANCE_PERIODS * period_n:
            return lag
        periods += 1
    return 0


def mains_lines(mains_hz: float, fs_hz: float, max_hz: float) -> list[float]:
    """``mains_hz`` and its harmonics up to ``max_hz`` and below 0.49 x the sample rate."""
    lines = []
    k = 1
    while k * mains_hz <= max_hz and k * mains_hz < 0.49 * fs_hz:
        lines.append(k * mains_hz)
        k += 1
    return lines


class HumCanceller:
    """Remove the hum at ``lines_hz`` from channel-major ``(n_channels, n)`` signals.

    Args:
        lines_hz: mains lines to notch (one second-order section each, in this order).
        q: quality factor of every notch (bandwidth ``f / q``).
        fs_hz: sample rate.
        n_channels: number of channels.
        families: sizes of consecutive groups of ``lines_hz`` (one per candidate mains) of which
            ``keep`` will keep lines of one only. Each group also runs on its own, so the one
            kept takes over with the state it built on the same input: dropping the others'
            sections from the cascade would change its input and make 100 µV of hum ring.
    """

    def __init__(
        self,
        lines_hz: Sequence[float],
        q: float,
        fs_hz: float,
        n_channels: int,
        families: Sequence[int] = (),
    ) -> None:
        self._lines = list(lines_hz)
        self._q = q
        sections = self._sections(self._lines, fs_hz)
        self._notch = SosState(sections, n_channels)
        bounds = list(itertools.accumulate(families, initial=0))
        self._families = [
            (lo, SosState(sections[lo:hi], n_channels)) for lo, hi in itertools.pairwise(bounds)
        ]
        self._block_n = max(1, round(_BLOCK_S * fs_hz))
        self._repeating_n = max(2, round(_REPEATING_S * fs_hz))
        self._repeats = RunningCount(self._repeating_n, n_channels)
        self._period_n = 0  # one mains period in samples, once the mains is known (0: not yet)
        self._fs = fs_hz
        self._lag_n = 0
        # until ``follow`` is called, keep enough signal to predict from at once with any lag
        self._watch_n = _PREDICTED_LAGS * math.ceil(_MAX_LAG_S * fs_hz)
        self._n = n_channels
        self._predicting = np.zeros(n_channels, dtype=bool)
        self._clip_x_rms = np.full((n_channels, 1), _CLIP_X_RMS)
        self.reset()

    @property
    def lines_hz(self) -> tuple[float, ...]:
        """The lines notched now."""
        return tuple(self._lines)

    def _sections(self, lines_hz: Sequence[float], fs_hz: float) -> FloatCN:
        notches = [np.concatenate(signal.iirnotch(f, self._q, fs=fs_hz)) for f in lines_hz]
        return np.asarray(notches, np.float64).reshape(-1, 6)

    def reset(self) -> None:
        """Forget the notches' state and the block history."""
        self._notch.reset()
        for _, family in self._families:
            family.reset()
        self._rms = np.full((self._n, _HISTORY), np.inf)  # oldest first
        self._tail: FloatCN = np.zeros((self._n, 0))  # samples of the unfinished block
        self._first: int | None = None
        self._level = np.full(self._n, np.inf)  # clip level of the unfinished block
        self._recent: FloatCN = np.zeros((self._n, 0))  # the last lags, for the prediction
        self._signs = np.zeros((self._n, self._period_n), np.int8)  # clipped off, last period
        self._repeats.reset()

    def usual_rms(self) -> FloatCN:
        """Median RMS of the last blocks seen, per channel (inf before the first)."""
        seen = np.where(np.isinf(self._rms), np.nan, self._rms)
        if np.isnan(seen).all():
            return np.full(self._n, np.inf)
        return np.asarray(np.nanmedian(seen, axis=1))

    def follow(self, mains_hz: float, predicting: NDArray[np.bool_]) -> None:
        """From now on follow the mains at ``mains_hz`` (0.0: none); predict hum on ``predicting``.

        Prediction is for channels with strong hum. A lag of whole mains periods
        (:func:`hum_lag_n`) makes the hum repeat from lag to lag; the median of five lags
        ignores twitches in two of them. No such lag: not predicted. On every channel, where
        the clipped-off part repeats every period, it is hum.
        """
        self._period_n = round(self._fs / mains_hz) if mains_hz else 0
        self._signs = np.zeros((self._n, self._period_n), np.int8)
        self._lag_n = hum_lag_n(mains_hz, self._fs) if mains_hz else 0
        self._predicting = predicting & (self._lag_n > 0)
        self._watch_n = 0
        span = _PREDICTED_LAGS * self._lag_n if self._predicting.any() else 0
        self._recent = self._recent[:, -span:] if span else np.zeros((self._n, 0))
        self._clip_x_rms = np.where(self._predicting, _PREDICTED_CLIP_X_RMS, _CLIP_X_RMS)[
            :, np.newaxis
        ]

    def keep(self, keep: NDArray[np.bool_]) -> None:
        """Notch only the lines flagged in ``keep`` from now on, with their current state."""
        self._lines = [f for f, kept in zip(self._lines, keep, strict=True) if kept]
        at = np.flatnonzero(keep)
        for lo, family in self._families:
            hi = lo + family.n_sections
            if at.size and lo <= at[0] and at[-1] < hi:  # one mains' lines: its own notches
                family.drop_sections(keep[lo:hi])
                self._notch = family
                break
        else:
            self._notch.drop_sections(keep)
        self._families = []

    def retune(self, scale: float) -> None:
        """Notch the lines times ``scale`` (the mains measured off nominal) from now on.

        The notches carry on from their state: it holds the hum they were removing, which the
        retuned ones go on removing (started cold, they would pass it for a few hundred ms).
        """
        self._lines = [f * scale for f in self._lines]
        self._notch = self._notch.retuned(self._sections(self._lines, self._fs))

    def _notched(self, x: FloatCN) -> FloatCN:
        for _, family in self._families:
            family.filter(x)
        return self._notch.filter(x)

    def filter(self, band: FloatCN, start_index: int) -> FloatCN:
        """The signal without its hum (a new array); ``start_index`` is ``band[:, 0]``'s."""
        if not self._lines or band.shape[1] == 0:
            return np.array(band, dtype=np.float64, copy=True)
        if self._watch_n:
            self._recent = np.concatenate([self._recent, band], axis=1)[:, -self._watch_n :]
        hum = self._predicted(band) if self._predicting.any() else None
        left = band if hum is None else band - hum
        level = self._levels(left, start_index)
        if level is None:
            return self._notched(band)
        held = np.clip(left, -level, level)
        repeating = self._repeating(left, held)
        if repeating is not None:  # the notches take that hum as it is
            held = np.where(repeating, left, held)
        if hum is not None:  # the samples not clipped stay exactly as they were
            held = np.where(held == left, band, held + hum)
        excess = band - held  # exactly 0 wherever nothing was clipped
        y = self._notched(held)
        y += excess
        return y

    def _repeating(self, left: FloatCN, held: FloatCN) -> NDArray[np.bool_] | None:
        """Samples ending a window whose clipped-off part mostly repeated a period earlier."""
        period, window = self._period_n, self._repeating_n
        if not period:
            return None
        signs = np.sign(left - held).astype(np.int8)
        joined = np.concatenate([self._signs, signs], axis=1)
        self._signs = joined[:, -period:]
        again = (signs != 0) & (signs == joined[:, :-period])
        if self._repeats.idle and not again.any():
            return None
        repeating = self._repeats.count(again) >= _REPEATING_SHARE * window
        return repeating if repeating.any() else None

    def _predicted(self, band: FloatCN) -> FloatCN:
        """The hum predicted for every sample of ``band`` (0 on channels not predicting)."""
        lag = self._lag_n
        span = _PREDICTED_LAGS * lag
        recent = self._recent
        if recent.shape[1] < span:  # not seen (stream start, reset, prediction start): no hum
            recent = np.concatenate([np.zeros((self._n, span - recent.shape[1])), recent], axis=1)
        joined = np.concatenate([recent, band], axis=1)
        self._recent = joined[:, -span:].copy()
        n = band.shape[1]
        earlier = np.stack(
            [joined[:, span - k * lag : span - k * lag + n] for k in range(1, _PREDICTED_LAGS + 1)]
        )
        hum = np.partition(earlier, _PREDICTED_LAGS // 2, axis=0)[_PREDICTED_LAGS // 2]
        hum[~self._predicting] = 0.0
        return np.asarray(hum)

    def _levels(self, x: FloatCN, start_index: int) -> FloatCN | None:
        """Per-sample clip levels for ``x`` ``(n_channels, n)`` (None: nothing clipped yet)."""
        n, block = x.shape[1], self._block_n
        if self._first is None:
            self._first = start_index
        rms = self._finished_blocks(x, start_index)
        # boundaries in (0, n]: each ends a block; one begun before the stream began has no RMS
        first_at = block - start_index % block
        at = np.arange(first_at, n + 1, block)
        levels = np.repeat(self._level[:, np.newaxis], at.size + 1, axis=1)
        if rms.shape[1]:
            history = np.concatenate([self._rms, rms], axis=1)
            windows = sliding_window_view(history, _HISTORY, axis=1)[:, 1:]
            levels[:, at.size + 1 - rms.shape[1] :] = self._clip_x_rms * np.median(windows, axis=2)
            self._rms = history[:, -_HISTORY:]
            self._level = levels[:, -1].copy()
        if np.isinf(levels).all():
            return None
        widths = np.diff(np.concatenate([[0], at[at < n], [n]]))
        return np.repeat(levels[:, : widths.size], widths, axis=1)

    def _finished_blocks(self, x: FloatCN, start_index: int) -> FloatCN:
        """RMS ``(n_channels, k)`` of the blocks this chunk finishes, each summed in one go."""
        block = self._block_n
        joined = np.concatenate([self._tail, x], axis=1) if self._tail.shape[1] else x
        begin = start_index - self._tail.shape[1]
        lead = (-begin) % block if begin == self._first else 0
        count = max(0, joined.shape[1] - lead) // block
        # until the first boundary arrives, keep what was seen: the lead is known from it
        done = lead + count * block if joined.shape[1] >= lead else 0
        self._tail = joined[:, done:].copy()
        part = joined[:, lead:done]
        squares = np.add.reduce((part * part).reshape(self._n, count, block), axis=2)
        return np.asarray(np.sqrt(squares / block))
