"""``twitchwatch mqtt test``: check a broker setup step by step; ``mqtt forget``: remove a wearable.

Exit codes: 0 every step worked, 1 a step failed (broker down, refused, no echo), 2 bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys

from processor.config import load_config
from processor.config.mqtt import MqttConfig
from processor.errors import InputError


def _mqtt_config(args: argparse.Namespace) -> MqttConfig:
    cfg = load_config(args.config).mqtt
    if args.mqtt:
        cfg = dataclasses.replace(cfg, url=args.mqtt)
    if not cfg.url:
        raise InputError("no broker: pass --mqtt mqtt://host:port or set mqtt.url in --config FILE")
    return cfg


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _test(args: argparse.Namespace) -> int:
    from processor.sinks.mqtt import self_test  # noqa: PLC0415 - paho loads only when used

    cfg = _mqtt_config(args)
    ok = asyncio.run(self_test(cfg, _say))
    _say("result    all steps worked" if ok else "result    FAILED (see the lines above)")
    return 0 if ok else 1


def _forget(args: argparse.Namespace) -> int:
    from processor.sinks.mqtt import forget_wearable  # noqa: PLC0415 - paho loads only when used

    cfg = _mqtt_config(args)
    acked = asyncio.run(forget_wearable(cfg, args.wearable))
    _say(f"removed   {acked} retained message(s) of wearable {args.wearable!r}")
    return 0 if acked else 1


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML config file (section [mqtt])")
    p.add_argument("--mqtt", metavar="URL", help="broker: mqtt://host:port or mqtts://host:port")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``mqtt test`` and ``mqtt forget`` to the ``twitchwatch`` parser."""
    p = sub.add_parser("mqtt", help="check the MQTT / Home Assistant setup")
    actions = p.add_subparsers(dest="mqtt_command", metavar="ACTION", required=True)
    test = actions.add_parser(
        "test",
        help="connect, publish discovery and a test event, and report each step",
        description="Connects to the broker, subscribes, publishes the bridge's Home Assistant "
        "discovery config and a test event, and waits for the event to come back. One line per "
        "step. Exit 0: all worked; 1: a step failed; 2: bad input.",
    )
    _add_common(test)
    test.set_defaults(func=_test)
    forget = actions.add_parser(
        "forget", help="remove a wearable's entities from Home Assistant (empty retained configs)"
    )
    forget.add_argument("wearable", help="wearable id as it appears in the topics")
    _add_common(forget)
    forget.set_defaults(func=_forget)
