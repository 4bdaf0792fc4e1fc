"""Voluntary windows of the real-activity benchmark (benchmarks/real_activity.py).

Only the window derivation is tested here (no pipeline replay): the windows decide what the
benchmark calls voluntary activity, so they must match the documented contractions.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import baselines
from benchmarks.baselines import mask_to_windows
from benchmarks.real_activity import (
    PAD_S,
    lower_limb_windows,
    myo_windows,
    widen,
)

# 3Asen: the four ~5 s knee extensions (shared/data/real/README.md; visible in RF/VM and the
# knee angle)
EXTENSIONS_S = ((3.0, 8.0), (11.0, 18.0), (22.0, 28.0), (32.0, 38.0))


def _need(relative: str) -> None:
    if not (baselines.DATA_DIR / relative).is_file():
        pytest.skip(
            f"real baseline {relative} not found under {baselines.DATA_DIR} "
            "(set TWITCHWATCH_REAL_DATA to the shared data/real folder)"
        )


def test_mask_runs_become_windows_in_seconds() -> None:
    mask = np.zeros(100, dtype=bool)
    mask[10:20] = True
    mask[95:] = True
    assert mask_to_windows(mask, 10.0) == [(1.0, 2.0), (9.5, 10.0)]
    assert mask_to_windows(np.zeros(5, dtype=bool), 10.0) == []


def test_widen_pads_clips_and_merges() -> None:
    out = widen([(5.0, 6.0), (0.2, 1.0), (6.8, 7.0)], 0.5, 7.2)
    assert out == [(0.0, 1.5), (4.5, 7.2)]


def test_lower_limb_yields_one_window_per_knee_extension() -> None:
    _need("uci_lower_limb/3Asen.txt")
    ll = baselines.uci_lower_limb()
    windows = lower_limb_windows(ll)
    assert len(windows) == 4, windows
    for (lo, hi), (a, b) in zip(windows, EXTENSIONS_S, strict=True):
        # each window holds its extension and does not reach the next one
        assert lo <= a + 1.0, (lo, hi, a, b)
        assert hi >= b - 1.0, (lo, hi, a, b)
        assert hi - lo < (b - a) + 4.0, (lo, hi)
    # the knee angle moves a lot inside every window (independent of the EMG)
    for lo, hi in windows:
        knee = ll.knee_deg[round(lo * ll.fs_hz) : round(hi * ll.fs_hz)]
        assert np.ptp(knee) > 30.0, (lo, hi)


def test_myo_windows_cover_every_gesture_and_leave_rest_outside() -> None:
    _need("uci_gestures_myo/1_raw_data_11-08_21.03.16.txt")
    counts, labels = baselines.myo_gestures()
    windows = myo_windows(counts, labels)
    fs = baselines.MYO_FS_HZ
    inside = np.zeros(labels.shape[0], dtype=bool)
    for lo, hi in windows:
        inside[round(lo * fs) : round(hi * fs)] = True
    assert inside[np.isin(labels, (2, 3, 4, 5, 6))].all()
    assert not inside[labels == 1].all()  # some rest stays outside the voluntary windows
    assert min(hi - lo for lo, hi in windows) >= 2 * PAD_S
