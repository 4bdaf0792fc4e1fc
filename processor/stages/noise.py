"""Stage B2: adaptive noise floor (trailing median of the decimated twitch envelope).

The floor is refreshed every ``refresh_ms`` at absolute sample indices from the last
``history_ms`` of envelope values taken every ``decimate_ms``. Values taken during activity
(contractions) or bad signal are not pushed, so the floor is frozen during events and a long
workout cannot ratchet it up.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from processor.config.detection import NoiseConfig
from processor.stages.filters import FloatCN


class NoiseFloor:
    """Per-channel trailing median with freeze (``(n_channels,)`` floor in envelope units).

    Args:
        cfg: noise-floor settings.
        fs_hz: sample rate.
        n_channels: number of channels.
    """

    def __init__(self, cfg: NoiseConfig, fs_hz: float, n_channels: int) -> None:
        self.decim_n = max(1, round(cfg.decimate_ms * fs_hz / 1000))
        self.refresh_n = self.decim_n * max(1, round(cfg.refresh_ms * fs_hz / 1000 / self.decim_n))
        self._cap = max(3, round(cfg.history_ms / cfg.decimate_ms))
        self._warm = max(1, round(cfg.warmup_ms / cfg.decimate_ms))
        self._n = n_channels
        self._values = np.zeros((n_channels, self._cap), dtype=np.float64)
        self._rows = np.arange(n_channels)[:, np.newaxis]
        self.reset()

    def reset(self) -> None:
        """Forget the history (the floor is not ready again until warm-up)."""
        self._values[:] = 0.0
        self._count = np.zeros(self._n, dtype=np.int64)
        self._pos = np.zeros(self._n, dtype=np.int64)
        self.floor = np.full(self._n, np.inf)
        self.ready = np.zeros(self._n, dtype=bool)
        self._aligned = True
        self._full = False  # every channel's history is full (it stays so until reset)

    def process(self, values: FloatCN, valid: NDArray[np.bool_] | None) -> None:
        """Push decimated envelope values ``(n_channels, k)`` where ``valid`` (None: all)."""
        k = values.shape[1]
        if k == 0:
            return
        cap = self._cap
        if valid is None or valid.all():
            if not self._aligned and self._full:
                # the rings drifted apart while some channels were frozen: reorder every row
                # oldest first once, so pushes go back to plain slices (medians are unchanged)
                self._values[:] = self.chronological()
                self._pos[:] = 0
                self._aligned = True
            if k >= cap:
                self._values[:] = values[:, k - cap :]
                self._pos[:] = 0
            elif self._aligned:
                pos = int(self._pos[0])
                if pos + k <= cap:
                    self._values[:, pos : pos + k] = values
                else:
                    self._values[:, pos:] = values[:, : cap - pos]
                    self._values[:, : k - (cap - pos)] = values[:, cap - pos :]
                self._pos[:] = (pos + k) % cap
            else:
                cols = (self._pos[:, np.newaxis] + np.arange(k)) % cap
                self._values[self._rows, cols] = values
                self._pos = (self._pos + k) % cap
            if not self._full:
                self._count = np.minimum(self._count + k, cap)
                self._full = bool((self._count >= cap).all())
            self._aligned = k >= cap or self._aligned
            return
        # each channel appends its valid values in order; only its last ``cap`` ones survive
        kept = valid.sum(axis=1)
        dropped = np.maximum(kept - cap, 0)
        rank = np.cumsum(valid, axis=1) - 1 - dropped[:, np.newaxis]
        rows, cols = np.nonzero(valid & (rank >= 0))
        slots = (self._pos[rows] + rank[rows, cols]) % cap
        self._values[rows, slots] = values[rows, cols]
        self._pos = (self._pos + np.minimum(kept, cap)) % cap
        if not self._full:
            self._count = np.minimum(self._count + kept, cap)
            self._full = bool((self._count >= cap).all())
        self._aligned = bool((self._pos == self._pos[0]).all())

    def chronological(self) -> FloatCN | None:
        """The full history oldest first ``(n_channels, capacity)``, None until it is full."""
        if not self._full:
            return None
        if self._aligned:
            pos = int(self._pos[0])
            return np.concatenate([self._values[:, pos:], self._values[:, :pos]], axis=1)
        cols = (self._pos[:, np.newaxis] + np.arange(self._cap)) % self._cap
        ordered: FloatCN = self._values[self._rows, cols]
        return ordered

    @property
    def full(self) -> bool:
        """Every channel's history is full (it stays so until ``reset()``)."""
        return self._full

    def medians_ahead(self, values: FloatCN, pushed: NDArray[np.intp]) -> FloatCN:
        """The floors that refreshing after each of ``pushed`` more of ``values`` would give.

        ``values`` ``(n_channels, m)`` are all valid; ``pushed`` counts them, one count per
        refresh. Returns ``(n_channels, len(pushed))``. The history must be ``full``.
        """
        history = self.chronological()
        if history is None:
            raise ValueError("medians_ahead needs a full history")
        stack = np.concatenate([history, values], axis=1)
        # rows of a window view copy as blocks; an index array per element gathers one by one
        windows = sliding_window_view(stack, self._cap, axis=1)[:, pushed]
        mid = self._cap // 2
        windows.partition(mid, axis=2)  # the copy above is ours to reorder
        medians: FloatCN = np.maximum(windows[:, :, mid], 1e-12)
        return medians

    def set_floor(self, floor: FloatCN) -> None:
        """Install a floor computed elsewhere from this history (the vectorised fast path)."""
        self.floor = np.asarray(floor, dtype=np.float64).copy()
        self.ready = self._count >= self._warm

    def refresh(self) -> None:
        """Recompute the floor from the history (called at refresh boundaries)."""
        if self._full:
            mid = self._cap // 2
            floor = np.partition(self._values, mid, axis=1)[:, mid]
            self.ready = self._count >= self._warm
            if self.ready.all():  # the common case, without the masking below
                self.floor = np.maximum(floor, 1e-12)
                return
            self.floor = floor.copy()
        else:
            for ch in range(self._n):
                filled = int(self._count[ch])
                if filled >= self._warm:
                    self.floor[ch] = np.partition(self._values[ch, :filled], filled // 2)[
                        filled // 2
                    ]
        self.ready = self._count >= self._warm
        # a zero floor (digital silence) would make every sample an event
        self.floor = np.where(self.ready, np.maximum(self.floor, 1e-12), np.inf)

    def flush(self) -> None:
        """Nothing is pending in a noise floor."""
