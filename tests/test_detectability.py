"""The detectability bound (benchmarks/detectability.py) measures what it says it measures."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import baselines, cases
from benchmarks.detectability import (
    Rest,
    draw,
    energy_5ms,
    injected,
    matched_bank,
    recall,
    template,
)


def _rest() -> Rest:
    if not (baselines.DATA_DIR / "uci_lower_limb" / "3Asen.txt").is_file():
        pytest.skip(f"real baseline 3Asen.txt not found under {baselines.DATA_DIR}")
    return Rest("lower_limb", 1000.0, (cases.baseline("lower_limb"),))


def test_injected_twitches_sit_at_the_returned_onsets() -> None:
    x, onsets = injected(np.zeros(1000), 1000.0, 100.0, 5, np.random.default_rng(0))
    assert len(onsets) == 5
    for at in onsets:
        assert 85.0 <= np.ptp(x[at : at + 60]) <= 100.0  # band-limiting to 1 kHz trims a little
        assert not x[at - 20 : at].any()


def test_amplitudes_are_fixed_or_log_uniform_in_range() -> None:
    rng = np.random.default_rng(0)
    assert draw(30.0, rng) == 30.0
    drawn = np.array([draw((30.0, 300.0), rng) for _ in range(2000)])
    assert drawn.min() >= 30.0
    assert drawn.max() <= 300.0
    assert np.median(drawn) == pytest.approx(np.sqrt(30.0 * 300.0), rel=0.1)


def test_the_bound_separates_huge_from_tiny_twitches() -> None:
    rest = _rest()
    bank = matched_bank([template(np.random.default_rng(s), rest.fs_hz) for s in range(4)])
    for feature in (energy_5ms(rest.fs_hz), bank):
        assert recall(feature, rest, 1000.0, 20, seed=1) == 1.0
        assert recall(feature, rest, 1.0, 20, seed=1) <= 0.1
