"""Value types of the synthetic-signal generators: ground truth and the generated recording."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

# Truth ``type`` values: the three product classes, voluntary contractions and artefacts.
FASCICULATION = "fasciculation"
FIBRILLATION = "fibrillation"
SPASM = "spasm"
CONTRACTION = "contraction"
ARTIFACT = "artifact"
TWITCH_TYPES = frozenset({FASCICULATION, FIBRILLATION})


@dataclass(frozen=True, slots=True)
class TruthEvent:
    """One injected event with its known timing.

    Attributes:
        type: ``fasciculation`` (visible twitch), ``fibrillation`` (twitch too small to see),
            ``spasm``, ``contraction`` (voluntary rep) or ``artifact`` (motion artefact).
        channel: EMG channel name the event was injected into.
        start_s: onset, seconds since the first sample (for a twitch: first sample where the
            waveform exceeds 5 % of its peak).
        end_s: end, same clock.
        peak_uv: peak-to-peak amplitude of the injected waveform, µV.
        visible: a twitch has a mechanical (accelerometer) signature; without an accelerometer
            the amplitude proxy decides (p-p >= ``visible_proxy_uv`` of the scenario).
    """

    type: str
    channel: str
    start_s: float
    end_s: float
    peak_uv: float
    visible: bool


@dataclass(frozen=True, slots=True)
class SynthRecording:
    """A generated session: EMG, optional accelerometer and the ground truth.

    Attributes:
        emg_uv: shape (n_samples, n_emg), float64, µV.
        acc_g: shape (m_samples, 3), float64, g (x, y, z), or None without an accelerometer.
        fs_hz: EMG sample rate, Hz.
        acc_fs_hz: accelerometer sample rate, Hz, or None.
        emg_channels: EMG channel names, one per column of ``emg_uv``.
        truth: injected events sorted by ``start_s``.
    """

    emg_uv: FloatArray
    acc_g: FloatArray | None
    fs_hz: float
    acc_fs_hz: float | None
    emg_channels: tuple[str, ...]
    truth: list[TruthEvent] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Length of the EMG, seconds."""
        return float(self.emg_uv.shape[0]) / self.fs_hz
