"""Durable outbox: survives reopen, bounded with a priority policy, expiry, 0600."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from processor.sinks.outbox import Outbox, OutboxRow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def row(i: int, priority: int = 0, *, created: float = 1000.0, ttl: float = 600.0) -> OutboxRow:
    return OutboxRow(
        f"k{i}",
        f"e{i}",
        "tw_a",
        "twitchwatch/tw_a/event",
        f'{{"i":{i}}}',
        priority,
        created,
        created + ttl,
    )


def test_rows_survive_reopen_in_order_and_only_ack_removes(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "outbox.sqlite3"
    box = Outbox(path, max_rows=100, clock=Clock())
    for i in range(5):
        assert box.put(row(i))
    assert not box.put(row(2)), "same key twice is stored once"
    box.close()  # as if the process died here
    box = Outbox(path, max_rows=100, clock=Clock())
    assert len(box) == 5
    assert [r.key for r in box.pending(10)] == ["k0", "k1", "k2", "k3", "k4"]
    assert [r.key for r in box.pending(2, exclude={"k0"})] == ["k1", "k2"]
    assert box.remove(["k1", "k3", "nope"]) == 2
    assert [r.key for r in box.pending(10)] == ["k0", "k2", "k4"]
    assert box.counters()["acked"] == 2
    assert box.wearables() == ["tw_a"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "health data: owner-only"
    box.close()


def test_expired_rows_are_dropped_and_counted_across_restarts(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "o.sqlite3"
    box = Outbox(path, max_rows=100, clock=clock)
    box.put(row(0, ttl=10))
    box.put(row(1, ttl=1000))
    clock.now += 11
    assert [r.key for r in box.pending(10)] == ["k1"], "expired rows are never handed out"
    assert box.expire() == 1
    box.close()
    box = Outbox(path, max_rows=100, clock=clock)
    assert box.counters()["expired"] == 1
    assert len(box) == 1
    box.close()


def test_bound_drops_oldest_twitch_then_rate_never_spasm_for_less(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", max_rows=4, clock=Clock())
    box.put(row(0, priority=2))  # twitch
    box.put(row(1, priority=0))  # spasm
    box.put(row(2, priority=1))  # rate
    box.put(row(3, priority=2))  # twitch
    assert box.put(row(4, priority=0))  # full: oldest twitch (k0) goes
    assert [r.key for r in box.pending(10)] == ["k1", "k2", "k3", "k4"]
    assert box.put(row(5, priority=0))  # then the other twitch (k3)
    assert box.put(row(6, priority=1))  # then the rate row (k2), rate for rate
    assert [r.key for r in box.pending(10)] == ["k1", "k4", "k5", "k6"]
    assert not box.put(row(7, priority=2)), "a twitch never pushes out a rate/spasm alert"
    assert box.put(row(8, priority=0))  # a spasm pushes out the rate alert
    assert box.put(row(9, priority=0))  # only spasms left: the oldest spasm goes
    assert [r.key for r in box.pending(10)] == ["k4", "k5", "k8", "k9"]
    assert len(box) == 4
    assert box.counters()["dropped_full"] == 6
    box.close()


def test_concurrent_puts_from_threads(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", max_rows=10_000, clock=Clock())

    def worker(base: int) -> None:
        for i in range(50):
            box.put(row(base + i))

    threads = [threading.Thread(target=worker, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(box) == 200
    assert len(box.pending(1000)) == 200
    box.close()
