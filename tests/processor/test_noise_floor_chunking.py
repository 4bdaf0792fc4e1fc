"""Noise floor: how the decimated values are pushed between refreshes changes nothing.

The envelope stage pushes a refresh period's values in one call, in several (chunks ending
mid-period, with or without a validity mask) or several periods at once followed by
``set_floor`` (its quiet fast path, from ``chronological()``). Every way must give bit-identical
floors, ``ready`` flags and history, and the floor must stay the (upper) median of the last
``history`` valid values: frozen while a channel's values are flagged, never raised by them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from processor.config.detection import NoiseConfig
from processor.stages.noise import NoiseFloor

FS_HZ = 1000.0
DECIMATE_MS = 100.0  # keeps every setting below inside its documented range
FLAGGED = 1e9  # flagged (activity) values are louder than any valid one: a leak raises the floor
TINY = 1e-12  # the floor's lower clamp (digital silence must not make every sample an event)


@dataclass(frozen=True)
class Scenario:
    """Decimated values ``(n_channels, n)``, their validity and where refreshes happen."""

    history_n: int  # history capacity in decimated values
    warm_n: int  # valid values needed before a channel is ready
    values: np.ndarray
    valid: np.ndarray
    refresh_after: tuple[int, ...]  # value counts (cumulative) at which refresh() is called

    @property
    def n_channels(self) -> int:
        return int(self.values.shape[0])

    def new_floor(self) -> NoiseFloor:
        cfg = NoiseConfig(
            history_ms=DECIMATE_MS * self.history_n,
            decimate_ms=DECIMATE_MS,
            refresh_ms=DECIMATE_MS,
            warmup_ms=DECIMATE_MS * self.warm_n,
        )
        return NoiseFloor(cfg, FS_HZ, self.n_channels)


@dataclass(frozen=True)
class Snapshot:
    """What a refresh leaves behind."""

    floor: np.ndarray
    ready: np.ndarray
    history: np.ndarray | None


def _snapshot(noise: NoiseFloor) -> Snapshot:
    history = noise.chronological()
    return Snapshot(
        noise.floor.copy(), noise.ready.copy(), None if history is None else history.copy()
    )


def _assert_same(got: Snapshot, want: Snapshot, where: str) -> None:
    # exact equality (inf == inf): any difference is a chunking dependence, not rounding
    np.testing.assert_array_equal(got.floor, want.floor, err_msg=f"floor {where}")
    np.testing.assert_array_equal(got.ready, want.ready, err_msg=f"ready {where}")
    assert (got.history is None) == (want.history is None), f"history {where}"
    if got.history is not None and want.history is not None:
        np.testing.assert_array_equal(got.history, want.history, err_msg=f"history {where}")


@st.composite
def scenarios(
    draw: st.DrawFn, *, scattered: tuple[float, ...] = (0.0, 0.1, 0.5), stretches: int = 4
) -> Scenario:
    """Values with flagged stretches plus a fraction (one of ``scattered``) flagged at random."""
    n_ch = draw(st.integers(1, 4))
    cap = draw(st.integers(3, 30))
    warm = draw(st.integers(0, cap + 3))  # above the capacity: never ready
    periods = draw(st.lists(st.integers(0, 3 * cap), min_size=1, max_size=12))
    n = sum(periods)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = 10.0 ** rng.uniform(-14.0, 6.0, size=(n_ch, n))  # energies over 20 decades
    values[rng.random((n_ch, n)) < 0.03] = 0.0  # digital silence
    valid = rng.random((n_ch, n)) >= draw(st.sampled_from(scattered))
    stretch = st.tuples(
        st.integers(0, n_ch - 1), st.integers(0, max(n - 1, 0)), st.integers(1, 5 * cap)
    )
    for ch, start, length in draw(st.lists(stretch, max_size=stretches)):
        valid[ch, start : start + length] = False  # a contraction or a bad stretch
    values = np.where(valid, values, FLAGGED * (1.0 + rng.random((n_ch, n))))
    return Scenario(cap, warm, values, valid, tuple(itertools.accumulate(periods)))


def _run(sc: Scenario, cuts: list[int], *, mask_when_clean: bool) -> list[Snapshot]:
    """Push the values in pieces cut at ``cuts`` (and at every refresh); snapshot each refresh.

    Clean pieces get ``valid=None`` as the envelope stage passes them, unless
    ``mask_when_clean`` (an all-true mask must give what None gives).
    """
    noise = sc.new_floor()
    out = []
    start = 0
    for stop in sc.refresh_after:
        edges = sorted({start, stop, *(c for c in cuts if start < c < stop)})
        noise.process(sc.values[:, :0], sc.valid[:, :0])  # an empty chunk
        for a, b in itertools.pairwise(edges):
            valid = sc.valid[:, a:b]
            noise.process(sc.values[:, a:b], valid if mask_when_clean or not valid.all() else None)
        noise.refresh()
        out.append(_snapshot(noise))
        start = stop
    return out


# one flagged value leaves the channels' rings at different places, then exactly a history's
# worth of clean values arrives in one call
_UNALIGNED = Scenario(
    3,
    1,
    np.array([[1.0, 2.0, 3.0, 4.0], [FLAGGED, 20.0, 30.0, 40.0]]),
    np.array([[True] * 4, [False, True, True, True]]),
    (1, 4),
)


@settings(max_examples=150, deadline=None)
@given(
    sc=scenarios(),
    cuts=st.lists(st.integers(1, 1200), max_size=40),
    mask_when_clean=st.booleans(),
)
@example(  # every value pushed on its own, through a long flagged stretch
    sc=Scenario(
        4,
        2,
        np.array([[1.0, 2.0, FLAGGED, FLAGGED, FLAGGED, FLAGGED, FLAGGED, 3.0, 0.0, 5.0, 6.0]]),
        np.array([[True, True, False, False, False, False, False, True, True, True, True]]),
        (3, 7, 8, 11),
    ),
    cuts=list(range(1, 11)),
    mask_when_clean=False,
)
@example(sc=_UNALIGNED, cuts=[2], mask_when_clean=False)
def test_pieces_between_refreshes_give_the_one_pass_floors(
    sc: Scenario, cuts: list[int], mask_when_clean: bool
) -> None:
    whole = _run(sc, [], mask_when_clean=False)
    parts = _run(sc, cuts, mask_when_clean=mask_when_clean)
    for i, (got, want) in enumerate(zip(parts, whole, strict=True)):
        _assert_same(got, want, f"after refresh {i}")


@settings(max_examples=150, deadline=None)
@given(sc=scenarios(), cuts=st.lists(st.integers(1, 1200), max_size=40))
@example(sc=_UNALIGNED, cuts=[])
def test_floor_is_the_median_of_the_valid_history_and_frozen_while_flagged(
    sc: Scenario, cuts: list[int]
) -> None:
    snaps = _run(sc, cuts, mask_when_clean=False)
    kept: list[list[float]] = [[] for _ in range(sc.n_channels)]  # every valid value so far
    start = 0
    before = Snapshot(np.full(sc.n_channels, np.inf), np.zeros(sc.n_channels, bool), None)
    for i, (stop, snap) in enumerate(zip(sc.refresh_after, snaps, strict=True)):
        for ch in range(sc.n_channels):
            fresh = sc.values[ch, start:stop][sc.valid[ch, start:stop]]
            kept[ch].extend(fresh.tolist())
            window = sorted(kept[ch][-sc.history_n :])
            ready = len(window) >= max(1, sc.warm_n)
            assert snap.ready[ch] == ready, (i, ch)
            want = max(window[len(window) // 2], TINY) if ready else np.inf
            assert snap.floor[ch] == want, (i, ch, snap.floor[ch], want)
            if fresh.size == 0:  # all flagged since the last refresh: frozen, however loud
                assert snap.floor[ch] == before.floor[ch], (i, ch)
            assert snap.floor[ch] < FLAGGED or not ready, (i, ch)
        if all(len(k) >= sc.history_n for k in kept):
            recent = np.array([k[-sc.history_n :] for k in kept])
            assert snap.history is not None
            np.testing.assert_array_equal(snap.history, recent, err_msg=f"history {i}")
        else:
            assert snap.history is None, i
        before, start = snap, stop


@settings(max_examples=100, deadline=None)
@given(
    sc=scenarios(scattered=(0.0,), stretches=2),
    bulk=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 60)), min_size=1, max_size=8),
)
def test_fast_path_set_floor_from_the_history_equals_refreshing(
    sc: Scenario, bulk: list[tuple[int, int]]
) -> None:
    """Several periods pushed at once, then ``set_floor`` with ``medians_ahead`` over the history
    plus the values ahead (as the envelope stage does at rest), match refreshing each period.

    ``bulk`` cycles through (periods, extra values of the next period) at each period where
    the fast path may start: a full history, every channel ready, at a refresh boundary, and
    only clean values ahead (flagged stretches before it leave the channels' rings unaligned).
    """
    steps = _run(sc, [], mask_when_clean=False)
    noise = sc.new_floor()
    plan = itertools.cycle(bulk)
    bounds = (0, *sc.refresh_after)
    i = 0  # index of the next refresh
    pushed = 0  # values pushed so far
    while i < len(sc.refresh_after):
        history = noise.chronological()
        idle = history is not None and bool(noise.ready.all()) and pushed == bounds[i]
        more, tail = next(plan) if idle else (0, 0)
        last = min(i + more, len(sc.refresh_after)) - 1  # the last refresh inside the bulk
        end = sc.refresh_after[last] if more else pushed
        if more and last + 1 < len(sc.refresh_after):  # run on into the next period, as a chunk
            end = min(end + tail, sc.refresh_after[last + 1])
        if history is None or not more or not sc.valid[:, pushed:end].all():
            valid = sc.valid[:, pushed : bounds[i + 1]]
            noise.process(sc.values[:, pushed : bounds[i + 1]], None if valid.all() else valid)
            pushed = bounds[i + 1]
            noise.refresh()
            _assert_same(_snapshot(noise), steps[i], f"refresh {i}")
            i += 1
            continue
        ends = np.array(sc.refresh_after[i : last + 1]) - pushed  # values ahead at each refresh
        medians = noise.medians_ahead(sc.values[:, pushed:end], ends)
        for j, median in enumerate(medians.T):  # the floors the stage uses inside the bulk
            np.testing.assert_array_equal(median, steps[i + j].floor, err_msg=f"median {i + j}")
        noise.process(sc.values[:, pushed:end], None)
        noise.set_floor(medians[:, -1])
        pushed = end
        want = steps[last]
        np.testing.assert_array_equal(noise.floor, want.floor, err_msg=f"set_floor {last}")
        np.testing.assert_array_equal(noise.ready, want.ready, err_msg=f"ready {last}")
        i = last + 1
    assert pushed == bounds[-1]
    _assert_same(_snapshot(noise), steps[-1], "at the end")
