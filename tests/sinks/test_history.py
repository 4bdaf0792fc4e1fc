from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from processor.config.io import HistoryConfig
from processor.errors import InputError
from processor.model import Event, EventType
from processor.sinks.history import HistorySink, HistoryStore, default_history_path
from processor.sinks.serialize import event_from_dict, event_to_dict

TWITCH = Event(
    "a-emg_a-fibrillation-10",
    EventType.FIBRILLATION,
    "emg_a",
    0.01,
    0.03,
    0.05,
    extras={"peak_uv": 42.0, "quality": ["ok"]},
)
SPASM_START = Event("a-emg_b-spasm-2000", EventType.SPASM, "emg_b", 2.0, None, 5.0)
SPASM_END = Event("a-emg_b-spasm-2000", EventType.SPASM, "emg_b", 2.0, 9.5, 9.5)


async def _store(path: Path, session: str, events: list[Event]) -> None:
    async with HistorySink(
        HistoryConfig(path=str(path)), session_id=session, source="r.csv"
    ) as sink:
        for event in events:
            await sink.send(event)


async def test_round_trip_and_spasm_end_updates_its_row(tmp_path: Path) -> None:
    db = tmp_path / "h" / "history.sqlite3"
    db.parent.mkdir()  # a configured path's folder must exist
    await _store(db, "a", [TWITCH, SPASM_START, SPASM_END])
    store = HistoryStore(db, create=False)
    rows = store.query()
    store.close()
    assert [r.event["event_id"] for r in rows] == [TWITCH.event_id, SPASM_END.event_id]
    assert rows[0].event == event_to_dict(TWITCH)
    assert event_from_dict(rows[0].event) == TWITCH
    assert rows[1].event["end_s"] == 9.5
    assert {r.session for r in rows} == {"a"}
    assert rows[0].source == "r.csv"
    stored = datetime.fromisoformat(rows[0].stored_at)
    assert abs(stored - datetime.now(UTC)) < timedelta(minutes=1)


async def test_query_filters(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    await _store(db, "a", [TWITCH, SPASM_START])
    await _store(db, "b", [TWITCH, SPASM_START, SPASM_END])
    store = HistoryStore(db)
    assert len(store.query()) == 4  # same event ids in two sessions are two rows
    assert {r.session for r in store.query(event_type="spasm")} == {"a", "b"}
    assert [r.event["channel"] for r in store.query(channel="emg_a")] == ["emg_a", "emg_a"]
    last = store.query(last=1)
    assert len(last) == 1
    assert last[0].session == "b"
    assert last[0].event["type"] == "spasm"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="milliseconds")
    assert store.query(since=future) == []
    store.close()


def test_default_path_is_in_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_history_path(HistoryConfig()) == tmp_path / "twitchwatch" / "history.sqlite3"
    assert default_history_path(HistoryConfig(path="~/x.db")) == Path.home() / "x.db"


def test_a_file_that_is_not_a_history_is_rejected(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.sqlite3"
    bogus.write_text("hello", encoding="utf-8")
    with pytest.raises(InputError, match="not a usable history database") as info:
        HistoryStore(bogus, create=False)
    assert str(bogus) in str(info.value)


async def test_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    await _store(db, "a", [TWITCH])
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        (row,) = conn.execute("SELECT json FROM events").fetchall()
    assert json.loads(row[0])["peak_uv"] == 42.0


async def test_history_and_its_wal_files_are_private_to_the_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import stat

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    old_umask = os.umask(0o022)
    try:
        async with HistorySink(HistoryConfig(), session_id="a") as sink:
            await sink.send(TWITCH)
            db = sink.path
            files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
            modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
    finally:
        os.umask(old_umask)
    assert db == tmp_path / "data" / "twitchwatch" / "history.sqlite3"
    assert modes == dict.fromkeys(modes, 0o600)
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700


async def test_a_configured_path_in_a_missing_folder_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "history.sqlite3"
    with pytest.raises(InputError, match=r"folder .*such does not exist") as info:
        await _store(path, "a", [TWITCH])
    assert str(path) in str(info.value)
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("where", ["folder", "file"])
async def test_an_unwritable_history_says_permission_denied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    import os

    path = tmp_path / "history.sqlite3"
    if where == "folder":  # tests may run as root, where chmod does not deny anything
        monkeypatch.setattr(os, "access", lambda *_a, **_k: False)
    else:

        def denied(*_args: object, **_kwargs: object) -> int:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(os, "open", denied)
    with pytest.raises(InputError, match="permission denied") as info:
        await _store(path, "a", [TWITCH])
    assert str(info.value).startswith(str(path))
    assert "unable to open database file" not in str(info.value)
