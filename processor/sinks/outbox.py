"""Durable alert outbox (SQLite): an alert is on disk before it is handed to the MQTT client.

A row is deleted only when the broker acknowledged it (PUBACK), when it expired (older than its
TTL: a late cramp alert is worse than none), or when the outbox is full. Bound policy: at
``max_rows``, the least important oldest row is dropped first (twitch, then rate, then spasm);
a new row less important than everything stored is itself dropped. Each drop is counted, and
the counters survive restarts. The file holds health-derived data: it is created mode 0600.

Each row belongs to one broker (``MqttConfig.outbox_broker``: URL and instance). An outbox
opened for a broker sees, sends and counts only that broker's rows: alerts queued for one broker
are never delivered to another. Rows of other brokers wait (until they expire) for a run
against their own broker; :meth:`Outbox.by_broker` lists them and :meth:`Outbox.discard` drops
them (``twitchwatch mqtt outbox``).

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
    attempts INTEGER NOT NULL DEFAULT 0,
    broker TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_expiry ON outbox (expires_s);
CREATE INDEX IF NOT EXISTS outbox_victim ON outbox (priority DESC, seq);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_ROW_COLUMNS = "key, event_id, wearable, topic, payload, priority, created_s, expires_s"
COUNTERS = ("expired", "dropped_full", "failed", "acked", "discarded")


def default_outbox_path() -> Path:
    """``<user data dir>/twitchwatch/mqtt-outbox.sqlite3``."""
    return Path(platformdirs.user_data_dir("twitchwatch")) / "mqtt-outbox.sqlite3"


@dataclass(frozen=True, slots=True)
class BrokerBacklog:
    """Alerts waiting for one broker: how many, and when the oldest was written (epoch s)."""

    broker: str
    rows: int
    oldest_s: float


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """How a closed sink left its alerts (read by a run summary).

    Attributes:
        broker: the broker the alerts were for (``MqttConfig.outbox_broker``).
        undelivered: alerts of this broker still in the outbox, to be sent first next time.
        outbox_path: the outbox file.
        reached: whether the broker accepted a connection during the run.
        acked: alerts the broker acknowledged during the run.
        ttl_s: the alerts' time to live (``alert_ttl_s``): older ones are dropped, not sent.
    """

    broker: str
    undelivered: int
    outbox_path: Path
    reached: bool
    acked: int
    ttl_s: float

    @property
    def failed(self) -> bool:
        """Alerts are left undelivered: the output failed."""
        return self.undelivered > 0

    def message(self) -> str:
        """One line for the user; empty when everything was delivered."""
        if not self.undelivered:
            return ""
        why = "not acknowledged in time" if self.reached else "the broker was never reachable"
        return (
            f"mqtt: {self.undelivered} alert(s) not delivered to {self.broker} ({why}); kept in"
            f" the outbox {self.outbox_path}: the next run sends them first (those younger than"
            f" alert_ttl_s = {self.ttl_s:g} s)"
        )


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
    """SQLite-backed queue of unacknowledged alerts.

    Args:
        path: the SQLite file (created 0600 with its directory).
        max_rows: bound on this broker's rows.
        broker: the broker this outbox serves; rows of other brokers are left alone. Rows
            written before rows had a broker (empty) are adopted by the first broker to open
            the file. None: every row, whatever its broker (inspection only).
        clock: wall clock, seconds since the epoch.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int,
        broker: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.broker = broker
        self._scope = "" if broker is None else " AND broker = ?"
        self._scope_args: tuple[str, ...] = () if broker is None else (broker,)
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
            self._migrate()
            self._count = self._count_rows()
        except (OSError, sqlite3.Error) as exc:
            raise SinkError(f"{path}: cannot open the MQTT outbox ({exc})") from exc

    def _migrate(self) -> None:
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(outbox)")}
        if "broker" not in columns:  # files written before rows were tied to a broker
            self._db.execute("ALTER TABLE outbox ADD COLUMN broker TEXT NOT NULL DEFAULT ''")
        if self.broker:
            self._db.execute("UPDATE outbox SET broker = ? WHERE broker = ''", (self.broker,))

    def _count_rows(self) -> int:
        sql = f"SELECT COUNT(*) FROM outbox WHERE 1{self._scope}"  # noqa: S608 - fixed text
        return int(self._db.execute(sql, self._scope_args).fetchone()[0])

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
                self._count = self._count_rows()
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
                f"SELECT seq, priority FROM outbox WHERE 1{self._scope}"  # noqa: S608 - fixed text
                " ORDER BY priority DESC, seq LIMIT 1",
                self._scope_args,
            ).fetchone()
            self._bump("dropped_full")
            if victim is None or int(victim[1]) < row.priority:
                return False
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (victim[0],))
            self._count -= 1
        self._db.execute(
            "INSERT INTO outbox (key, event_id, wearable, topic, payload, priority, created_s,"
            " expires_s, broker) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.key,
                row.event_id,
                row.wearable,
                row.topic,
                row.payload,
                row.priority,
                row.created_s,
                row.expires_s,
                self.broker or "",
            ),
        )
        self._count += 1
        return True

    def pending(self, limit: int, exclude: Collection[str] = ()) -> list[OutboxRow]:
        """Oldest unexpired rows not in ``exclude`` (those already handed to the client)."""
        if limit <= 0:
            return []
        with self._lock:
            where = f"expires_s > ?{self._scope}"
            sql = f"SELECT {_ROW_COLUMNS} FROM outbox WHERE {where} ORDER BY seq LIMIT ?"  # noqa: S608
            cur = self._db.execute(sql, (self._clock(), *self._scope_args, limit + len(exclude)))
            rows = [OutboxRow(*r) for r in cur if r[0] not in exclude]
        return rows[:limit]

    def remove(self, keys: Iterable[str], *, counter: str = "acked") -> int:
        """Delete rows (acknowledged, or failed for good); returns how many existed."""
        keys = list(keys)
        if not keys:
            return 0
        with self._transaction():
            cur = self._db.executemany(
                f"DELETE FROM outbox WHERE key = ?{self._scope}",  # noqa: S608 - fixed text
                [(k, *self._scope_args) for k in keys],
            )
            removed = max(cur.rowcount, 0)
            self._bump(counter, removed)
            self._count -= removed
        return removed

    def expire(self) -> int:
        """Drop rows past their expiry; returns how many."""
        with self._transaction():
            cur = self._db.execute("DELETE FROM outbox WHERE expires_s <= ?", (self._clock(),))
            dropped = max(cur.rowcount, 0)  # every broker's: a stale alert is useless anywhere
            self._bump("expired", dropped)
            self._count = self._count_rows()
        return dropped

    def wearables(self) -> list[str]:
        """Wearables with rows waiting (announced to HA before their alerts are replayed)."""
        with self._lock:
            sql = f"SELECT DISTINCT wearable FROM outbox WHERE 1{self._scope}"  # noqa: S608
            return [r[0] for r in self._db.execute(sql, self._scope_args)]

    def by_broker(self) -> list[BrokerBacklog]:
        """Unexpired rows per broker in the whole file, oldest backlog first."""
        with self._lock:
            cur = self._db.execute(
                "SELECT broker, COUNT(*), MIN(created_s) FROM outbox WHERE expires_s > ?"
                " GROUP BY broker ORDER BY MIN(created_s)",
                (self._clock(),),
            )
            return [BrokerBacklog(str(b), int(n), float(t)) for b, n, t in cur]

    def elsewhere(self) -> list[BrokerBacklog]:
        """Unexpired rows waiting for brokers other than this outbox's."""
        return [b for b in self.by_broker() if b.broker != self.broker]

    def discard(self, broker: str | None) -> int:
        """Delete every row of ``broker`` (None: all rows); counted as ``discarded``."""
        with self._transaction():
            if broker is None:
                cur = self._db.execute("DELETE FROM outbox")
            else:
                cur = self._db.execute("DELETE FROM outbox WHERE broker = ?", (broker,))
            removed = max(cur.rowcount, 0)
            self._bump("discarded", removed)
            self._count = self._count_rows()
        return removed

    def counters(self) -> dict[str, int]:
        """Persistent counters of the file: expired, dropped_full, failed, acked, discarded."""
        with self._lock:
            stored = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
        return {name: int(stored.get(name, 0)) for name in COUNTERS}

    def __len__(self) -> int:
        """Rows of this outbox's broker (expired ones included until ``expire`` runs)."""
        return self._count

    def close(self) -> None:
        """Close the database (idempotent)."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()
