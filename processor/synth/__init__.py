"""Physiologically grounded synthetic EMG/accelerometer sessions with ground truth.

Pure numpy/scipy, no I/O. Shared by the accuracy benchmark, the bundled demo recordings and
the BLE emulator. Entry point: ``synth_session``; the physiology behind every range is in
``docs/benchmarks.md`` and detection.md sections 1 and 5.
"""

from __future__ import annotations

from processor.synth.model import (
    ARTIFACT,
    CONTRACTION,
    FASCICULATION,
    FIBRILLATION,
    SPASM,
    TWITCH_TYPES,
    SynthRecording,
    TruthEvent,
)
from processor.synth.noise import tile_baseline
from processor.synth.scenarios import SCENARIOS, Scenario
from processor.synth.session import synth_session

__all__ = [
    "ARTIFACT",
    "CONTRACTION",
    "FASCICULATION",
    "FIBRILLATION",
    "SCENARIOS",
    "SPASM",
    "TWITCH_TYPES",
    "Scenario",
    "SynthRecording",
    "TruthEvent",
    "synth_session",
    "tile_baseline",
]
