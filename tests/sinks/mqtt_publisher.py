"""A stand-in "processor" for broker tests: drives MqttSink from its own process so it can be
SIGKILLed. Prints ``ready``, then ``sent <event_id>`` per event, then ``drained`` / ``done``.

    python -m tests.sinks.mqtt_publisher --url mqtt://127.0.0.1:PORT --outbox FILE \
        --first 0 --count 50 [--rate-hz 100] [--hold] [--drain-s 10]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from processor.config.mqtt import MqttConfig
from processor.model import Event, EventType
from processor.sinks.mqtt import MqttSink


def spasm(i: int, wearable: str = "tw_test") -> Event:
    """Spasm confirmations: alerts that are never coalesced or capped."""
    return Event(
        event_id=f"ev{i:05d}",
        type=EventType.SPASM,
        channel="emg_calf",
        start_s=float(i),
        end_s=None,
        detected_at_s=float(i) + 3.0,
        wearable=wearable,
        extras={"alert": True, "confidence": 0.9, "seq": i},
    )


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(args: argparse.Namespace) -> None:
    cfg = MqttConfig(
        url=args.url,
        instance=args.instance,
        keepalive_s=args.keepalive_s,
        discovery_settle_s=0.0,
        flush_timeout_s=args.drain_s,
        ha_birth_delay_s=0.0,
        ha_birth_jitter_s=0.0,
    )
    async with MqttSink(cfg, outbox_path=Path(args.outbox)) as sink:
        _say("ready")
        for i in range(args.first, args.first + args.count):
            await sink.send(spasm(i))
            _say(f"sent ev{i:05d}")
            if args.rate_hz:
                await asyncio.sleep(1.0 / args.rate_hz)
        if args.hold:
            await asyncio.Event().wait()
        drained = await sink.drained(args.drain_s)
        _say("drained" if drained else "not drained")
    _say("done")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--outbox", required=True)
    parser.add_argument("--instance", default="proc")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--rate-hz", type=float, default=0.0)
    parser.add_argument("--keepalive-s", type=int, default=5)
    parser.add_argument("--drain-s", type=float, default=10.0)
    parser.add_argument("--hold", action="store_true")
    asyncio.run(main(parser.parse_args()))
