"""Twitch rate per channel and the alert rule."""

from __future__ import annotations

from processor.config.detection import RateConfig
from processor.stages.rates import RateChange, RateTracker


def test_single_twitches_never_alert_and_rate_counts_the_window() -> None:
    tracker = RateTracker(RateConfig())
    rate, change = tracker.add(10.0)
    assert change is None
    assert rate == 0.5  # 1 twitch in a 2-minute window


def test_alert_rises_once_then_clears_with_hysteresis_and_debounce() -> None:
    tracker = RateTracker(RateConfig(window_s=60, alert_per_min=5, clear_per_min=3, debounce_s=600))
    changes = [tracker.add(float(t))[1] for t in range(5)]
    assert changes[:4] == [None] * 4
    assert changes[4] == RateChange(4.0, 5.0, alert=True)
    assert tracker.add(5.0)[1] is None  # already alerting
    cleared = tracker.advance(63.5, inclusive=False)
    assert cleared == [RateChange(63.0, 2.0, alert=False)]
    for t in range(100, 105):
        assert tracker.add(float(t))[1] is None  # within debounce_s of the first alert
    tracker.advance(1000.0, inclusive=False)
    assert [tracker.add(float(t))[1] for t in range(1000, 1005)][-1] is not None
