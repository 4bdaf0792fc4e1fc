"""Durable alert outbox (SQLite): an alert is on disk before it is handed to the MQTT client.

A row is deleted only when the broker acknowledged it (PUBACK), when it expired (older than its
TTL: a late cramp alert is worse than none), or when the outbox is full. Bound policy: at
``max_rows``, the least important oldest row is dropped first (twitch, then rate, then spasm);
a new row less important than everything stored is itself dropped. Each drop is counted, and
the counters survive restarts. The file holds health-derived data: it is created mode 0600.

The methods are synchronous and thread-safe (one lock); the MQTT sink calls them through
``asyncio.to_thread`` so fsync never stalls the event loop.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from processor.errors import SinkError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    event_id TEXT NOT NULL,
    wearable TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    priority INTEGER NOT NULL,
    created_s REAL NOT NULL,
    expires_s REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_expiry ON outbox (expires_s);
CREATE INDEX IF NOT EXISTS outbox_victim ON outbox (priority DESC, seq);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
COUNTERS = ("expired", "dropped_full", "failed", "acked")


def default_outbox_path() -> Path:
    """``<user data dir>/twitchwatch/mqtt-outbox.sqlite3``."""
    return Path(platformdirs.user_data_dir("twitchwatch")) / "mqtt-outbox.sqlite3"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One alert waiting for its PUBACK.

    Attributes:
        key: unique message key (``<event_id>:on`` / ``<event_id>:end``).
        event_id: the event's id (what consumers deduplicate on, with ``end_s``).
        wearable: opaque wearable id.
        topic: MQTT topic.
        payload: JSON text.
        priority: 0 spasm, 1 rate, 2 twitch (higher is dropped first when full).
        created_s: wall-clock time the alert was written (seconds since the epoch).
        expires_s: wall-clock time after which it is dropped unsent.
    """

    key: str
    event_id: str
    wearable: str
    topic: str
    payload: str
    priority: int
    created_s: float
    expires_s: float


class Outbox:
    """SQLite-backed queue of unacknowledged alerts."""

    def __init__(
        self, path: Path, *, max_rows: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self._max_rows = max_rows
        self._clock = clock
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        except (OSError, sqlite3.Error) as exc:
            raise SinkError(f"{path}: cannot open the MQTT outbox ({exc})") from exc

    def _bump(self, name: str, by: int = 1) -> None:
        if by:
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (name, by),
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                self._count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
                raise
            self._db.execute("COMMIT")

    def put(self, row: OutboxRow) -> bool:
        """Store an alert durably (fsync); returns False if it was dropped or already stored."""
        with self._transaction():
            return self._put_locked(row)

    def _put_locked(self, row: OutboxRow) -> bool:
        if self._db.execute("SELECT 1 FROM outbox WHERE key = ?", (row.key,)).fetchone():
            return False
        if self._count >= self._max_rows:
            victim = self._db.execute(
                "SELECT seq, priority FROM outbox ORDER BY priority DESC, seq LIMIT 1"
            ).fetchone()
            self._bump("dropped_full")
            if victim is None or int(victim[1]) < row.priority:
                return False
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (victim[0],))
            self._count -= 1
        self._db.execute(
            "INSERT INTO outbox (key, event_id, wearable, topic, payload, priority, created_s,"
            " expires_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.key,
                row.event_id,
                row.wearable,
                row.topic,
                row.payload,
                row.priority,
                row.created_s,
                row.expires_s,
            ),
        )
        self._count += 1
        return True

    def pending(self, limit: int, exclude: Collection[str] = ()) -> list[OutboxRow]:
        """Oldest unexpired rows not in ``exclude`` (those already handed to the client)."""
        if limit <= 0:
            return []
        with self._lock:
            cur = self._db.execute(
                "SELECT key, event_id, wearable, topic, payload, priority, created_s, expires_s"
                " FROM outbox WHERE expires_s > ? ORDER BY seq LIMIT ?",
                (self._clock(), limit + len(exclude)),
            )
            rows = [OutboxRow(*r) for r in cur if r[0] not in exclude]
        return rows[:limit]

    def remove(self, keys: Iterable[str], *, counter: str = "acked") -> int:
        """Delete rows (acknowledged, or failed for good); returns how many existed."""
        keys = list(keys)
        if not keys:
            return 0
        with self._transaction():
            cur = self._db.executemany("DELETE FROM outbox WHERE key = ?", [(k,) for k in keys])
            removed = max(cur.rowcount, 0)
            self._bump(counter, removed)
            self._count -= removed
        return removed

    def expire(self) -> int:
        """Drop rows past their expiry; returns how many."""
        with self._transaction():
            cur = self._db.execute("DELETE FROM outbox WHERE expires_s <= ?", (self._clock(),))
            dropped = max(cur.rowcount, 0)
            self._bump("expired", dropped)
            self._count -= dropped
        return dropped

    def wearables(self) -> list[str]:
        """Wearables with rows waiting (announced to HA before their alerts are replayed)."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT DISTINCT wearable FROM outbox")]

    def counters(self) -> dict[str, int]:
        """Persistent counters: expired, dropped_full, failed, acked."""
        with self._lock:
            stored = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
        return {name: int(stored.get(name, 0)) for name in COUNTERS}

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        """Close the database (idempotent)."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()
