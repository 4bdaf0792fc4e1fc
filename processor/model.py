"""Pure value types passed between sources, the pipeline and sinks.

Time is always derived from sample indices: sample ``i`` of a stream is at
``stream.t0_s + i / stream.fs_hz`` seconds since the recording's (or session's) first sample.
Arrays are shaped ``(n_samples, n_channels)``, float64, in physical units (EMG in µV, ACC in g).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

FloatArray: TypeAlias = NDArray[np.float64]
JsonScalar: TypeAlias = str | int | float | bool | None
JsonValue: TypeAlias = JsonScalar | list["JsonValue"] | dict[str, "JsonValue"]


class EventType(StrEnum):
    """The ``type`` of an event line (interfaces.md section 3).

    The first three are the product's classes. They are operational categories defined by the
    classifier's rules on surface EMG/ACC, not diagnoses: ``fibrillation`` means "a twitch too
    small to be seen", not the clinical needle-EMG finding.
    """

    FASCICULATION = "fasciculation"
    FIBRILLATION = "fibrillation"
    SPASM = "spasm"
    CONTRACTION = "contraction"
    RATE = "rate"
    SIGNAL_QUALITY = "signal_quality"


TWITCH_TYPES = frozenset({EventType.FASCICULATION, EventType.FIBRILLATION})


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What one stream of samples is: name, rate, channel names, unit and start time.

    Attributes:
        name: stream name as in interfaces.md (``emg``, ``acc``, ``ecg``, ``imu``).
        fs_hz: nominal sample rate in Hz (> 0).
        channels: channel names, one per column (``("0", "1")``, ``("x", "y", "z")``).
        unit: physical unit of the samples (``uV`` for EMG, ``g`` for ACC).
        t0_s: time of sample index 0, in seconds since the recording's first sample.
    """

    name: str
    fs_hz: float
    channels: tuple[str, ...]
    unit: str
    t0_s: float = 0.0

    def time_s(self, index: int) -> float:
        """Time of sample ``index``, in seconds since the recording's first sample."""
        return self.t0_s + index / self.fs_hz


@dataclass(frozen=True, slots=True)
class Chunk:
    """A block of consecutive samples of one stream.

    Attributes:
        stream: the stream these samples belong to.
        start_index: absolute index of ``data[0]`` in the stream (0 = first sample).
        data: shape (n_samples, n_channels), float64, in ``stream.unit``.
    """

    stream: StreamInfo
    start_index: int
    data: FloatArray

    @property
    def end_index(self) -> int:
        """Index one past the last sample of this chunk."""
        return self.start_index + int(self.data.shape[0])


@dataclass(frozen=True, slots=True)
class Gap:
    """Samples are missing from a stream (lost packets, a link drop, a hole in a file).

    The next chunk of the stream starts at ``start_index + n_missing``. Stages never join
    data across a gap as if it were continuous.

    Attributes:
        stream: name of the stream with the hole.
        start_index: index of the first missing sample.
        n_missing: how many samples are missing (estimated from timing where no counter exists).
        reason: short human-readable cause (``"packet counter jumped 12 -> 15"``).
    """

    stream: str
    start_index: int
    n_missing: int
    reason: str


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """Connectivity / battery of a wearable, for status sinks (MQTT state, console)."""

    wearable: str
    connected: bool | None = None
    battery_pct: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RawNotification:
    """One BLE notification exactly as it arrived: what a callback enqueues and a recording keeps.

    Attributes:
        t_ns: host arrival time, ``time.monotonic_ns()`` clock (recordings store it relative).
        wearable: opaque id of the wearable within the session.
        stream: stream name the characteristic carries (``emg``, ``acc``, ...).
        payload: the notification bytes.
        char_uuid: characteristic UUID (lowercase 128-bit), where one stream has several.
    """

    t_ns: int
    wearable: str
    stream: str
    payload: bytes
    char_uuid: str = ""


SourceItem: TypeAlias = Chunk | Gap | StatusUpdate


@dataclass(frozen=True, slots=True)
class Event:
    """One event line (interfaces.md section 3).

    Attributes:
        event_id: unique per event; both lines of one spasm share it.
        type: event class.
        channel: EMG channel name as in the recording.
        start_s: onset, seconds since the recording's first sample.
        end_s: end, same clock; None while a spasm is still going on.
        detected_at_s: recording time at which the pipeline emitted the event.
        wearable: opaque wearable id ("" for a replayed file).
        extras: evidence (peak_uv, duration_ms, rate_per_min, confidence, quality flags, ...).
    """

    event_id: str
    type: EventType
    channel: str
    start_s: float
    end_s: float | None
    detected_at_s: float
    wearable: str = ""
    extras: Mapping[str, JsonValue] = field(default_factory=dict)
