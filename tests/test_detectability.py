"""The detectability bound (benchmarks/detectability.py) measures what it says it measures."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import baselines, cases
from benchmarks.detectability import energy_5ms, injected, matched_bank, recall, template


def _rest() -> np.ndarray:
    if not (baselines.DATA_DIR / "uci_lower_limb" / "3Asen.txt").is_file():
        pytest.skip(f"real baseline 3Asen.txt not found under {baselines.DATA_DIR}")
    return cases.baseline("lower_limb")


def test_injected_twitches_sit_at_the_returned_onsets() -> None:
    rest = np.zeros(1000)
    x, onsets = injected(rest, 100.0, 5, np.random.default_rng(0))
    assert len(onsets) == 5
    for at in onsets:
        assert np.ptp(x[at : at + 60]) == pytest.approx(100.0, rel=1e-9)
        assert not x[at - 20 : at].any()


def test_the_bound_separates_huge_from_tiny_twitches() -> None:
    rest = _rest()
    bank = matched_bank([template(np.random.default_rng(s)) for s in range(4)])
    for feature in (energy_5ms, bank):
        assert recall(feature, rest, 1000.0, 20, seed=1) == 1.0
        assert recall(feature, rest, 1.0, 20, seed=1) <= 0.1
