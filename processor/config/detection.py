"""Detection pipeline settings (``[detection]``): one nested table per stage, units in names.

Thresholds on EMG are *relative to the adaptive noise floor* so they work for µV and for raw
``counts`` alike; the few absolute amplitudes have one value per unit (``*_uv`` / ``*_counts``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from processor.config.schema import setting

MainsChoice = Literal["auto", "50", "60", "off"]


@dataclass(frozen=True, slots=True)
class ConditioningConfig:
    """Band-pass and mains notch applied to every EMG channel (causal SOS filters)."""

    low_hz: float = setting(20.0, unit="Hz", gt=0, le=200, doc="band-pass low edge")
    high_hz: float = setting(450.0, unit="Hz", gt=0, doc="band-pass high edge (capped)")
    high_max_fraction_of_fs: float = setting(
        0.45, gt=0, lt=0.5, doc="high edge is capped at this fraction of the sample rate"
    )
    order: int = setting(2, ge=1, le=8, doc="Butterworth order of each band edge")
    # a Literal keeps the loader's "one of ..." message; the value itself is an immutable str
    notch: MainsChoice = setting(  # noqa: RUF009
        "auto", doc="mains notch: auto (from the signal), 50, 60 or off"
    )
    notch_q: float = setting(30.0, gt=1, le=200, doc="notch quality factor")
    notch_max_hz: float = setting(
        450.0,
        unit="Hz",
        gt=0,
        doc="highest mains harmonic notched (auto: only the harmonics found in the signal)",
    )
    mains_detect_ms: float = setting(
        2000.0, unit="ms", ge=200, le=60000, doc="signal used to choose 50 or 60 Hz (auto)"
    )
    mains_min_ratio: float = setting(
        5.0,
        gt=1,
        doc="mains power over neighbouring bins needed to enable a notch or a harmonic's (auto)",
    )


@dataclass(frozen=True, slots=True)
class QualityConfig:
    """Signal-quality gate: samples flagged here never produce twitches or noise updates."""

    flat_rms_uv: float = setting(0.2, unit="uV", ge=0, doc="below this RMS a uV channel is flat")
    flat_rms_counts: float = setting(
        0.05, ge=0, doc="below this RMS a counts channel is flat (counts)"
    )
    flat_ms: float = setting(200.0, unit="ms", gt=0, doc="how long before a channel is flat")
    saturation_uv: float = setting(
        0.0, unit="uV", ge=0, doc="|raw| at or above this is saturated (0: off)"
    )
    saturation_counts: float = setting(
        127.0, ge=0, doc="|raw| at or above this is saturated for counts (0: off)"
    )
    step_uv: float = setting(
        5000.0, unit="uV", gt=0, doc="raw jump between two samples taken as a pop/step"
    )
    step_counts: float = setting(
        180.0, gt=0, doc="raw jump taken as a pop/step (counts; int8 spans 255)"
    )
    motion_uv: float = setting(
        20.0,
        unit="uV",
        ge=0,
        doc="a sudden 1-10 Hz excursion of a uV channel above this and above half its in-band "
        "RMS is electrode or cable motion (0: off)",
    )
    motion_counts: float = setting(
        0.0,
        ge=0,
        doc="the same for counts (0: off; the Myo's int8 EMG swings below 10 Hz in gestures)",
    )
    blank_ms: float = setting(
        300.0, unit="ms", ge=0, le=10000, doc="detection stays off this long after a flag"
    )


@dataclass(frozen=True, slots=True)
class EnvelopeConfig:
    """Feature envelopes computed from the conditioned signal."""

    fast_ms: float = setting(5.0, unit="ms", gt=0, le=50, doc="twitch energy window")
    slow_ms: float = setting(100.0, unit="ms", gt=0, le=2000, doc="contraction duty window")


@dataclass(frozen=True, slots=True)
class NoiseConfig:
    """Adaptive noise floor: trailing median of the twitch envelope, frozen during activity."""

    history_ms: float = setting(2000.0, unit="ms", ge=200, le=60000, doc="median window")
    refresh_ms: float = setting(100.0, unit="ms", ge=10, le=10000, doc="floor refresh period")
    decimate_ms: float = setting(10.0, unit="ms", ge=1, le=1000, doc="envelope sampling step")
    warmup_ms: float = setting(
        500.0, unit="ms", ge=0, le=60000, doc="history needed before detection starts"
    )


@dataclass(frozen=True, slots=True)
class TwitchConfig:
    """Short involuntary potentials (fasciculation-like), detected on the energy envelope."""

    on_factor: float = setting(12.0, gt=1, doc="onset when energy exceeds this x noise floor")
    off_factor: float = setting(4.0, gt=0, doc="end when energy falls below this x noise floor")
    low_rate_hz: float = setting(
        500.0,
        unit="Hz",
        gt=0,
        doc="streams slower than this (consumer bands) use low_rate_on_factor",
    )
    low_rate_on_factor: float = setting(
        20.0, gt=1, doc="onset factor below low_rate_hz (coarse, heavy-tailed consumer noise)"
    )
    low_rate_min_peak_factor: float = setting(
        11.0, ge=0, doc="below low_rate_hz a twitch needs p-p >= this x noise RMS"
    )
    low_rate_strict_on_factor: float = setting(
        50.0, gt=1, doc="below low_rate_hz, a twitch under this x floor must be compact"
    )
    low_rate_strict_peak_factor: float = setting(
        14.0, ge=0, doc="below low_rate_hz, a twitch under this p-p x noise RMS must be compact"
    )
    low_rate_compact_ms: float = setting(
        45.0,
        unit="ms",
        gt=0,
        doc="longest small twitch below low_rate_hz (quantisation steps ring for 50-60 ms)",
    )
    onset_factor: float = setting(
        2.0, gt=0, doc="onset is walked back to where energy was below this x floor"
    )
    max_active_ms: float = setting(40.0, unit="ms", gt=0, le=500, doc="longer is not a twitch")
    merge_ms: float = setting(
        20.0, unit="ms", ge=0, le=25, doc="re-crossings closer than this are one twitch"
    )
    min_peak_uv: float = setting(15.0, unit="uV", ge=0, doc="smallest peak-to-peak twitch (uV)")
    min_peak_counts: float = setting(
        4.0, ge=0, doc="smallest peak-to-peak twitch (counts; Myo int8 rest is a few counts RMS)"
    )
    near_contraction_before_ms: float = setting(
        500.0, unit="ms", ge=0, doc="twitches this soon after a contraction are suppressed"
    )
    near_contraction_after_ms: float = setting(
        400.0, unit="ms", ge=0, doc="twitches this soon before a contraction are suppressed"
    )
    background_ms: float = setting(
        300.0,
        unit="ms",
        ge=0,
        le=1000,
        doc="background window before a twitch onset, streams >= low_rate_hz (0: off)",
    )
    max_background_factor: float = setting(
        1.5,
        gt=0,
        doc="a twitch whose background (lower-quartile energy) exceeds this x floor is voluntary",
    )
    train_max_ms: float = setting(
        1000.0,
        unit="ms",
        ge=0,
        doc="below low_rate_hz, a burst this short made only of discrete twitches is a train",
    )


@dataclass(frozen=True, slots=True)
class ContractionConfig:
    """Sustained activity (voluntary contraction or spasm): duty cycle of the energy envelope."""

    active_factor: float = setting(15.0, gt=0, doc="a sample is active above this x noise floor")
    on_duty: float = setting(0.75, gt=0, lt=1, doc="contraction starts above this active share")
    off_duty: float = setting(0.3, gt=0, lt=1, doc="contraction may end below this share")
    off_hold_ms: float = setting(150.0, unit="ms", ge=0, doc="below off_duty this long to end")
    min_duration_ms: float = setting(
        200.0, unit="ms", ge=0, doc="shorter bursts are not reported as contractions"
    )


@dataclass(frozen=True, slots=True)
class SpasmConfig:
    """A sustained involuntary contraction (cramp), confirmed after ``confirm_ms``."""

    confirm_ms: float = setting(3000.0, unit="ms", ge=500, le=60000, doc="spasm confirmed after")
    max_movement_mg: float = setting(
        50.0, unit="mg", gt=0, doc="limb movement above this means voluntary"
    )
    movement_before_ms: float = setting(
        500.0, unit="ms", ge=0, doc="movement is also checked this long before the onset"
    )
    min_envelope_cv: float = setting(
        0.0, ge=0, doc="envelope irregularity needed (CV of the 10 Hz envelope)"
    )
    min_rms_factor: float = setting(5.0, ge=0, doc="RMS must exceed this x the rest RMS")
    coactivation_factor: float = setting(
        3.0,
        ge=0,
        doc="another channel this active (median energy x its floor) means voluntary (0: off)",
    )
    coactivation_ms: float = setting(
        1000.0, unit="ms", gt=0, le=60000, doc="co-activation is looked for this long from onset"
    )
    coactivation_max_corr: float = setting(
        0.8,
        gt=0,
        le=1,
        doc="a channel whose energy follows the burst's this closely (Pearson r) is crosstalk, "
        "not co-activation (1: off)",
    )


@dataclass(frozen=True, slots=True)
class VisibilityConfig:
    """Visible (fasciculation) vs too small to see (fibrillation)."""

    acc_min_hz: float = setting(
        40.0,
        unit="Hz",
        gt=0,
        doc="accelerometer rate needed for twitch evidence (a 10-40 Hz transient; Myo IMU 50 Hz)",
    )
    movement_min_acc_hz: float = setting(
        5.0, unit="Hz", gt=0, doc="accelerometer rate needed for movement evidence"
    )
    mmg_low_hz: float = setting(5.0, unit="Hz", gt=0, doc="mechanical transient band low edge")
    mmg_high_hz: float = setting(100.0, unit="Hz", gt=0, doc="band high edge (capped)")
    window_start_ms: float = setting(5.0, unit="ms", ge=0, doc="transient searched from onset+")
    window_end_ms: float = setting(
        80.0, unit="ms", gt=0, le=500, doc="... to onset+ (covers the band-pass delay at 50 Hz)"
    )
    acc_factor: float = setting(4.0, gt=0, doc="transient when above this x accelerometer floor")
    amplitude_proxy_uv: float = setting(
        100.0, unit="uV", ge=0, doc="without accelerometer: visible at this p-p (0: never)"
    )
    amplitude_proxy_counts: float = setting(
        25.0, ge=0, doc="without accelerometer, counts: visible at this p-p (0: never; Myo ~4 uV)"
    )


@dataclass(frozen=True, slots=True)
class RateConfig:
    """Twitch rate per channel and the rule that makes it alert-worthy."""

    window_s: float = setting(120.0, unit="s", ge=10, le=3600, doc="trailing rate window")
    alert_per_min: float = setting(10.0, unit="/min", gt=0, doc="rate alert at or above")
    clear_per_min: float = setting(7.0, unit="/min", ge=0, doc="rate alert clears below")
    debounce_s: float = setting(
        600.0, unit="s", ge=0, doc="no new rate alert sooner than this after the last"
    )


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    """Detection pipeline (see docs/detection.md)."""

    conditioning: ConditioningConfig = field(default_factory=ConditioningConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    envelope: EnvelopeConfig = field(default_factory=EnvelopeConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    twitch: TwitchConfig = field(default_factory=TwitchConfig)
    contraction: ContractionConfig = field(default_factory=ContractionConfig)
    spasm: SpasmConfig = field(default_factory=SpasmConfig)
    visibility: VisibilityConfig = field(default_factory=VisibilityConfig)
    rate: RateConfig = field(default_factory=RateConfig)

    def __post_init__(self) -> None:
        if self.twitch.off_factor >= self.twitch.on_factor:
            raise ValueError("twitch.off_factor must be below twitch.on_factor")
        if self.contraction.off_duty >= self.contraction.on_duty:
            raise ValueError("contraction.off_duty must be below contraction.on_duty")
        if self.rate.clear_per_min > self.rate.alert_per_min:
            raise ValueError("rate.clear_per_min must not exceed rate.alert_per_min")
        if self.visibility.window_end_ms <= self.visibility.window_start_ms:
            raise ValueError("visibility.window_end_ms must exceed visibility.window_start_ms")
        if self.conditioning.high_hz <= self.conditioning.low_hz:
            raise ValueError("conditioning.high_hz must exceed conditioning.low_hz")
