"""Which mains lines a stream holds, how far off nominal and how strong, from its first samples.

A grid runs within about 0.05 Hz of its nominal 50/60 Hz, and a wearable's sample clock may be
off by as much: a notch of Q 30 is 2 Hz wide at 60 Hz, so 0.1 Hz off it left a tenth of the hum.
The probe's window is summed in parts; a line's phase advancing from part to part gives how
far off nominal the mains runs.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

from processor.stages.filters import FloatCN

MAINS_CANDIDATES_HZ = (50.0, 60.0)
_NEIGHBOUR_HZ = 5.0  # a mains line is compared with the spectrum this far on either side
_PARTS = 8  # the window is summed in this many parts, to follow a line's phase
_MIN_OFFSET_HZ = 0.01  # closer to nominal than this, the notch stays on nominal
_MAX_OFFSET_HZ = 1.0  # farther (a grid never is), the estimate is not trusted
_MAX_ERROR_HZ = 0.02  # an estimate less certain than this is not used
_MIN_TURNS = 3  # part-to-part phase turns needed to judge how steady they are


class MainsProbe:
    """Fourier sums at every candidate line and its two neighbours over the first samples.

    Args:
        lines_hz: the lines each candidate mains would notch (``{50.0: [50, 100, ...], ...}``).
        fs_hz: sample rate.
        n_channels: number of channels.
        min_ratio: a line's power over its neighbours' needed to count as hum.
        window_n: samples the probe will be fed.
    """

    def __init__(
        self,
        lines_hz: dict[float, list[float]],
        fs_hz: float,
        n_channels: int,
        *,
        min_ratio: float,
        window_n: int,
    ) -> None:
        self._lines = lines_hz
        self._fs = fs_hz
        self._min_ratio = min_ratio
        self._part_n = max(1, window_n // _PARTS)
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
        parts = -(-max(window_n, 1) // self._part_n)
        self._sums = np.zeros((n_channels, self._probe_hz.size, parts), dtype=np.complex128)
        self.reset()

    def reset(self) -> None:
        """Forget the sums."""
        self._sums[:] = 0
        self._n = 0
        self._total = np.zeros(self._sums.shape[:2], dtype=np.complex128)  # set by ``decide``

    def add(self, x: FloatCN, elapsed: int) -> None:
        """Add ``x`` ``(n_channels, n)``, whose first sample is ``elapsed`` after the first."""
        t = (elapsed + np.arange(x.shape[1])) / self._fs
        basis = np.exp(-2j * np.pi * np.outer(t, self._probe_hz))
        part_n = self._part_n
        at = 0
        while at < x.shape[1]:
            part = (elapsed + at) // part_n
            end = min(x.shape[1], (part + 1) * part_n - elapsed)
            # not ``@``: BLAS would wake its worker threads, which then spin on the other cores
            self._sums[:, :, part] += np.einsum("cn,nk->ck", x[:, at:end], basis[at:end])
            at = end
        self._n += x.shape[1]

    def decide(self, mains_hz: float | None) -> tuple[float, NDArray[np.bool_], float]:
        """The mains (0.0: none), over all candidates' lines those holding hum, and its offset.

        ``mains_hz`` None: the mains whose fundamental stands out most, if it stands out
        enough; otherwise the mains already set (config or an earlier decision). The offset
        (Hz, 0.0: on nominal) is how far off nominal its fundamental runs; the harmonics'
        sums are taken at their own offsets before they are judged.
        """
        total = self._sums.sum(axis=2)
        power = (np.abs(total) ** 2).sum(axis=0).reshape(-1, 3)  # (line, below/at/above)
        ratio = power[:, 1] / np.maximum(0.5 * (power[:, 0] + power[:, 2]), 1e-300)
        if mains_hz is None:
            # a mains whose fundamental is above the band (a 100 Hz stream) has no line to notch
            fundamentals = {
                f: float(ratio[self._first[f]]) for f in MAINS_CANDIDATES_HZ if self._lines[f]
            }
            best = max(fundamentals, key=lambda f: fundamentals[f], default=0.0)
            mains_hz = best if fundamentals.get(best, 0.0) >= self._min_ratio else 0.0
        keep = np.zeros(ratio.size, dtype=bool)
        offset = 0.0
        if mains_hz:
            first, count = self._first[mains_hz], len(self._lines[mains_hz])
            offset = self._offset_hz(3 * first + 1)
            if offset:
                centres = 3 * np.arange(first, first + count) + 1
                total[:, centres] = self._at_offset(centres, offset)
                at = (np.abs(total[:, centres]) ** 2).sum(axis=0)
                ratio[first : first + count] = at / np.maximum(
                    0.5 * (power[first : first + count, 0] + power[first : first + count, 2]),
                    1e-300,
                )
            keep[first : first + count] = ratio[first : first + count] >= self._min_ratio
        self._total = total
        return mains_hz, keep, offset

    def _offset_hz(self, column: int) -> float:
        """How far off its probe frequency the line summed in ``column`` runs (0.0: on it).

        The phase turn from part to part, if it is steady: its standard error must be a third
        of the offset or less and under ``_MAX_ERROR_HZ`` (a weak line's phase wanders).
        """
        parts = self._sums[:, column, : self._n // self._part_n]  # the complete parts
        turns = (parts[:, 1:] * np.conj(parts[:, :-1])).sum(axis=0)
        if turns.size < _MIN_TURNS:
            return 0.0
        mean = turns.sum()
        per_hz = 2 * np.pi * self._part_n / self._fs
        offset = float(np.angle(mean) / per_hz)
        spread = np.sqrt(np.mean(np.angle(turns * np.conj(mean)) ** 2))
        error = float(spread / per_hz / np.sqrt(turns.size))
        steady = error <= min(_MAX_ERROR_HZ, abs(offset) / 3)
        return offset if steady and _MIN_OFFSET_HZ <= abs(offset) <= _MAX_OFFSET_HZ else 0.0

    def _at_offset(self, centres: NDArray[np.intp], offset_hz: float) -> NDArray[np.complex128]:
        """Sums of the lines in ``centres`` (harmonics 1, 2, ...) at their offset frequencies."""
        parts = self._sums.shape[2]
        begin = np.arange(parts) * self._part_n
        mid_s = 0.5 * (begin + np.minimum(begin + self._part_n, self._n)) / self._fs
        harmonic = np.arange(1, centres.size + 1)[:, np.newaxis]
        turn = np.exp(-2j * np.pi * offset_hz * harmonic * mid_s)  # (line, part)
        return np.asarray(np.einsum("clp,lp->cl", self._sums[:, centres, :], turn))

    def hum_power(self, keep: NDArray[np.bool_]) -> NDArray[np.float64]:
        """Per channel, the power of the hum on the lines in ``keep`` (after ``decide``)."""
        # a sinusoid of amplitude A sums to A N / 2 in the probe
        amplitude = 2.0 * np.abs(self._total[:, 1::3][:, keep]) / max(self._n, 1)
        return np.asarray((amplitude**2 / 2.0).sum(axis=1))
