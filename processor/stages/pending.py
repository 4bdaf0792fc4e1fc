"""Bookkeeping of EMG records waiting for accelerometer evidence, and their processing order."""

from __future__ import annotations

import math

from processor.model import Event, EventType, Gap, JsonValue, StreamInfo
from processor.stages.accel import AccFeatures
from processor.stages.classify import Stamp
from processor.stages.conditioning import QualityFlag
from processor.stages.contraction import Burst
from processor.stages.emg import BurstConfirmed, EmgRecord, TwitchFound


class Pending:
    """An EMG record waiting for accelerometer evidence."""

    __slots__ = ("at", "rate", "record", "stamp")

    def __init__(self, at: float, record: EmgRecord, stamp: Stamp, rate: float) -> None:
        self.at = at
        self.record = record
        self.stamp = stamp
        self.rate = rate


def channel_of(record: EmgRecord) -> int:
    """Channel index a record belongs to."""
    if isinstance(record, QualityFlag):
        return record.channel
    if isinstance(record, TwitchFound):
        return record.twitch.channel
    return record.burst.channel


def decided_index(record: EmgRecord) -> int:
    """Sample index at which the record's decision fired."""
    if isinstance(record, QualityFlag):
        if record.decided_index is not None:
            return record.decided_index
        return record.start_index if record.end_index is None else record.end_index
    if isinstance(record, TwitchFound):
        return record.decided_index
    if isinstance(record, BurstConfirmed):
        assert record.burst.confirm_index is not None  # noqa: S101
        return record.burst.confirm_index
    assert record.burst.decided_index is not None  # noqa: S101
    return record.burst.decided_index


def record_key(record: EmgRecord) -> tuple[int, int, int]:
    """Processing order: decision sample, channel, then quality < confirmation < others."""
    order = 0 if isinstance(record, QualityFlag) else 1 if isinstance(record, BurstConfirmed) else 2
    return (decided_index(record), channel_of(record), order)


def quality_event(flag: QualityFlag, stamp: Stamp) -> Event:
    """The ``signal_quality`` line opening (``end_s`` None) or closing a quality episode."""
    quality: list[JsonValue] = list(flag.flag.split("+"))
    extras: dict[str, JsonValue] = {"quality": quality, "alert": False}
    decided = decided_index(flag)
    return stamp.event(EventType.SIGNAL_QUALITY, flag.start_index, flag.end_index, decided, extras)


def burst_end_extras(
    burst: Burst, evidence: dict[str, JsonValue], unit: str, duration_ms: float, kind: EventType
) -> dict[str, JsonValue]:
    """Extras of the line closing a burst (``kind``: spasm or contraction).

    ``truncated`` is true (and ``ended_by`` says why) when the burst was still going on where
    the input stopped (end of stream, gap, rate change): its end is where the data ends.
    """
    extras: dict[str, JsonValue] = {
        **evidence,
        "unit": unit,
        "truncated": burst.ended_by is not None,
    }
    if burst.ended_by is not None:
        extras["ended_by"] = burst.ended_by
    extras["duration_ms"] = round(duration_ms, 3)
    extras["alert"] = kind is EventType.SPASM
    if kind is EventType.SPASM:
        extras.pop("not_spasm_because", None)
        extras["quality"] = []
    return extras


def gap_event(gap: Gap, stamp: Stamp) -> Event:
    """The ``signal_quality`` line of a gap (lost packets, link drop) in ``stamp``'s stream."""
    end = gap.start_index + gap.n_missing
    extras: dict[str, JsonValue] = {
        "quality": ["gap"],
        "reason": gap.reason,
        "n_missing": gap.n_missing,
    }
    return stamp.event(EventType.SIGNAL_QUALITY, gap.start_index, end, end, extras)


def acc_window(
    acc: AccFeatures | None, info: StreamInfo | None, start_s: float, end_s: float
) -> tuple[bool, float, float] | None:
    """Accelerometer evidence over ``[start_s, end_s]`` (None: no stream or an empty window)."""
    if acc is None or info is None:
        return None
    first = math.ceil((start_s - info.t0_s) * info.fs_hz)
    last = math.floor((end_s - info.t0_s) * info.fs_hz)
    if last < first:
        return None
    return acc.window(first, last)
