"""Causal filter building blocks whose chunked output is bit-identical to a one-pass run.

Arrays inside the stages are channel-major ``(n_channels, n_samples)`` float64 so the SOS kernel
runs without copies; the public ``process(chunk)`` methods convert from and to the project's
``(n_samples, n_channels)`` layout.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal

try:  # the compiled kernel behind scipy.signal.sosfilt: ~2 us per call instead of ~30 us
    from scipy.signal._sosfilt import _sosfilt as _sos_kernel

    _FAST_KERNEL = True
except ImportError:  # pragma: no cover - fall back to the public API on other scipy layouts
    _FAST_KERNEL = False

FloatCN = NDArray[np.float64]


def first_true(mask: NDArray[np.bool_]) -> int:
    """Index of the first true flag of a 1-D ``mask`` (-1: none), without allocating."""
    if not mask.size:
        return -1
    at = int(mask.argmax())
    return at if mask[at] else -1


def last_true(mask: NDArray[np.bool_]) -> int:
    """Index of the last true flag of a 1-D ``mask`` (-1: none), without allocating."""
    if not mask.size:
        return -1
    at = mask.size - 1 - int(mask[::-1].argmax())
    return at if mask[at] else -1


def one_pole_sos(pole: float) -> FloatCN:
    """Exponential smoothing ``y[t] = pole * y[t-1] + (1 - pole) * x[t]`` as one SOS section."""
    return np.array([[1.0 - pole, 0.0, 0.0, 1.0, -pole, 0.0]])


def bandpass_sos(low_hz: float, high_hz: float, fs_hz: float, order: int) -> FloatCN:
    """Butterworth band-pass as SOS; the high edge must already be below Nyquist."""
    if high_hz <= low_hz:
        return np.asarray(signal.butter(order, low_hz, "highpass", fs=fs_hz, output="sos"))
    return np.asarray(signal.butter(order, (low_hz, high_hz), "bandpass", fs=fs_hz, output="sos"))


class SosState:
    """One SOS cascade applied to ``n_channels`` signals with state carried across calls.

    The state is seeded on the first sample as the steady state for that value (``sosfilt_zi``),
    so a constant offset produces no start-up transient and chunked == one pass from sample 0.
    """

    def __init__(self, sos: FloatCN, n_channels: int) -> None:
        self._sos = np.ascontiguousarray(sos, dtype=np.float64)
        self._n_channels = n_channels
        self._zi_unit = (
            signal.sosfilt_zi(self._sos) if len(self._sos) else np.zeros((0, 2), np.float64)
        )
        self._zi: FloatCN | None = None

    @property
    def n_sections(self) -> int:
        """Number of second-order sections."""
        return int(self._sos.shape[0])

    def reset(self) -> None:
        """Forget the state; the next call seeds it again."""
        self._zi = None

    def drop_sections(self, keep: NDArray[np.bool_]) -> None:
        """Keep only the sections flagged in ``keep``, with their current state."""
        self._sos = np.ascontiguousarray(self._sos[keep])
        self._zi_unit = self._zi_unit[keep]
        if self._zi is not None:
            self._zi = np.ascontiguousarray(self._zi[:, keep])

    def retuned(self, sos: FloatCN) -> SosState:
        """The cascade with ``sos`` (as many sections) instead, carrying on from this state."""
        other = SosState(sos, self._n_channels)
        other._zi = None if self._zi is None else self._zi.copy()
        return other

    def filter(self, x: FloatCN) -> FloatCN:
        """Filter channel-major samples ``(n_channels, n)``; returns a new array."""
        y: FloatCN = np.array(x, dtype=np.float64, order="C", copy=True)
        if y.shape[1] == 0 or self.n_sections == 0:
            return y
        if self._zi is None:
            self._zi = np.ascontiguousarray(self._zi_unit[np.newaxis] * y[:, :1, np.newaxis])
        if _FAST_KERNEL:
            _sos_kernel(self._sos, y, self._zi)
            return y
        out, zi = signal.sosfilt(  # pragma: no cover - fallback path
            self._sos, y, axis=1, zi=np.moveaxis(self._zi, 1, 0)
        )
        self._zi = np.ascontiguousarray(np.moveaxis(zi, 0, 1))  # pragma: no cover
        return np.asarray(out)  # pragma: no cover


class MovingMean:
    """Exact causal boxcar mean over ``width`` samples (shifted sums, no cumulative drift).

    The first ``width - 1`` outputs after a reset average over the samples seen so far padded
    with zeros, which is what a fresh FIR filter does.
    """

    def __init__(self, width: int, n_channels: int) -> None:
        self._width = max(1, int(width))
        self._n_channels = n_channels
        self._tail = np.zeros((n_channels, self._width - 1), dtype=np.float64)

    def reset(self) -> None:
        """Forget the history."""
        self._tail[:] = 0.0

    def filter(self, x: FloatCN) -> FloatCN:
        """Boxcar mean of channel-major samples ``(n_channels, n)``."""
        n = x.shape[1]
        if self._width == 1 or n == 0:
            return np.array(x, dtype=np.float64, copy=True)
        ext = np.concatenate([self._tail, x], axis=1)
        acc = ext[:, self._width - 1 :].copy()
        for lag in range(1, self._width):
            acc += ext[:, self._width - 1 - lag : self._width - 1 - lag + n]
        self._tail = ext[:, ext.shape[1] - (self._width - 1) :].copy()
        acc *= 1.0 / self._width
        return acc


class RunningCount:
    """Exact count of true samples over a trailing window of ``width`` samples."""

    def __init__(self, width: int, n_channels: int) -> None:
        self._width = max(1, int(width))
        self._tail = np.zeros((n_channels, self._width), dtype=np.int64)
        self._tail_total = np.zeros(n_channels, dtype=np.int64)

    def reset(self) -> None:
        """Forget the history."""
        self._tail[:] = 0
        self._tail_total[:] = 0

    @property
    def idle(self) -> bool:
        """No true sample inside the trailing window."""
        return not self._tail_total.any()

    def count(self, flags: NDArray[np.bool_]) -> NDArray[np.int64]:
        """Trailing counts ``(n_channels, n)`` of ``flags`` including the current sample."""
        out, ext = self._counts(flags)
        self._tail = ext[:, ext.shape[1] - self._width :].copy()
        self._tail_total = self._tail.sum(axis=1)
        return out

    def peek(self, flags: NDArray[np.bool_]) -> NDArray[np.int64]:
        """What ``count`` would return for ``flags``, without consuming them."""
        return self._counts(flags)[0]

    def _counts(self, flags: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        n = flags.shape[1]
        ext = np.concatenate([self._tail, flags.astype(np.int64)], axis=1)
        csum = np.cumsum(ext, axis=1)
        # count over (t - width, t]: csum[t] - csum[t - width]; the tail provides t - width >= 0
        out: NDArray[np.int64] = csum[:, self._width :] - csum[:, :n]
        return out, ext
