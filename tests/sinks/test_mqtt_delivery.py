"""Undelivered alerts are reported (exit 1) and kept; the outbox waits for its own broker."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sqlite3
from pathlib import Path

import pytest

from processor.cli import main
from processor.errors import SinkError
from processor.sinks.mqtt_bridge import AlertBridge
from processor.sinks.outbox import Outbox, OutboxRow
from tests.broker import free_port
from tests.sinks.test_mqtt_bridge import CFG, FakeLink, spasm, until

ROOT = Path(__file__).resolve().parents[2]
CFG_B = dataclasses.replace(CFG, url="mqtt://127.0.0.2:1883")


def _row(i: int) -> OutboxRow:
    return OutboxRow(f"k{i}", f"e{i}", "tw_a", "twitchwatch/tw_a/event", "{}", 0, 1000.0, 1600.0)


def test_outbox_rows_belong_to_their_broker(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    clock = lambda: 1000.0  # noqa: E731
    a = Outbox(path, max_rows=10, broker="mqtt://a:1883/home", clock=clock)
    assert a.put(_row(1))
    assert a.put(_row(2))
    a.close()
    b = Outbox(path, max_rows=10, broker="mqtt://b:1883/home", clock=clock)
    assert len(b) == 0
    assert b.pending(10) == []
    assert b.wearables() == []
    assert b.put(_row(3))
    assert [(x.broker, x.rows) for x in b.elsewhere()] == [("mqtt://a:1883/home", 2)]
    assert b.remove(["k1", "k2"]) == 0, "another broker's rows are not ours to ack"
    b.close()
    a = Outbox(path, max_rows=10, broker="mqtt://a:1883/home", clock=clock)
    assert [r.key for r in a.pending(10)] == ["k1", "k2"]
    assert a.discard("mqtt://b:1883/home") == 1
    assert a.counters()["discarded"] == 1
    assert len(a) == 2
    a.close()


def test_rows_from_before_brokers_were_recorded_are_adopted(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE,"
        " event_id TEXT NOT NULL, wearable TEXT NOT NULL, topic TEXT NOT NULL,"
        " payload TEXT NOT NULL, priority INTEGER NOT NULL, created_s REAL NOT NULL,"
        " expires_s REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0)"
    )
    db.execute(
        "INSERT INTO outbox (key, event_id, wearable, topic, payload, priority, created_s,"
        " expires_s) VALUES ('k1', 'e1', 'tw', 't', '{}', 0, 1000, 1600)"
    )
    db.commit()
    db.close()
    box = Outbox(path, max_rows=10, broker="mqtt://a:1883/home", clock=lambda: 1000.0)
    assert [r.key for r in box.pending(10)] == ["k1"]
    box.close()


async def test_alerts_for_one_broker_wait_for_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "o.db"
    first = FakeLink()
    a = AlertBridge(CFG, first, outbox_path=path, fail_on_undelivered=False)
    async with a:
        for i in range(2):
            await a.send(spasm(i))
    assert first.events() == []
    second = FakeLink()
    async with AlertBridge(CFG_B, second, outbox_path=path) as b:
        second.connect()
        await b.send(spasm(9))
        await until(lambda: len(second.events()) == 1)
        await asyncio.sleep(0.05)
        assert [json.loads(s.payload)["event_id"] for s in second.events()] == ["s9"]
        second.ack(second.events()[0].mid)
        await until(lambda: b.stats()["pending"] == 0)
    notice = [r.getMessage() for r in caplog.records if "another broker" in r.getMessage()]
    assert len(notice) == 1
    assert f"2 alert(s) in {path} wait for another broker ({CFG.outbox_broker})" in notice[0]
    third = FakeLink()
    async with AlertBridge(CFG, third, outbox_path=path) as again:
        third.connect()
        await until(lambda: len(third.events()) == 2)
        for s in third.events():
            third.ack(s.mid)
        await until(lambda: again.stats()["pending"] == 0)
    assert [json.loads(s.payload)["event_id"] for s in third.events()] == ["s0", "s1"]


async def test_connected_but_unacknowledged_alerts_fail_the_sink(tmp_path: Path) -> None:
    link = FakeLink()
    bridge = AlertBridge(CFG, link, outbox_path=tmp_path / "o.db")

    async def run() -> None:
        async with bridge:
            link.connect()
            await bridge.send(spasm(1))
            await until(lambda: len(link.events()) == 1)  # never acked

    with pytest.raises(SinkError, match=r"1 alert\(s\) not delivered .*not acknowledged") as err:
        await run()
    assert "\n" not in str(err.value)
    assert str(tmp_path / "o.db") in str(err.value)
    report = bridge.delivery_report()
    assert report is not None
    assert (report.undelivered, report.reached, report.failed) == (1, True, True)
    assert link.stopped
    box = Outbox(tmp_path / "o.db", max_rows=10)
    assert len(box) == 1
    box.close()


async def test_an_error_already_raised_is_not_replaced(tmp_path: Path) -> None:
    link = FakeLink()
    bridge = AlertBridge(CFG, link, outbox_path=tmp_path / "o.db")

    async def run() -> None:
        async with bridge:
            await bridge.send(spasm(1))
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        await run()
    report = bridge.delivery_report()
    assert report is not None
    assert report.undelivered == 1


async def test_expired_alerts_are_dropped_at_exit_not_reported_as_kept(tmp_path: Path) -> None:
    link = FakeLink()
    cfg = dataclasses.replace(CFG, alert_ttl_s=0.05)
    bridge = AlertBridge(cfg, link, outbox_path=tmp_path / "o.db")
    async with bridge:
        await bridge.send(spasm(1))
        await asyncio.sleep(0.1)
    report = bridge.delivery_report()
    assert report is not None
    assert not report.failed
    assert bridge.stats()["outbox_expired"] == 1


def test_replay_to_an_unreachable_broker_exits_1_and_keeps_the_alerts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    recording = ROOT / "recordings" / "twitches_no_acc.csv"
    if not recording.exists():
        pytest.skip("bundled recording not present")
    caplog.set_level(logging.WARNING)
    outbox = tmp_path / "o.db"
    config = tmp_path / "c.toml"
    config.write_text(
        f'[mqtt]\ninstance = "e2e"\noutbox_path = "{outbox}"\nconnect_timeout_s = 0.5\n'
        "flush_timeout_s = 0.5\n",
        encoding="utf-8",
    )
    url = f"mqtt://127.0.0.1:{free_port()}"
    args = ["replay", str(recording), "--mqtt", url, "--config", str(config), "--no-history"]
    assert main([*args, "--quiet"]) == 1
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if "not delivered" in x]
    assert len(lines) == 1, err
    assert f"not delivered to {url}/e2e (the broker was never reachable)" in lines[0]
    assert str(outbox) in lines[0]
    assert "the next run sends them first (those younger than alert_ttl_s = 600 s)" in lines[0]
    box = Outbox(outbox, max_rows=100)
    waiting = len(box)
    box.close()
    assert waiting > 0
    assert f"{waiting} alert(s) not delivered" in lines[0]

    assert main(["mqtt", "outbox", "--config", str(config), "--mqtt", url]) == 0
    out = capsys.readouterr().out
    assert f"{waiting} for {url}/e2e" in out
    assert "(this config's broker)" in out
    assert main(["mqtt", "outbox", "--config", str(config), "--drop", "mqtt://nope:1/x"]) == 2
    assert "no alerts wait for that broker" in capsys.readouterr().err
    assert main(["mqtt", "outbox", "--config", str(config), "--drop", f"{url}/e2e"]) == 0
    assert f"dropped   {waiting} alert(s)" in capsys.readouterr().out
    box = Outbox(outbox, max_rows=100)
    assert len(box) == 0
    box.close()
