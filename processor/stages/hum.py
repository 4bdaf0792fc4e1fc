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

The clip level of a block is fixed when the block begins, from blocks already complete, so the
output is the same whatever the chunking.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray
from scipy import signal

from processor.stages.filters import FloatCN, SosState

_BLOCK_S = 0.1
_HISTORY = 10  # blocks: 1 s; until half of them are seen nothing is clipped
_CLIP_X_RMS = 2.0  # hum alone peaks at 1.41 x its RMS, Gaussian noise at 2 x for 5 % of samples


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
    """

    def __init__(self, lines_hz: Sequence[float], q: float, fs_hz: float, n_channels: int) -> None:
        self._lines = list(lines_hz)
        sections = [np.concatenate(signal.iirnotch(f, q, fs=fs_hz)) for f in self._lines]
        self._notch = SosState(np.asarray(sections, dtype=np.float64).reshape(-1, 6), n_channels)
        self._block_n = max(1, round(_BLOCK_S * fs_hz))
        self._n = n_channels
        self.reset()

    @property
    def lines_hz(self) -> tuple[float, ...]:
        """The lines notched now."""
        return tuple(self._lines)

    def reset(self) -> None:
        """Forget the notches' state and the block history."""
        self._notch.reset()
        self._rms = np.full((self._n, _HISTORY), np.inf)  # oldest first
        self._tail: FloatCN = np.zeros((self._n, 0))  # samples of the unfinished block
        self._first: int | None = None
        self._level = np.full(self._n, np.inf)  # clip level of the unfinished block

    def keep(self, keep: NDArray[np.bool_]) -> None:
        """Notch only the lines flagged in ``keep`` from now on, with their current state."""
        self._lines = [f for f, kept in zip(self._lines, keep, strict=True) if kept]
        self._notch.drop_sections(keep)

    def filter(self, band: FloatCN, start_index: int) -> FloatCN:
        """The signal without its hum (a new array); ``start_index`` is ``band[:, 0]``'s."""
        if not self._lines or band.shape[1] == 0:
            return np.array(band, dtype=np.float64, copy=True)
        level = self._levels(band, start_index)
        if level is None:
            return self._notch.filter(band)
        held = np.clip(band, -level, level)
        excess = band - held  # exactly 0 wherever nothing was clipped
        y = self._notch.filter(held)
        y += excess
        return y

    def _levels(self, band: FloatCN, start_index: int) -> FloatCN | None:
        """Per-sample clip levels ``(n_channels, n)`` (None: nothing clipped yet)."""
        n, block = band.shape[1], self._block_n
        if self._first is None:
            self._first = start_index
        rms = self._finished_blocks(band, start_index)
        # boundaries in (0, n]: each ends a block; one begun before the stream began has no RMS
        first_at = block - start_index % block
        at = np.arange(first_at, n + 1, block)
        levels = np.repeat(self._level[:, np.newaxis], at.size + 1, axis=1)
        if rms.shape[1]:
            history = np.concatenate([self._rms, rms], axis=1)
            windows = sliding_window_view(history, _HISTORY, axis=1)[:, 1:]
            levels[:, at.size + 1 - rms.shape[1] :] = _CLIP_X_RMS * np.median(windows, axis=2)
            self._rms = history[:, -_HISTORY:]
            self._level = levels[:, -1].copy()
        if np.isinf(levels).all():
            return None
        widths = np.diff(np.concatenate([[0], at[at < n], [n]]))
        return np.repeat(levels[:, : widths.size], widths, axis=1)

    def _finished_blocks(self, band: FloatCN, start_index: int) -> FloatCN:
        """RMS ``(n_channels, k)`` of the blocks this chunk finishes, each summed in one go."""
        block = self._block_n
        joined = np.concatenate([self._tail, band], axis=1) if self._tail.shape[1] else band
        begin = start_index - self._tail.shape[1]
        lead = (-begin) % block if begin == self._first else 0
        count = max(0, joined.shape[1] - lead) // block
        # until the first boundary arrives, keep what was seen: the lead is known from it
        done = lead + count * block if joined.shape[1] >= lead else 0
        self._tail = joined[:, done:].copy()
        part = joined[:, lead:done]
        squares = np.add.reduce((part * part).reshape(self._n, count, block), axis=2)
        return np.asarray(np.sqrt(squares / block))
