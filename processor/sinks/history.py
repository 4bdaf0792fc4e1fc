"""Local history of past events: an SQLite file in the user's data directory.

Every row keeps the event's JSON line (from the one serializer) next to indexed columns, so
``twitchwatch events`` can filter and print exactly what the event log would have said. A
spasm's second line (with ``end_s``) updates the row of its first line (same ``event_id``).
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import platformdirs

from processor.config.io import HistoryConfig
from processor.errors import InputError, SinkError
from processor.model import Event, JsonValue, StatusUpdate
from processor.sinks.serialize import event_to_dict

APP_NAME = "twitchwatch"
HISTORY_FILE = "history.sqlite3"
# Private to the user: SQLite gives the -wal and -shm files the database file's mode.
_FILE_MODE = 0o600
_DIR_MODE = 0o700
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    session TEXT NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    channel TEXT NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL,
    detected_at_s REAL NOT NULL,
    wearable TEXT NOT NULL,
    source TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (session, event_id)
);
CREATE INDEX IF NOT EXISTS events_by_time ON events (stored_at);
"""
_UPSERT = """
INSERT INTO events (session, event_id, type, channel, start_s, end_s, detected_at_s, wearable,
                    source, stored_at, updated_at, json)
VALUES (:session, :event_id, :type, :channel, :start_s, :end_s, :detected_at_s, :wearable,
        :source, :now, :now, :json)
ON CONFLICT (session, event_id) DO UPDATE SET
    end_s = excluded.end_s, detected_at_s = excluded.detected_at_s,
    updated_at = excluded.updated_at, json = excluded.json
"""


def default_history_path(cfg: HistoryConfig) -> Path:
    """``[history] path`` when set, else ``<user data dir>/twitchwatch/history.sqlite3``."""
    if cfg.path:
        return Path(cfg.path).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME)) / HISTORY_FILE


def utc_now_iso() -> str:
    """Wall-clock time in the format stored in ``stored_at`` (sortable as text)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _create_private(path: Path, *, make_dirs: bool) -> None:
    """Make sure ``path`` exists, readable and writable by this user only when new."""
    folder = path.parent
    try:
        if make_dirs:
            folder.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise InputError(f"{path}: folder {folder} does not exist (create it first)")
        if not os.access(folder, os.W_OK | os.X_OK):  # SQLite writes its -wal file there
            raise InputError(f"{path}: permission denied (cannot write in {folder})")
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            raise InputError(f"{path}: permission denied")
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, _FILE_MODE))
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot create the history file ({exc.strerror})") from None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One history row: the event's JSON object plus where and when it was stored."""

    session: str
    stored_at: str
    source: str
    event: dict[str, JsonValue]


class HistoryStore:
    """The SQLite history file (WAL mode), created private to the user (mode 0600).

    Args:
        path: the database file.
        create: create the file (and its tables) when missing; False opens it read-only.
        make_dirs: also create missing folders above it (only for the default location in
            the user data directory; a configured path's folder must exist).

    Raises:
        InputError: the file cannot be created (permission denied, no such folder) or is not
            a twitchwatch history database.
    """

    def __init__(self, path: Path, *, create: bool = True, make_dirs: bool = False) -> None:
        self.path = path
        if create:
            _create_private(path, make_dirs=make_dirs)
        try:
            uri = f"{path.resolve().as_uri()}{'' if create else '?mode=ro'}"
            self._db = sqlite3.connect(uri, uri=True)
            if create:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
                self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            else:
                self._db.execute("SELECT 1 FROM events LIMIT 1")
        except (OSError, sqlite3.Error) as exc:
            raise InputError(f"{path}: not a usable history database ({exc})") from None

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def store(self, event: Event, *, session: str, source: str) -> None:
        """Insert the event, or update the row with the same session and ``event_id``."""
        data = event_to_dict(event)
        row = {
            "session": session,
            "event_id": event.event_id,
            "type": str(event.type),
            "channel": event.channel,
            "start_s": data["start_s"],
            "end_s": data["end_s"],
            "detected_at_s": data["detected_at_s"],
            "wearable": event.wearable,
            "source": source,
            "now": utc_now_iso(),
            "json": json.dumps(data, separators=(",", ":"), allow_nan=False),
        }
        with self._db:
            self._db.execute(_UPSERT, row)

    def query(
        self,
        *,
        event_type: str | None = None,
        channel: str | None = None,
        since: str | None = None,
        last: int | None = None,
    ) -> list[StoredEvent]:
        """Events oldest first, filtered by type, channel and first-stored time (ISO, UTC)."""
        clauses, params = [], []
        for column, value in (("type", event_type), ("channel", channel)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("stored_at >= ?")
            params.append(since)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT session, stored_at, source, json FROM events {where} "  # noqa: S608 - fixed columns
        sql += "ORDER BY stored_at DESC, rowid DESC"
        if last is not None:
            sql += " LIMIT ?"
            params.append(str(last))
        try:
            rows = self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise InputError(f"{self.path}: cannot read the history ({exc})") from None
        return [StoredEvent(s, at, src, json.loads(js)) for s, at, src, js in reversed(rows)]


class HistorySink:
    """Stores every emitted event in the local history.

    Args:
        cfg: the ``[history]`` section (``path``).
        session_id: the run's session id (kept with every row).
        source: what was processed (recording path or wearable), kept with every row.
    """

    def __init__(self, cfg: HistoryConfig, *, session_id: str, source: str = "") -> None:
        self.path = default_history_path(cfg)
        self._make_dirs = not cfg.path  # only the default location's folders are created
        self._session_id = session_id
        self._source = source
        self._store: HistoryStore | None = None

    async def __aenter__(self) -> Self:
        self._store = HistoryStore(self.path, make_dirs=self._make_dirs)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    async def send(self, event: Event) -> None:
        """Store (or, for a spasm's end line, update) the event."""
        if self._store is None:
            raise SinkError(f"{self.path}: history is not open")
        try:
            self._store.store(event, session=self._session_id, source=self._source)
        except sqlite3.Error as exc:
            raise SinkError(f"{self.path}: cannot store event ({exc})") from None

    async def status(self, update: StatusUpdate) -> None:
        """The history keeps events only."""
