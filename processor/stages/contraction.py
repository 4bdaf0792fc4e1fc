"""Stage C2: sustained-contraction detector (duty cycle of the energy envelope).

A contraction (voluntary or spasm) keeps the envelope above ``active_factor`` x noise floor most
of the time, unlike isolated twitches or even 10-25 Hz twitch trains. The share of active samples
in a trailing ``slow_ms`` window is an exact integer count, so chunked == one pass. Onset and end
are corrected for the window delay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from processor.config.detection import ContractionConfig, SpasmConfig
from processor.stages.filters import RunningCount, first_true


@dataclass(slots=True)
class Burst:
    """One contraction on one channel (absolute sample indices).

    Attributes:
        channel: channel index.
        onset_index: estimated first active sample.
        end_index: estimated end (exclusive), None while open.
        decided_index: sample at which the end was decided.
        confirm_index: sample at which it lasted ``confirm_ms`` (spasm candidate), or None.
        energy: decimated envelope values over the floor since it was opened (irregularity).
        opened_index: sample at which the detector opened it (after the duty window filled).
        ended_by: None when the activity itself ended; otherwise why it was cut short while
            still going on (``"end_of_stream"``, ``"gap"``, ``"rate_change"``).
        floors_at_open: every channel's noise floor when it was opened (co-activation).
    """

    channel: int
    onset_index: int
    end_index: int | None = None
    decided_index: int | None = None
    confirm_index: int | None = None
    energy: list[float] = field(default_factory=list)
    opened_index: int = 0
    ended_by: str | None = None
    floors_at_open: list[float] = field(default_factory=list)


def envelope_stats(energy: list[float], block: int) -> tuple[float, float]:
    """(CV of the ~10 Hz amplitude envelope, RMS over the noise floor) of a burst."""
    values = np.asarray(energy, dtype=np.float64)
    if values.size < 2 * block:
        return 0.0, float(math.sqrt(max(values.mean(), 0.0))) if values.size else 0.0
    usable = values[: values.size - values.size % block].reshape(-1, block).mean(axis=1)
    amplitude = np.sqrt(np.maximum(usable, 0.0))
    mean = float(amplitude.mean())
    cv = float(amplitude.std() / mean) if mean > 0 else 0.0
    return cv, float(math.sqrt(max(float(values.mean()), 0.0)))


class ContractionDetector:
    """Duty-cycle contraction detector per channel.

    Args:
        cfg: contraction settings.
        spasm: spasm settings (confirmation delay).
        window_n: duty window in samples.
        fs_hz: sample rate.
        n_channels: number of channels.
    """

    def __init__(
        self,
        cfg: ContractionConfig,
        spasm: SpasmConfig,
        window_n: int,
        fs_hz: float,
        n_channels: int,
    ) -> None:
        self._n = n_channels
        self._window = max(2, window_n)
        self._on_count = max(1, math.ceil(cfg.on_duty * self._window))
        self._off_count = max(1, math.ceil(cfg.off_duty * self._window))
        self._hold_n = round(cfg.off_hold_ms * fs_hz / 1000)
        self._confirm_n = round(spasm.confirm_ms * fs_hz / 1000)
        self.lag_n = self._on_count
        self._count = RunningCount(self._window, n_channels)
        self.reset()

    def reset(self) -> None:
        """Forget open bursts and history."""
        self._count.reset()
        self.open: list[Burst | None] = [None] * self._n
        self._low_since: list[int | None] = [None] * self._n

    @property
    def busy(self) -> bool:
        """Some channel has activity in its window or an open burst."""
        return not self._count.idle or self.open.count(None) < self._n

    def peek(self, active: NDArray[np.bool_]) -> NDArray[np.int64]:
        """The trailing active counts ``process`` would see for ``active`` (not consumed)."""
        return self._count.peek(active)

    def calm(self, counts: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Where the noise floor may learn: the window is below ``off_duty`` active.

        Above that share the channel is, or may still be, in a contraction.
        """
        calm: NDArray[np.bool_] = counts < self._off_count
        return calm

    def process(
        self, active: NDArray[np.bool_], start_index: int
    ) -> tuple[list[Burst], list[Burst], NDArray[np.int64] | None]:
        """Advance over one segment of active flags ``(n_channels, n)``.

        Returns:
            (bursts confirmed in this segment, bursts ended in this segment, trailing active
            counts ``(n_channels, n)`` or None when every channel is quiet throughout).
        """
        n = active.shape[1]
        if self._count.idle and not active.any() and not any(self.open):
            return [], [], None
        counts = self._count.count(active)
        confirmed: list[Burst] = []
        ended: list[Burst] = []
        for ch in range(self._n):
            if self.open[ch] is None and counts[ch].max(initial=0) < self._on_count:
                continue
            self._channel(ch, counts[ch], start_index, n, confirmed=confirmed, ended=ended)
        return confirmed, ended, counts

    def _channel(
        self,
        ch: int,
        counts: NDArray[np.int64],
        start: int,
        n: int,
        *,
        confirmed: list[Burst],
        ended: list[Burst],
    ) -> None:
        p = 0
        while p < n:
            burst = self.open[ch]
            if burst is None:
                hit_at = first_true(counts[p:] >= self._on_count)
                if hit_at < 0:
                    return
                p += hit_at
                self.open[ch] = Burst(ch, start + p - self._on_count + 1, opened_index=start + p)
                self._low_since[ch] = None
                continue
            low = counts[p:] < self._off_count
            since = self._low_since[ch]
            if since is None:
                low_at = first_true(low)
                stop = p + low_at if low_at >= 0 else n
                self._maybe_confirm(burst, start, p, stop, confirmed)
                if low_at < 0:
                    return
                p = stop
                self._low_since[ch] = start + p
                continue
            high_at = first_true(~low)
            deadline = since + self._hold_n
            if high_at >= 0 and start + p + high_at < deadline:
                p += high_at
                self._low_since[ch] = None
                continue
            if deadline >= start + n:
                return
            burst.end_index = since - (self._window - self._off_count)
            burst.decided_index = deadline
            ended.append(burst)
            self.open[ch] = None
            self._low_since[ch] = None
            p = deadline - start

    def _maybe_confirm(
        self, burst: Burst, start: int, p: int, stop: int, confirmed: list[Burst]
    ) -> None:
        if burst.confirm_index is not None:
            return
        due = burst.onset_index + self._confirm_n
        at = max(due, start + p)
        if at < start + stop:
            burst.confirm_index = at
            confirmed.append(burst)

    def flush(self, end_index: int, ended_by: str = "end_of_stream") -> list[Burst]:
        """Close open bursts at ``end_index`` where the input stops (``ended_by`` says why)."""
        out = []
        for ch, burst in enumerate(self.open):
            if burst is not None:
                burst.end_index = end_index
                burst.decided_index = end_index
                burst.ended_by = ended_by
                out.append(burst)
            self.open[ch] = None
        return out
