"""Twitch detector on a synthetic envelope: onsets, doublets, long activity, chunking."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.config.detection import TwitchConfig
from processor.stages.twitch import TwitchCandidate, TwitchDetector

N = 3000
FLOOR = np.ones(2)
THRESHOLDS = (FLOOR * 12.0, FLOOR * 4.0, FLOOR * 2.0)


def _bump(e: np.ndarray, ch: int, at: int, length: int, height: float) -> None:
    e[ch, at : at + length] += height * np.hanning(length + 2)[1:-1]


def _signals() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    e = rng.uniform(0.5, 1.0, size=(2, N))
    _bump(e, 0, 500, 12, 100.0)
    _bump(e, 0, 1000, 12, 100.0)
    _bump(e, 0, 1032, 12, 100.0)  # doublet 32 ms after the previous one
    _bump(e, 1, 2000, 200, 100.0)  # 200 ms of activity: not a twitch
    y = np.sqrt(e) * np.sign(np.sin(np.arange(N) * 0.9))
    y[:, ::2] *= 3.0  # peak-to-peak above the 15 uV minimum
    y *= 5.0
    return y, e


def _run(cuts: list[int]) -> list[TwitchCandidate]:
    y, e = _signals()
    det = TwitchDetector(TwitchConfig(), 1000.0, 2, "uV")
    edges = [0, *cuts, N]
    out: list[TwitchCandidate] = []
    for a, b in itertools.pairwise(edges):
        hot = np.asarray((e[:, a:b] > THRESHOLDS[0][:, None]).any(axis=1))
        out.extend(det.process(y[:, a:b], e[:, a:b], a, THRESHOLDS, hot))
    return sorted(out, key=lambda c: (c.onset_index, c.channel))


def test_onsets_doublets_and_long_activity() -> None:
    found = _run([])
    assert [(c.channel, c.onset_index) for c in found] == [(0, 500), (0, 1000), (0, 1032)]
    assert all(c.end_index - c.onset_index <= 40 for c in found)
    assert all(c.final_index >= c.onset_index + 20 for c in found)


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(1, N - 1), unique=True, max_size=40).map(sorted))
def test_twitch_detector_chunked_equals_one_pass(cuts: list[int]) -> None:
    assert _run(cuts) == _run([])


def test_an_echo_below_a_risen_threshold_is_no_onset_whatever_the_segments() -> None:
    # after a twitch the echo level was set under the old floor; the floor then rose above it.
    # A bump between the two levels inside the echo window is no onset: otherwise it would fire
    # only in a segment that also holds a real crossing (segments without one are skipped)
    e = np.full((1, 800), 0.5)
    _bump(e, 0, 500, 12, 40.0)
    _bump(e, 0, 560, 12, 16.0)  # above the echo level (12), below the new on threshold (20)
    _bump(e, 0, 650, 12, 100.0)
    y = np.sqrt(e) * np.sign(np.sin(np.arange(800) * 0.9)) * 15.0
    old = (np.ones(1) * 12.0, np.ones(1) * 4.0, np.ones(1) * 2.0)
    risen = (old[0] * 20.0 / 12.0, old[1] * 20.0 / 12.0, old[2] * 20.0 / 12.0)

    def onsets(edges: list[int]) -> list[int]:
        det = TwitchDetector(TwitchConfig(), 1000.0, 1, "uV")
        out = det.process(y[:, :550], e[:, :550], 0, old, np.array([True]))
        for a, b in itertools.pairwise(edges):
            hot = np.asarray((e[:, a:b] > risen[0][:, None]).any(axis=1))
            out += det.process(y[:, a:b], e[:, a:b], a, risen, hot)
        return [c.onset_index for c in out]

    whole = onsets([550, 800])
    assert whole == onsets([550, 600, 800])
    assert len(whole) == 2
    assert whole[1] >= 640
