"""MQTT alert benchmark: latency, sustained throughput with the outbox, bounded when offline.

    python -m benchmarks.mqtt_alerts [--latency-n 500] [--throughput-n 3000] [--hour-rate-hz 10]

1. Latency: alert handed to ``MqttSink.send`` -> received by a subscriber (loopback Mosquitto,
   QoS 1, outbox on, fsync per alert), one alert every 10 ms; p50/p99/max.
2. Sustained throughput: alerts sent back to back; alerts/s until the last one is received.
3. Broker down for an emulated hour (recording clock compressed, wall clock a few seconds) of
   twitch storms, rate alerts and spasms: outbox rows, file size and RSS every 10 emulated minutes,
   with the default bound and with a small one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from processor.config.mqtt import MqttConfig
from processor.model import Event, EventType
from processor.sinks.mqtt import MqttSink
from tests.broker import Broker, free_port


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _size_kb(db: Path) -> float:
    """The outbox database plus its WAL and shared-memory files."""
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 1024


class Receiver:
    """Subscriber that timestamps each alert on arrival (paho's thread, perf_counter clock)."""

    def __init__(self, port: int) -> None:
        self.arrived: dict[str, float] = {}
        self.count = 0
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe("twitchwatch/+/event", qos=1)
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self._ready.wait(10):
            raise RuntimeError("receiver did not subscribe")

    def _on_message(self, _c: object, _u: object, msg: paho.MQTTMessage) -> None:
        now = time.perf_counter()
        event_id = json.loads(msg.payload)["event_id"]
        with self._lock:
            self.arrived.setdefault(event_id, now)
            self.count += 1

    def has(self, n: int) -> bool:
        with self._lock:
            return len(self.arrived) >= n

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def spasm(i: int, prefix: str) -> Event:
    return Event(
        f"{prefix}{i:06d}",
        EventType.SPASM,
        "emg_calf",
        float(i),
        None,
        i + 3.0,
        wearable="bench",
        extras={"alert": True, "confidence": 0.9},
    )


async def _wait(cond: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.002)
    return False


def _cfg(url: str, **kw: object) -> MqttConfig:
    return MqttConfig(url=url, instance="bench", discovery_settle_s=0.0, **kw)  # type: ignore[arg-type]


async def latency_and_throughput(broker: Broker, work: Path, n_lat: int, n_thr: int) -> None:
    rx = Receiver(broker.port)
    try:
        async with MqttSink(_cfg(broker.url), outbox_path=work / "lat.sqlite3") as sink:
            await _wait(lambda: sink.connected, 10)
            await sink.send(spasm(0, "warm"))
            await _wait(lambda: rx.has(1), 10)
            emitted: dict[str, float] = {}
            for i in range(n_lat):
                ev = spasm(i, "lat")
                emitted[ev.event_id] = time.perf_counter()
                await sink.send(ev)
                await asyncio.sleep(0.01)
            await _wait(lambda: rx.has(1 + n_lat), 30)
            lat_ms = sorted(
                1000 * (rx.arrived[k] - t) for k, t in emitted.items() if k in rx.arrived
            )
            lost = n_lat - len(lat_ms)
            q = statistics.quantiles(lat_ms, n=100)
            print(
                f"latency   n={len(lat_ms)} lost={lost}  p50={q[49]:.2f} ms  p99={q[98]:.2f} ms"
                f"  max={lat_ms[-1]:.2f} ms  (goal p99 <= 50 ms)"
            )

            start = time.perf_counter()
            for i in range(n_thr):
                await sink.send(spasm(i, "thr"))
            sent_s = time.perf_counter() - start
            await _wait(lambda: rx.has(1 + n_lat + n_thr), 120)
            done_s = time.perf_counter() - start
            got = len(rx.arrived) - 1 - n_lat
            print(
                f"sustained {got}/{n_thr} alerts delivered in {done_s:.2f} s = "
                f"{got / done_s:.0f} alerts/s end to end (send side {n_thr / sent_s:.0f}/s; "
                f"outbox fsync per alert)"
            )
            print(f"          sink stats: {sink.stats()}")
    finally:
        rx.close()


async def offline_hour(work: Path, rate_hz: float, max_rows: int) -> None:
    """Broker unreachable; an hour of recording time: storms, rate alerts, spasms."""
    url = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens there
    path = work / f"offline-{max_rows}.sqlite3"
    cfg = _cfg(url, outbox_max_rows=max_rows, flush_timeout_s=0.0)
    n_twitch = int(3600 * rate_hz)
    print(
        f"offline   1 h emulated, twitch storm {rate_hz:g}/s ({n_twitch} twitches), a rate alert"
        f" every 10 s, a spasm every 5 min; outbox_max_rows={max_rows}"
    )
    start = time.perf_counter()
    rss0 = _rss_mb()
    n_spasm_lines = 0
    # offline on purpose: the alerts left in the outbox are the measurement, not a failure
    async with MqttSink(cfg, outbox_path=path, fail_on_undelivered=False) as sink:
        for k in range(n_twitch):
            t = k / rate_hz
            await sink.send(
                Event(
                    f"tw{k}",
                    EventType.FASCICULATION,
                    "emg_calf",
                    t,
                    t + 0.03,
                    t + 0.05,
                    wearable="bench",
                    extras={"rate_per_min": rate_hz * 60},
                )
            )
            if k % int(10 * rate_hz) == 0:
                await sink.send(
                    Event(
                        f"rate{k}",
                        EventType.RATE,
                        "emg_calf",
                        t,
                        t,
                        t,
                        wearable="bench",
                        extras={"alert": True},
                    )
                )
            if k % int(300 * rate_hz) == 0:
                n_spasm_lines += 2
                for end in (None, t + 20):
                    await sink.send(
                        Event(
                            f"sp{k}",
                            EventType.SPASM,
                            "emg_calf",
                            t,
                            end,
                            t + 3,
                            wearable="bench",
                            extras={"alert": True},
                        )
                    )
            if k % int(600 * rate_hz) == int(600 * rate_hz) - 1:
                stats = sink.stats()
                size_kb = _size_kb(path)
                print(
                    f"          t={t / 60:4.0f} min  outbox rows={stats['pending']:5}  "
                    f"file={size_kb:7.0f} kB  RSS={_rss_mb():6.1f} MB  "
                    f"coalesced={stats['coalesced']}  capped={stats['capped']}  "
                    f"dropped_full={stats['outbox_dropped_full']}"
                )
        stats = sink.stats()
    with sqlite3.connect(path) as db:
        by_priority = dict(db.execute("SELECT priority, COUNT(*) FROM outbox GROUP BY priority"))
    kept = {name: by_priority.get(p, 0) for p, name in enumerate(("spasm", "rate", "twitch"))}
    print(
        f"          wall {time.perf_counter() - start:.1f} s; RSS start {rss0:.1f} MB; "
        f"final rows {stats['pending']} = {kept} (spasm lines sent: {n_spasm_lines})"
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="tw-mqtt-bench-") as tmp:
        work = Path(tmp)
        broker = Broker(work / "broker", persistence=False).start()
        try:
            await latency_and_throughput(broker, work, args.latency_n, args.throughput_n)
        finally:
            broker.kill()
        await offline_hour(work, args.hour_rate_hz, MqttConfig().outbox_max_rows)
        await offline_hour(work, args.hour_rate_hz, 200)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency-n", type=int, default=500)
    parser.add_argument("--throughput-n", type=int, default=3000)
    parser.add_argument("--hour-rate-hz", type=float, default=10.0)
    asyncio.run(main(parser.parse_args()))
