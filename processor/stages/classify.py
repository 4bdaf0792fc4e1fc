"""Stage D: rule-based classification and event lines (explainable; operational classes only).

``fasciculation`` = an accepted twitch with a mechanical transient in the accelerometer (or, with
no usable accelerometer, a peak-to-peak above the amplitude proxy); ``fibrillation`` = a twitch
too small to be seen (NOT the clinical needle finding); ``spasm`` = a burst that lasted
``confirm_ms`` with no limb movement, an irregular envelope and enough amplitude; every other
burst is a voluntary ``contraction``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from processor.config.detection import DetectionConfig
from processor.model import Event, EventType, JsonValue


@dataclass(frozen=True, slots=True)
class Stamp:
    """Where an event lives: session, wearable, channel name, stream clock and unit."""

    session_id: str
    wearable: str
    channel: str
    t0_s: float
    fs_hz: float
    unit: str = "uV"

    def time(self, index: int) -> float:
        """Seconds since the recording's first sample of an absolute sample index."""
        return self.t0_s + index / self.fs_hz

    def event_id(self, kind: str, index: int) -> str:
        """Deterministic id from session, channel, type and onset sample index."""
        return f"{self.session_id}:{self.channel}:{kind}:{index}"

    def event(
        self,
        kind: EventType,
        onset: int,
        end: int | None,
        decided: int,
        extras: dict[str, JsonValue],
    ) -> Event:
        """Build one event line."""
        return Event(
            event_id=self.event_id(str(kind), onset),
            type=kind,
            channel=self.channel,
            start_s=self.time(onset),
            end_s=None if end is None else self.time(end),
            detected_at_s=self.time(decided),
            wearable=self.wearable,
            extras=extras,
        )


def twitch_visibility(
    cfg: DetectionConfig,
    *,
    unit: str,
    peak_to_peak: float,
    acc: tuple[bool, float] | None,
) -> tuple[EventType, str, float]:
    """(class, visibility evidence, confidence of the visibility call).

    Args:
        cfg: detection config.
        unit: EMG unit (``uV`` or ``counts``).
        peak_to_peak: twitch amplitude in ``unit``.
        acc: (window complete, max MMG ratio) when a usable accelerometer covered the window.
    """
    vis = cfg.visibility
    if acc is not None and acc[0]:
        ratio = acc[1]
        visible = ratio >= vis.acc_factor
        margin = abs(math.log(max(ratio, 1e-9) / vis.acc_factor))
        kind = EventType.FASCICULATION if visible else EventType.FIBRILLATION
        return kind, "accelerometer", round(min(1.0, 0.5 + margin), 3)
    proxy = vis.amplitude_proxy_uv if unit == "uV" else vis.amplitude_proxy_counts
    if proxy <= 0:
        # a proxy of 0 means "never visible by amplitude": still the amplitude rule decided
        return EventType.FIBRILLATION, "amplitude", 0.5
    visible = peak_to_peak >= proxy
    margin = abs(math.log(max(peak_to_peak, 1e-9) / proxy))
    kind = EventType.FASCICULATION if visible else EventType.FIBRILLATION
    return kind, "amplitude", round(min(0.9, 0.4 + 0.5 * margin), 3)


def twitch_confidence(peak_ratio: float, on_factor: float) -> float:
    """Confidence that a twitch is real, from how far its energy rose above the threshold."""
    return round(min(1.0, max(0.0, 1.0 - math.exp(-(peak_ratio / on_factor - 1.0) * 2.0))), 3)


def spasm_rule(
    cfg: DetectionConfig,
    *,
    envelope_cv: float,
    rms_factor: float,
    movement_mg: float | None,
    coactive_channels: int = 0,
) -> tuple[bool, float, list[str]]:
    """(is a spasm, confidence, reasons it is not) for a burst that lasted ``confirm_ms``."""
    sp = cfg.spasm
    reasons = []
    if movement_mg is not None and movement_mg > sp.max_movement_mg:
        reasons.append("movement")
    if coactive_channels > 0:
        reasons.append("coactivation")
    if envelope_cv < sp.min_envelope_cv:
        reasons.append("regular_envelope")
    if rms_factor < sp.min_rms_factor:
        reasons.append("weak")
    confidence = 0.9 if movement_mg is not None else 0.6
    return not reasons, confidence, reasons
