"""Motion gate: sudden slow lurches are flagged, steady wander and EMG are not, in any chunking."""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.stages.motion import MotionGate
from processor.synth.noise import motion_artifact

FS = 1000.0
N = 12_000


@cache
def _signal() -> tuple[np.ndarray, np.ndarray]:
    """Raw (2, N) with two lurches on channel 0 and a contraction on channel 1, and its power."""
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 3.0, size=(2, N)) + 40.0
    for at, peak in ((4_000, 300.0), (9_000, 150.0)):
        wave = motion_artifact(rng, FS, peak)
        x[0, at : at + wave.size] += wave
    x[1, 6_000:8_000] += rng.normal(0.0, 300.0, 2_000)
    power = np.full((2, N), 9.0)
    power[1, 6_000:8_000] = 300.0**2
    return x, power


def _run(cuts: list[int]) -> np.ndarray:
    x, power = _signal()
    gate = MotionGate(20.0, FS, 2)
    out = np.zeros((2, N), dtype=bool)
    for a, b in itertools.pairwise([0, *cuts, N]):
        flags = gate.process(x[:, a:b], power[:, a:b], a)
        if flags is not None:
            out[:, a:b] = flags
    return out


def test_lurches_are_flagged_and_a_contraction_is_not() -> None:
    flags = _run([])
    hits = np.flatnonzero(flags[0])
    assert hits.size
    assert all(4_000 <= h < 4_400 or 9_000 <= h < 9_400 for h in hits)
    assert (hits < 5_000).any()
    assert (hits >= 9_000).any()
    assert not flags[1].any()


def test_nothing_is_flagged_in_the_first_two_seconds() -> None:
    x, power = _signal()
    gate = MotionGate(20.0, FS, 2)
    wave = motion_artifact(np.random.default_rng(5), FS, 400.0)
    early = x.copy()
    early[0, 500 : 500 + wave.size] += wave
    assert gate.process(early[:, :2_000], power[:, :2_000], 0) is None


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(1, N - 1), unique=True, max_size=40).map(sorted))
def test_motion_flags_do_not_depend_on_chunking(cuts: list[int]) -> None:
    np.testing.assert_array_equal(_run(cuts), _run([]))
