"""Which contractions make a twitch voluntary: every channel's recent bursts of one stream.

A twitch inside, just before or just after a contraction is one of its discharges, not an
involuntary twitch. Bursts are mutated as they evolve, so every answer only uses what was
decided by the twitch's decision sample: it is the same whatever the chunking.
"""

from __future__ import annotations

from collections.abc import Callable

from processor.config.detection import DetectionConfig
from processor.stages.contraction import Burst
from processor.stages.twitch import TwitchCandidate

# synergists recruited for one movement start within about 100 ms of each other
_SYNERGIST_ONSET_MS = 100.0


class RecentBursts:
    """The contractions of every channel that a twitch still to be decided may need.

    Args:
        cfg: the whole detection config (twitch and contraction sections).
        fs_hz: sample rate.
        is_train: whether a burst, decided by a sample, was a train of discrete twitches.
    """

    def __init__(
        self, cfg: DetectionConfig, fs_hz: float, is_train: Callable[[Burst, int], bool]
    ) -> None:
        tw = cfg.twitch
        self._before_n = round(tw.near_contraction_before_ms * fs_hz / 1000)
        self.after_n = round(tw.near_contraction_after_ms * fs_hz / 1000)
        self._synergist_n = round(_SYNERGIST_ONSET_MS * fs_hz / 1000)
        self._min_burst_n = round(cfg.contraction.min_duration_ms * fs_hz / 1000)
        self._is_train = is_train
        self.bursts: list[Burst] = []

    def add(self, burst: Burst) -> None:
        """Remember a burst when it is first seen."""
        self.bursts.append(burst)

    def forget_before(self, index: int) -> None:
        """Drop the bursts that ended too long before ``index`` to surround a later twitch."""
        horizon = index - self._before_n
        self.bursts = [b for b in self.bursts if b.end_index is None or b.end_index >= horizon]

    def surround(self, twitch: TwitchCandidate, decided: int, known_at: int) -> bool:
        """Whether a contraction surrounds ``twitch``, as known at its ``decided`` sample.

        A burst opened later is unknown, one whose end was decided later is still open;
        ``known_at`` (<= the decision sample in any chunking) dates the train check.
        """
        for burst in self.bursts:
            if burst.opened_index > decided:
                continue
            # a contraction about to start on the twitch's own channel makes the twitch its
            # first discharge; elsewhere it must already be under way (a big twitch's ringing
            # opens a short burst on a neighbouring electrode just after it)
            after_n = self.after_n if burst.channel == twitch.channel else self._synergist_n
            if burst.onset_index > twitch.end_index + after_n:
                continue
            if self._is_train(burst, known_at):
                continue  # a 10-25 Hz train of discrete twitches, not a contraction
            end = burst.end_index
            if end is None or burst.decided_index is None or burst.decided_index > decided:
                return True  # still open at the decision sample
            if end - burst.onset_index < self._min_burst_n:
                continue  # a big twitch's own ringing, not a contraction
            if end + self._before_n >= twitch.onset_index:
                return True
        return False
