"""Settings of replay and of the local history (sections ``[replay]`` and ``[history]``)."""

from __future__ import annotations

from dataclasses import dataclass

from processor.config.schema import setting


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    """How recordings are read and fed to the pipeline."""

    chunk_ms: float = setting(
        10000.0, unit="ms", ge=1, le=600000, doc="samples handed to the pipeline per step"
    )
    max_gap_ms: float = setting(
        0.0,
        unit="ms",
        ge=0,
        doc="extra tolerance before a time jump counts as a gap (0: 1.5 periods)",
    )


@dataclass(frozen=True, slots=True)
class HistoryConfig:
    """Embedded local history of past events (SQLite)."""

    enabled: bool = setting(True, doc="store every emitted event in the local history")
    path: str = setting("", doc="SQLite file; empty: <user data dir>/twitchwatch/history.sqlite3")
