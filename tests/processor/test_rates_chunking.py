"""Twitch rates: when the trailing windows are advanced changes no rate and no alert.

The pipeline advances every channel's tracker to the end of each EMG chunk (``inclusive=False``)
and, before counting a twitch, to its decision time (``inclusive=True``); the chunking only moves
the first kind of call around. Random twitch times (ties and exact window boundaries included)
with random advance times must give exactly the rates and alert changes of one pass, and those
of a timeline model of the alert rule.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hypothesis import example, given, settings
from hypothesis import strategies as st

from processor.config.detection import RateConfig
from processor.stages.rates import RateChange, RateTracker


@dataclass(frozen=True)
class Twitch:
    """A twitch counted on ``channel`` at ``time_s`` (non-decreasing over the stream)."""

    time_s: float
    channel: int


@dataclass
class Log:
    """Everything the trackers said, per channel, in the order they said it."""

    rates: dict[int, list[float]]  # rate returned by each add
    changes: dict[int, list[RateChange]]  # alerts (from add) and clears (from advance)


configs = st.builds(
    lambda window_s, alert, clear_frac, debounce_s: RateConfig(
        window_s=window_s,
        alert_per_min=alert,
        clear_per_min=alert * clear_frac,
        debounce_s=debounce_s,
    ),
    window_s=st.sampled_from([10.0, 30.0, 60.0, 120.0]),
    alert=st.sampled_from([1.0, 4.0, 6.0, 10.0, 12.5, 20.0]),
    clear_frac=st.sampled_from([0.0, 0.5, 0.7, 1.0]),
    debounce_s=st.sampled_from([0.0, 5.0, 30.0, 600.0]),
)
# a coarse time grid makes ties and exact ``time + window == until`` boundaries common
steps_s = st.sampled_from([0.5, 0.25, 0.1, 1 / 3])


def _twitches(counted: list[tuple[int, int]], step_s: float) -> list[Twitch]:
    """Twitches from (steps since the previous one, channel)."""
    times = itertools.accumulate(gap for gap, _ in counted)
    return [Twitch(t * step_s, ch) for t, (_, ch) in zip(times, counted, strict=True)]


def _drive(cfg: RateConfig, twitches: list[Twitch], queries_s: list[float], end_s: float) -> Log:
    """Feed the twitches, advancing every tracker (exclusively) at each query time first."""
    trackers: dict[int, RateTracker] = {}
    log = Log({}, {})
    pending = sorted(queries_s)
    inclusive_s = [-float("inf")]  # the latest time advanced to inclusively

    def advance(until_s: float, *, inclusive: bool) -> None:
        if inclusive:
            inclusive_s[0] = until_s
        for ch, tracker in trackers.items():
            cleared = tracker.advance(until_s, inclusive=inclusive)
            for change in cleared:  # a clear is never reported before it happened
                assert change.time_s <= until_s if inclusive else change.time_s < until_s
            log.changes[ch].extend(cleared)
            counted = [t.time_s for t in twitches if t.channel == ch][: len(log.rates[ch])]
            # a twitch exactly one window old has left if the window ever closed inclusively there
            left = [t + cfg.window_s for t in counted]
            kept = [s for s in left if s > until_s or (s == until_s and s != inclusive_s[0])]
            assert tracker.rate_per_min() == len(kept) * 60.0 / cfg.window_s

    for twitch in twitches:
        while pending and pending[0] <= twitch.time_s:  # chunk ends before this decision
            advance(pending.pop(0), inclusive=False)
        advance(twitch.time_s, inclusive=True)
        if twitch.channel not in trackers:
            trackers[twitch.channel] = RateTracker(cfg)
            log.rates[twitch.channel], log.changes[twitch.channel] = [], []
        rate, change = trackers[twitch.channel].add(twitch.time_s)
        log.rates[twitch.channel].append(rate)
        if change is not None:
            log.changes[twitch.channel].append(change)
    for until_s in [*pending, end_s]:
        advance(until_s, inclusive=False)
    return log


def _model(
    cfg: RateConfig, times_s: list[float], last_s: float, end_s: float
) -> tuple[list[float], list[RateChange]]:
    """The alert rule on one channel's merged timeline of arrivals and departures.

    A twitch leaves the window at ``time + window_s``; at equal times departures come first
    (the inclusive advance before a count). By the end, the departures at or before the last
    twitch of any channel (``last_s``) or before ``end_s`` have happened; later ones have not.
    """
    window_s = cfg.window_s
    timeline = [(t, 1, i) for i, t in enumerate(times_s)]
    timeline += [
        (t + window_s, 0, i)
        for i, t in enumerate(times_s)
        if t + window_s < end_s or t + window_s <= last_s
    ]
    count, alerting, last_alert_s = 0, False, None
    rates: list[float] = []
    changes: list[RateChange] = []
    for at_s, arrives, _ in sorted(timeline):
        count += 1 if arrives else -1
        rate = count * 60.0 / window_s
        if arrives:
            rates.append(rate)
            quiet = last_alert_s is None or at_s - last_alert_s >= cfg.debounce_s
            if not alerting and rate >= cfg.alert_per_min and quiet:
                alerting, last_alert_s = True, at_s
                changes.append(RateChange(at_s, rate, alert=True))
        elif alerting and rate < cfg.clear_per_min:
            alerting = False
            changes.append(RateChange(at_s, rate, alert=False))
    return rates, changes


@settings(max_examples=200, deadline=None)
@given(
    cfg=configs,
    step_s=steps_s,
    counted=st.lists(st.tuples(st.integers(0, 80), st.integers(0, 2)), min_size=1, max_size=60),
    queries=st.lists(st.integers(0, 3000), max_size=40),
    tail=st.integers(0, 600),
)
@example(  # 10 twitches a minute, then silence: alert, then a clear at an exact boundary
    cfg=RateConfig(window_s=60.0, alert_per_min=10.0, clear_per_min=7.0, debounce_s=600.0),
    step_s=0.5,
    counted=[(0, 0)] + [(12, 0)] * 9 + [(120, 0)],
    queries=[120, 132, 156, 157, 228],  # 60 s, 66 s, 78 s (the clear), 78.5 s, 114 s
    tail=300,
)
@example(  # a twitch leaves inclusively at the next one; an exclusive advance there keeps it out
    cfg=RateConfig(window_s=30.0, alert_per_min=1.0, clear_per_min=0.0, debounce_s=0.0),
    step_s=0.5,
    counted=[(0, 0), (60, 0)],
    queries=[60],
    tail=0,
)
def test_advancing_at_random_times_gives_the_one_pass_rates_and_alerts(
    cfg: RateConfig,
    step_s: float,
    counted: list[tuple[int, int]],
    queries: list[int],
    tail: int,
) -> None:
    twitches = _twitches(counted, step_s)
    end_s = twitches[-1].time_s + tail * step_s
    queries_s = [q * step_s for q in queries if q * step_s <= end_s]
    whole = _drive(cfg, twitches, [], end_s)
    parts = _drive(cfg, twitches, queries_s, end_s)
    assert parts == whole
    for ch, rates in whole.rates.items():
        times_s = [t.time_s for t in twitches if t.channel == ch]
        model = _model(cfg, times_s, twitches[-1].time_s, end_s)
        assert (rates, whole.changes[ch]) == model, ch


def test_the_example_alerts_and_clears() -> None:
    """The hand-made case above does reach both sides of the rule (the model is not vacuous)."""
    cfg = RateConfig(window_s=60.0, alert_per_min=10.0, clear_per_min=7.0, debounce_s=600.0)
    times_s = [6.0 * i for i in range(10)]
    rates, changes = _model(cfg, times_s, times_s[-1], 200.0)
    assert rates == [float(i + 1) for i in range(10)]
    assert changes == [
        RateChange(54.0, 10.0, alert=True),
        RateChange(78.0, 6.0, alert=False),  # the 4th twitch (18 s) leaves at 78 s: 6/min < 7
    ]
    log = _drive(cfg, [Twitch(t, 0) for t in times_s], [60.0, 66.0, 78.0], 200.0)
    assert log.changes[0] == changes


def test_a_new_alert_comes_exactly_debounce_s_after_the_last() -> None:
    cfg = RateConfig(window_s=10.0, alert_per_min=12.0, clear_per_min=6.0, debounce_s=30.0)
    times_s = [0.0, 1.0, 30.0, 30.5, 31.0]
    want = [
        RateChange(1.0, 12.0, alert=True),
        RateChange(11.0, 0.0, alert=False),
        RateChange(31.0, 18.0, alert=True),  # 30.5 s is too soon; 31 s is debounce_s later
    ]
    assert _model(cfg, times_s, times_s[-1], 35.0)[1] == want
    for queries_s in ([], [10.0, 11.0, 30.5], [5.0, 11.5, 20.0, 31.0]):
        log = _drive(cfg, [Twitch(t, 0) for t in times_s], queries_s, 35.0)
        assert log.changes[0] == want
