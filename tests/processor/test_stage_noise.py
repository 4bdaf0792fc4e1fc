"""Noise floor: trailing median, frozen while activity is flagged, refreshed on schedule."""

from __future__ import annotations

import numpy as np

from processor.config.detection import NoiseConfig
from processor.stages.noise import NoiseFloor


def test_floor_is_the_median_of_the_history_after_warmup() -> None:
    floor = NoiseFloor(NoiseConfig(), 1000.0, 2)
    assert floor.decim_n == 10
    assert floor.refresh_n == 100
    values = np.random.default_rng(0).exponential(1.0, size=(2, 300))
    floor.process(values[:, :20], np.ones((2, 20), dtype=bool))
    floor.refresh()
    assert not floor.ready.any()
    assert np.isinf(floor.floor).all()
    floor.process(values[:, 20:], np.ones((2, 280), dtype=bool))
    floor.refresh()
    assert floor.ready.all()
    np.testing.assert_allclose(floor.floor, np.sort(values[:, 100:], axis=1)[:, 100], rtol=1e-12)


def test_floor_does_not_ratchet_up_during_flagged_activity() -> None:
    floor = NoiseFloor(NoiseConfig(), 1000.0, 1)
    floor.process(np.ones((1, 200)), np.ones((1, 200), dtype=bool))
    floor.refresh()
    loud = np.full((1, 3000), 500.0)  # 30 s of contraction, all flagged as activity
    floor.process(loud, np.zeros_like(loud, dtype=bool))
    floor.refresh()
    assert floor.floor[0] == 1.0


def test_per_channel_freeze() -> None:
    floor = NoiseFloor(NoiseConfig(), 1000.0, 2)
    floor.process(np.ones((2, 200)), np.ones((2, 200), dtype=bool))
    valid = np.array([[True] * 200, [False] * 200])
    floor.process(np.full((2, 200), 9.0), valid)
    floor.refresh()
    assert list(floor.floor) == [9.0, 1.0]
    floor.reset()
    assert not floor.ready.any()
