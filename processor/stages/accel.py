"""Accelerometer features: mechanical twitch transients (MMG) and gross limb movement.

A visible twitch shakes the skin 5-60 ms after the EMG onset (a 5-100 Hz transient well above
the accelerometer's own noise floor); a voluntary contraction moves the limb (0.3-5 Hz). Both
are kept for the last few seconds, indexed by absolute sample, so the pipeline can look up the
evidence window of each EMG event once the accelerometer has passed it.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from processor.config.detection import NoiseConfig, VisibilityConfig
from processor.stages.filters import FloatCN, SosState, bandpass_sos
from processor.stages.noise import NoiseFloor

_MOVEMENT_BAND_HZ = (0.3, 5.0)
_MAX_EDGE_OF_FS = 0.45  # band edges stay clearly below Nyquist


class AccFeatures:
    """Per-sample MMG-over-floor ratio and movement (mg) of one 3-axis stream in ``g``.

    Args:
        cfg: visibility settings.
        noise: noise-floor settings (reused for the accelerometer floor).
        fs_hz: accelerometer sample rate.
        n_axes: number of axes.
        keep_s: how much history to keep for look-ups.
    """

    def __init__(
        self, cfg: VisibilityConfig, noise: NoiseConfig, fs_hz: float, n_axes: int, keep_s: float
    ) -> None:
        self.fs_hz = fs_hz
        mmg_top = min(cfg.mmg_high_hz, _MAX_EDGE_OF_FS * fs_hz)
        move_low, move_high = _MOVEMENT_BAND_HZ
        move_top = min(move_high, _MAX_EDGE_OF_FS * fs_hz)
        # a filter is only built where the rate allows it: a 10 Hz accelerometer (Ganglion)
        # still shows limb movement, but only >= ~100 Hz resolves a twitch's transient
        self.mmg_usable = fs_hz >= cfg.acc_min_hz and mmg_top > cfg.mmg_low_hz
        self.movement_usable = fs_hz >= cfg.movement_min_acc_hz and move_top > move_low
        self._keep_n = round(keep_s * fs_hz)
        self._mmg = (
            SosState(bandpass_sos(cfg.mmg_low_hz, mmg_top, fs_hz, 2), n_axes)
            if self.mmg_usable
            else None
        )
        self._move = (
            SosState(bandpass_sos(move_low, move_top, fs_hz, 2), n_axes)
            if self.movement_usable
            else None
        )
        self._floor = NoiseFloor(noise, fs_hz, 1)
        self._history: deque[tuple[int, FloatCN, FloatCN]] = deque()
        self.end_index = 0

    def reseed(self) -> None:
        """Restart the filters after a gap (history and floor are kept)."""
        for state in (self._mmg, self._move):
            if state is not None:
                state.reset()

    def process_cn(self, acc: FloatCN, start_index: int) -> None:
        """Add channel-major samples ``(n_axes, n)`` in g starting at ``start_index``."""
        n = acc.shape[1]
        if n == 0:
            return
        acc = np.where(np.isfinite(acc), acc, 0.0)
        movement = np.zeros(n)
        if self._move is not None:
            moved = self._move.filter(acc)
            movement = 1000.0 * np.sqrt((moved * moved).sum(axis=0))
        ratio = np.zeros(n)
        if self._mmg is not None:
            band = self._mmg.filter(acc)
            magnitude = np.sqrt((band * band).sum(axis=0))
            ratio = self._ratio(magnitude, start_index)
        self._history.append((start_index, ratio, movement))
        self.end_index = start_index + n

    def prune(self, first_needed_index: int) -> None:
        """Drop history that ends before ``first_needed_index`` (no look-up will need it)."""
        while self._history and self._history[0][0] + len(self._history[0][1]) < min(
            first_needed_index, self.end_index - self._keep_n
        ):
            self._history.popleft()

    def _ratio(self, magnitude: FloatCN, start: int) -> FloatCN:
        out = np.empty_like(magnitude)
        refresh = self._floor.refresh_n
        decim = self._floor.decim_n
        a = 0
        n = magnitude.shape[0]
        while a < n:
            b = min(n, a + refresh - (start + a) % refresh)
            floor = float(self._floor.floor[0])
            out[a:b] = magnitude[a:b] / floor if np.isfinite(floor) else 0.0
            first = a + (-(start + a)) % decim
            vals = magnitude[first:b:decim][np.newaxis]
            self._floor.process(vals, None)
            if (start + b) % refresh == 0:
                self._floor.refresh()
            a = b
        return out

    def window(self, first: int, last: int) -> tuple[bool, float, float]:
        """(complete, max MMG ratio, max movement mg) over samples ``first..last`` inclusive."""
        covered = 0
        best_ratio = 0.0
        best_move = 0.0
        for start, ratio, movement in self._history:
            lo = max(first, start)
            hi = min(last + 1, start + len(ratio))
            if hi <= lo:
                continue
            covered += hi - lo
            best_ratio = max(best_ratio, float(ratio[lo - start : hi - start].max()))
            best_move = max(best_move, float(movement[lo - start : hi - start].max()))
        return covered >= last - first + 1, best_ratio, best_move
