"""Voluntary activity without an accelerometer: co-activation and background activity.

A cramp starts in one muscle; a voluntary hold drives synergists together. A twitch riding on
an interference pattern too weak to form a burst is voluntary activity, not a fasciculation.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.config.detection import DetectionConfig
from processor.model import Chunk, Event, EventType, StreamInfo
from processor.stages.pipeline import Pipeline
from processor.synth.muap import spasm_waveform
from tests.processor._signals import inject, rest_uv

FS = 1000.0
EMG = StreamInfo("emg", FS, ("emg_0", "emg_1"), "uV")
TWITCHES = {EventType.FASCICULATION, EventType.FIBRILLATION}


def _run(
    data: np.ndarray, edges: list[int] | None = None, cfg: DetectionConfig | None = None
) -> list[Event]:
    edges = edges or [*range(0, data.shape[0], 20), data.shape[0]]
    pipe = Pipeline(cfg or DetectionConfig(), session_id="vol")
    out: list[Event] = []
    for a, b in itertools.pairwise(edges):
        out.extend(pipe.process(Chunk(EMG, a, data[a:b])))
    return out + pipe.flush()


def _interference(n: int, rms_uv: float, seed: int) -> np.ndarray:
    """A voluntary interference pattern with a 200 ms ramp up and down."""
    x = np.random.default_rng(seed).normal(0.0, rms_uv, size=n)
    ramp = np.linspace(0.0, 1.0, 200)
    x[:200] *= ramp
    x[-200:] *= ramp[::-1]
    return x


def _at(seconds: float) -> int:
    return round(seconds * FS)


@cache
def _session() -> np.ndarray:
    """40 s x 2 ch of real rest: a 6 s voluntary hold on both channels at 5-11 s, a 9 s
    cramp on channel 0 only at 16-25 s, a weak 3 s contraction on channel 1 at 30-33 s with
    twitches on top of it, and the same twitches at rest at 35-38 s."""
    x = rest_uv(_at(40.0), seed=11)
    hold = slice(_at(5.0), _at(11.0))
    x[hold, 0] += _interference(_at(6.0), 60.0, seed=1)
    x[hold, 1] += _interference(_at(6.0), 35.0, seed=2)
    x[_at(16.0) : _at(25.0), 0] += spasm_waveform(np.random.default_rng(3), FS, 9.0, 60.0)
    x[_at(30.0) : _at(33.0), 1] += _interference(_at(3.0), 7.0, seed=4)
    inject(x, 1, [_at(30.6), _at(31.4), _at(32.2)], 80.0, seed=5)
    inject(x, 1, [_at(35.6), _at(36.4), _at(37.2)], 80.0, seed=5)
    return x


@cache
def _reference() -> tuple[Event, ...]:
    return tuple(_run(_session()))


def _spasms(events: tuple[Event, ...]) -> list[Event]:
    return [e for e in events if e.type is EventType.SPASM and e.end_s is not None]


def test_a_hold_on_two_channels_is_a_contraction_with_coactivation() -> None:
    held = [
        e
        for e in _reference()
        if e.type is EventType.CONTRACTION and 4.5 <= e.start_s <= 6.0 and e.end_s is not None
    ]
    assert held
    assert all(e.end_s is not None and e.end_s - e.start_s > 4.0 for e in held)
    assert any("coactivation" in e.extras.get("not_spasm_because", []) for e in held)  # type: ignore[operator]
    assert not [e for e in _spasms(_reference()) if e.start_s < 12.0]


def test_a_cramp_in_one_channel_is_still_a_spasm() -> None:
    (spasm,) = _spasms(_reference())
    assert spasm.channel == "emg_0"
    assert abs(spasm.start_s - 16.0) < 0.3
    assert spasm.extras["coactive_channels"] == 0


@pytest.mark.parametrize("share", [0.1, 0.3, 0.6])
def test_a_cramp_seen_through_crosstalk_on_the_other_channel_is_still_a_spasm(
    share: float,
) -> None:
    x = rest_uv(_at(20.0), seed=13)
    cramp = spasm_waveform(np.random.default_rng(3), FS, 9.0, 60.0)
    x[_at(6.0) : _at(15.0), 0] += cramp
    x[_at(6.0) : _at(15.0), 1] += share * cramp  # the same units through more tissue
    spasms = _spasms(tuple(_run(x)))
    # a strong copy is a sustained burst of its own: that electrode reports the cramp too
    assert "emg_0" in {s.channel for s in spasms}
    assert all(abs(s.start_s - 6.0) < 0.3 for s in spasms)
    assert all(s.extras["coactive_channels"] == 0 for s in spasms)
    no_check = replace(
        DetectionConfig(),
        spasm=replace(DetectionConfig().spasm, coactivation_max_corr=1.0),
    )
    assert not _spasms(tuple(_run(x, cfg=no_check)))  # the crosstalk alone looks co-active


def test_twitches_on_a_weak_contraction_are_suppressed_but_found_at_rest() -> None:
    found = [e.start_s for e in _reference() if e.type in TWITCHES and e.channel == "emg_1"]
    # the rise of the contraction itself can still look like twitches (the background
    # window only looks back); on its plateau nothing is reported
    assert not [t for t in found if 30.4 < t < 33.2]
    assert sum(1 for t in found if 35.0 < t < 38.0) == 3


def test_twitches_are_suppressed_on_every_channel_during_a_contraction() -> None:
    x = _session().copy()
    inject(x, 1, [_at(20.0), _at(22.0)], 80.0, seed=6)  # during the channel-0 cramp
    inject(x, 1, [_at(27.5)], 80.0, seed=7)  # well after it
    found = [e.start_s for e in _run(x) if e.type in TWITCHES and e.channel == "emg_1"]
    assert not [t for t in found if 15.5 < t < 25.5]
    assert [t for t in found if 27.0 < t < 28.0]


def test_a_contraction_starting_later_elsewhere_does_not_suppress_a_twitch() -> None:
    """A twitch 300 ms before a hold is the hold's first discharge only on the hold's channel:
    synergists of one movement start within ~100 ms of each other."""
    x = rest_uv(_at(14.0), seed=12)
    inject(x, 1, [_at(3.0), _at(9.0)], 80.0, seed=8)
    x[_at(3.3) : _at(4.8), 0] += _interference(_at(1.5), 60.0, seed=9)  # the other channel
    x[_at(9.3) : _at(10.8), 1] += _interference(_at(1.5), 60.0, seed=9)  # its own channel
    found = [e.start_s for e in _run(x) if e.type in TWITCHES and e.channel == "emg_1"]
    assert [t for t in found if 2.95 < t < 3.05]
    assert not [t for t in found if 8.5 < t < 11.0]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cuts=st.lists(st.integers(1, 39_999), max_size=25),
    tiny_from=st.integers(0, 39_000),
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=4),
)
def test_voluntary_decisions_do_not_depend_on_chunking(
    cuts: list[int], tiny_from: int, sizes: list[int]
) -> None:
    n = _session().shape[0]
    edges = {0, n, *cuts}
    at, step = tiny_from, itertools.cycle(sizes)
    while at < min(n, tiny_from + 600):
        edges.add(at)
        at += next(step)
    assert tuple(_run(_session(), sorted(edges))) == _reference()
