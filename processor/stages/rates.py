"""Stage E: twitch rate per channel over a trailing window and the rate alert policy.

Single twitches are normal at rest and never alert. A ``rate`` line with ``alert: true`` is
produced when a channel's rate reaches ``alert_per_min`` (at most once per ``debounce_s``), and
one with ``alert: false`` when it falls below ``clear_per_min`` again.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from processor.config.detection import RateConfig


@dataclass(frozen=True, slots=True)
class RateChange:
    """The rate crossed the alert rule (``alert``) or fell back below it, at ``time_s``."""

    time_s: float
    rate_per_min: float
    alert: bool


class RateTracker:
    """Trailing-window twitch rate and alert state of one channel."""

    def __init__(self, cfg: RateConfig) -> None:
        self._cfg = cfg
        self.reset()

    def reset(self) -> None:
        """Forget all twitches and the alert state."""
        self._times: deque[float] = deque()
        self._alerting = False
        self._last_alert_s: float | None = None

    def rate_per_min(self) -> float:
        """Twitches per minute over the trailing window."""
        return len(self._times) * 60.0 / self._cfg.window_s

    def add(self, time_s: float) -> tuple[float, RateChange | None]:
        """Count a twitch decided at ``time_s``; returns (rate, alert change or None)."""
        self._times.append(time_s)
        rate = self.rate_per_min()
        if self._alerting or rate < self._cfg.alert_per_min:
            return rate, None
        last = self._last_alert_s
        if last is not None and time_s - last < self._cfg.debounce_s:
            return rate, None
        self._alerting = True
        self._last_alert_s = time_s
        return rate, RateChange(time_s, rate, alert=True)

    def advance(self, until_s: float, *, inclusive: bool) -> list[RateChange]:
        """Let twitches leave the window up to ``until_s``; returns alerts that cleared."""
        out: list[RateChange] = []
        window = self._cfg.window_s
        while self._times and (
            self._times[0] + window < until_s or (inclusive and self._times[0] + window == until_s)
        ):
            leave_s = self._times.popleft() + window
            if self._alerting and self.rate_per_min() < self._cfg.clear_per_min:
                self._alerting = False
                out.append(RateChange(leave_s, self.rate_per_min(), alert=False))
        return out
