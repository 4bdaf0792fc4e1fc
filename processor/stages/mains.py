"""Which mains lines a stream holds, and how strong its hum is, from its first samples."""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

from processor.stages.filters import FloatCN

MAINS_CANDIDATES_HZ = (50.0, 60.0)
_NEIGHBOUR_HZ = 5.0  # a mains line is compared with the spectrum this far on either side


class MainsProbe:
    """Fourier sums at every candidate line and its two neighbours over the first samples.

    Args:
        lines_hz: the lines each candidate mains would notch (``{50.0: [50, 100, ...], ...}``).
        fs_hz: sample rate.
        n_channels: number of channels.
        min_ratio: a line's power over its neighbours' needed to count as hum.
    """

    def __init__(
        self, lines_hz: dict[float, list[float]], fs_hz: float, n_channels: int, min_ratio: float
    ) -> None:
        self._lines = lines_hz
        self._fs = fs_hz
        self._min_ratio = min_ratio
        # every harmonic's line and its two neighbours, 50 Hz ones first, in notch order
        self._probe_hz = np.array(
            [
                # a neighbour above Nyquist would alias onto the line itself: mirror it below
                f + (d if f + d < fs_hz / 2 else -d)
                for mains in MAINS_CANDIDATES_HZ
                for f in lines_hz[mains]
                for d in (-_NEIGHBOUR_HZ, 0.0, _NEIGHBOUR_HZ)
            ]
        )
        sizes = [len(lines_hz[f]) for f in MAINS_CANDIDATES_HZ]
        self._first = dict(
            zip(MAINS_CANDIDATES_HZ, itertools.accumulate(sizes, initial=0), strict=False)
        )
        self._sums = np.zeros((n_channels, self._probe_hz.size), dtype=np.complex128)
        self._n = 0

    def reset(self) -> None:
        """Forget the sums."""
        self._sums[:] = 0
        self._n = 0

    def add(self, x: FloatCN, elapsed: int) -> None:
        """Add ``x`` ``(n_channels, n)``, whose first sample is ``elapsed`` after the first."""
        t = (elapsed + np.arange(x.shape[1])) / self._fs
        basis = np.exp(-2j * np.pi * np.outer(t, self._probe_hz))
        # not ``@``: BLAS would wake its worker threads, which then spin on the other cores
        self._sums += np.einsum("cn,nk->ck", x, basis)
        self._n += x.shape[1]

    def decide(self, mains_hz: float | None) -> tuple[float, NDArray[np.bool_]]:
        """The mains (0.0: none) and, over all candidates' lines, those holding hum.

        ``mains_hz`` None: the mains whose fundamental stands out most, if it stands out
        enough; otherwise the mains already set (config or an earlier decision).
        """
        total = (np.abs(self._sums) ** 2).sum(axis=0).reshape(-1, 3)  # (line, below/at/above)
        ratio = total[:, 1] / np.maximum(0.5 * (total[:, 0] + total[:, 2]), 1e-300)
        if mains_hz is None:
            # a mains whose fundamental is above the band (a 100 Hz stream) has no line to notch
            fundamentals = {
                f: float(ratio[self._first[f]]) for f in MAINS_CANDIDATES_HZ if self._lines[f]
            }
            best = max(fundamentals, key=lambda f: fundamentals[f], default=0.0)
            mains_hz = best if fundamentals.get(best, 0.0) >= self._min_ratio else 0.0
        keep = np.zeros(ratio.size, dtype=bool)
        if mains_hz:
            lines = slice(self._first[mains_hz], self._first[mains_hz] + len(self._lines[mains_hz]))
            keep[lines] = ratio[lines] >= self._min_ratio
        return mains_hz, keep

    def hum_power(self, keep: NDArray[np.bool_]) -> NDArray[np.float64]:
        """Per channel, the power of the hum on the lines in ``keep``."""
        # a sinusoid of amplitude A sums to A N / 2 in the probe
        amplitude = 2.0 * np.abs(self._sums[:, 1::3][:, keep]) / max(self._n, 1)
        return np.asarray((amplitude**2 / 2.0).sum(axis=1))
