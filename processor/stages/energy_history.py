"""Recent decimated energy of every channel, for decisions that look around an event.

Two decisions need it:

* **co-activation**: a cramp starts in one muscle, often in part of one head (Ross & Thomas
  1995), while a voluntary movement recruits synergists together through common drive: a knee
  extension drives rectus femoris and vastus medialis, a fist drives most of a Myo's eight
  electrodes. Without limb movement in an accelerometer (isometric holds have none) this is the
  EMG's own evidence;
* **background activity**: a twitch riding on an interference pattern too weak or patchy to
  form a burst is voluntary activity.

Values sit at absolute decimated indices (multiples of ``decim_n``) and every question names
an absolute sample range that lies before the decision sample, so the answers are the same
whatever the chunking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from processor.config.detection import SpasmConfig, TwitchConfig
from processor.stages.contraction import Burst
from processor.stages.filters import FloatCN
from processor.stages.twitch import TwitchCandidate

_MIN_VALUES = 4  # fewer values than this make no quartile
_GAP_MS = 15.0  # the before-window stops short of the twitch's own rise
_AFTER_RINGING_MS = 150.0  # a big twitch's band-pass ringing, skipped before the after-window
_RINGING_OF_PEAK = 0.01  # notch ringing after a big twitch: 1 % of its energy (10 % amplitude)


@dataclass(frozen=True, slots=True)
class BackgroundWindow:
    """Where the background of a twitch is looked at (samples) and how busy it may be."""

    window_n: int
    gap_n: int
    after_ringing_n: int
    max_factor: float

    @classmethod
    def of(cls, cfg: TwitchConfig, fs_hz: float) -> BackgroundWindow | None:
        """The window at ``fs_hz`` (None: ``background_ms`` is 0, no check)."""
        window_n = round(cfg.background_ms * fs_hz / 1000)
        if window_n == 0:
            return None
        gap_n = round(_GAP_MS * fs_hz / 1000)
        ringing_n = round(_AFTER_RINGING_MS * fs_hz / 1000)
        return cls(window_n, gap_n, ringing_n, cfg.max_background_factor)


class EnergyHistory:
    """Decimated energy of all channels over a trailing window (absolute sample clock).

    Args:
        n_channels: number of channels.
        decim_n: samples between two decimated values (they sit at multiples of ``decim_n``).
        keep_n: samples of history to keep.
    """

    def __init__(self, n_channels: int, decim_n: int, keep_n: int) -> None:
        self._n = n_channels
        self._decim = decim_n
        self._keep = max(1, keep_n // decim_n + 2)
        self.reset()

    def reset(self) -> None:
        """Forget the history."""
        self._values: FloatCN = np.zeros((self._n, 0))
        self._next: int | None = None  # decimated index of the next value pushed

    def push(self, values: FloatCN, first_index: int) -> None:
        """Append decimated values ``(n_channels, m)``; the first one is at ``first_index``."""
        if values.shape[1] == 0:
            return
        k = first_index // self._decim
        if self._next is not None and k != self._next:
            self._values = np.zeros((self._n, 0))  # a jump in the clock: start again
        self._next = k + values.shape[1]
        joined = np.concatenate([self._values, values], axis=1)
        self._values = joined[:, max(0, joined.shape[1] - self._keep) :]

    def span(self, lo_index: int, hi_index: int) -> FloatCN:
        """Values at samples ``[lo_index, hi_index)`` still held, ``(n_channels, m)``."""
        if self._next is None:
            return self._values[:, :0]
        first = self._next - self._values.shape[1]
        lo = max(0, -(-lo_index // self._decim) - first)
        hi = max(lo, -(-hi_index // self._decim) - first)
        return self._values[:, lo:hi]

    def lower_quartile(self, channel: int, lo_index: int, hi_index: int) -> float | None:
        """Lower quartile of one channel over ``[lo_index, hi_index)`` (None: under 4 values)."""
        values = self.span(lo_index, hi_index)[channel]
        if values.size < _MIN_VALUES:
            return None
        k = values.size // 4
        return float(np.partition(values, k)[k])

    def on_background(
        self, twitch: TwitchCandidate, decided_index: int, window: BackgroundWindow
    ) -> bool:
        """Whether a twitch rides on an interference pattern (voluntary activity).

        At rest the lower quartile of the energy around a twitch is about half the noise floor
        (the floor is a median of the same envelope); inside a contraction too weak or patchy
        to form a burst it is several times higher, before or after the twitch. A lower
        quartile ignores the discharges of a doublet or a 25 Hz train. Only samples before
        ``decided_index`` count, so the answer is the same whatever the chunking.
        """
        limit = window.max_factor * twitch.floor
        ch = twitch.channel
        before = self.lower_quartile(
            ch, twitch.onset_index - window.window_n, twitch.onset_index - window.gap_n
        )
        # after a big twitch the band-pass rings for ~100 ms: look past that
        after_start = twitch.end_index + window.after_ringing_n
        after_end = min(after_start + window.window_n, decided_index)
        after = self.lower_quartile(ch, after_start, after_end)
        # the mains notch (Q 30) rings for a few hundred ms after a big twitch
        after_limit = max(limit, _RINGING_OF_PEAK * twitch.peak_ratio * twitch.floor)
        return (before is not None and before > limit) or (
            after is not None and after > after_limit
        )

    def coactive(self, burst: Burst, window_n: int, cfg: SpasmConfig) -> int:
        """How many other channels were active on their own over ``window_n`` after the onset.

        Active: a median above ``coactivation_factor`` x the channel's floor when the burst was
        opened (before the movement could raise it); a factor of 0 turns the check off. On its
        own: its energy does not follow the burst's channel with a Pearson r of
        ``coactivation_max_corr`` or more. Crosstalk is the same motor units seen through
        more tissue, so its energy rises and falls with theirs (r 0.9-1.0 for a cramp copied
        at 10-50 %); a synergist fires its own units (real knee extensions: r 0.0-0.3).
        """
        if cfg.coactivation_factor <= 0 or window_n <= 0 or not burst.floors_at_open:
            return 0
        span = self.span(burst.onset_index, burst.onset_index + window_n)
        if span.shape[1] < _MIN_VALUES:
            return 0
        floors = np.maximum(np.asarray(burst.floors_at_open), 1e-300)
        active = np.median(span, axis=1) / floors > cfg.coactivation_factor
        active[burst.channel] = False
        if not active.any() or cfg.coactivation_max_corr >= 1:
            return int(active.sum())
        centred = span - span.mean(axis=1, keepdims=True)
        spread = np.sqrt((centred * centred).sum(axis=1))
        own = centred[burst.channel]
        # not ``@``: BLAS would wake its worker threads, which then spin on the other cores
        dot = np.einsum("cm,m->c", centred, own)
        corr = dot / np.maximum(spread * spread[burst.channel], 1e-300)
        return int((active & (corr < cfg.coactivation_max_corr)).sum())
