"""Bookkeeping of EMG records waiting for accelerometer evidence, and their processing order."""

from __future__ import annotations

from processor.stages.classify import Stamp
from processor.stages.conditioning import QualityFlag
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
