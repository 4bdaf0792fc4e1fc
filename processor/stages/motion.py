"""Electrode and cable motion: a sudden slow lurch of the raw signal, seen at 100 Hz.

A lurch swings the raw signal at 1-10 Hz. EMG, even a strong contraction, keeps its 1-10 Hz
content at 10-30 % of its in-band RMS, and a 300 uV twitch's stays under 20 uV; baseline wander
is steady where a lurch is sudden. So a sample is ``motion`` when the 1-10 Hz band swings above
an absolute level, above half the in-band RMS and above 5 x its own RMS over the last ~2 s.

The band is computed on means of ``step`` raw samples (blocks aligned on absolute sample
indices, a 100 Hz stream whatever the rate), which costs a fraction of filtering every sample.
A decision falls on the last sample of its block; the raw samples of an unfinished block wait
for the next chunk, so the flags are the same whatever the chunking.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from processor.stages.filters import FloatCN, SosState, bandpass_sos, one_pole_sos

_BAND_HZ = (1.0, 10.0)
_RATE_HZ = 100.0
_SUDDEN = 5.0  # x the band's own RMS over the memory
_OVER_EMG = 0.5  # x the in-band RMS: EMG keeps its 1-10 Hz content at 0.1-0.3 x
_MEMORY_S = 2.0


class MotionGate:
    """Per-sample ``motion`` flags of ``n_channels`` raw channels at ``fs_hz``.

    Args:
        level: the band's absolute level, in the stream's unit (> 0).
        fs_hz: sample rate.
        n_channels: number of channels.
    """

    def __init__(self, level: float, fs_hz: float, n_channels: int) -> None:
        self._level2 = level * level
        self._step = max(1, round(fs_hz / _RATE_HZ))
        rate = fs_hz / self._step
        self._band = SosState(bandpass_sos(*_BAND_HZ, rate, 2), n_channels)
        self._memory_n = round(_MEMORY_S * rate)
        pole = float(np.exp(-1.0 / self._memory_n))  # the weights of k values sum to 1-pole^k
        self._usual = SosState(one_pole_sos(pole), n_channels)
        self._n = n_channels
        self.reset()

    @staticmethod
    def usable(fs_hz: float) -> bool:
        """Whether a stream at ``fs_hz`` resolves the band."""
        return _BAND_HZ[1] < 0.45 * fs_hz

    def reset(self) -> None:
        """Forget the filters, the unfinished block and the memory."""
        self._band.reset()
        self._usual.reset()
        self._tail: FloatCN = np.zeros((self._n, 0))
        self._seen = 0  # blocks since the reset

    def flush(self) -> None:
        """Nothing to decide: an unfinished block (< 10 ms) at the end is too short to lurch."""

    def process(self, x: FloatCN, power: FloatCN, start_index: int) -> NDArray[np.bool_] | None:
        """Flags for raw ``x`` ``(n_channels, n)`` given the in-band power (None: no motion)."""
        n = x.shape[1]
        joined = np.concatenate([self._tail, x], axis=1) if self._tail.shape[1] else x
        first = start_index - self._tail.shape[1]
        lead = (-first) % self._step  # a block begun before the stream started is skipped
        count = max(0, joined.shape[1] - lead) // self._step
        done = lead + count * self._step
        self._tail = joined[:, done:].copy() if done < joined.shape[1] else joined[:, :0]
        if count == 0:
            return None
        # the sum over the step is what ``mean`` computes, without its Python wrapper
        blocks = np.add.reduce(joined[:, lead:done].reshape(self._n, count, self._step), axis=2)
        blocks /= self._step
        low = self._band.filter(blocks)
        low *= low
        usual = self._usual.filter(low)
        seen = self._seen + 1 + np.arange(count)
        self._seen += count
        if seen[0] < 8 * self._memory_n:  # from the start: the mean so far, not toward 0
            usual /= -np.expm1(-seen / self._memory_n)
        if seen[-1] <= self._memory_n or low.max() < self._level2:
            return None
        ends = first + lead + self._step * (1 + np.arange(count)) - 1 - start_index
        moving = (low >= self._level2) & (low >= _OVER_EMG**2 * power[:, ends])
        moving &= (low >= _SUDDEN**2 * usual) & (seen > self._memory_n)
        if not moving.any():
            return None
        flags = np.zeros((self._n, n), dtype=bool)
        flags[:, ends] = moving
        return flags
