"""``twitchwatch mqtt test | forget | outbox``: check a broker, remove a wearable, list alerts.

``test`` checks a broker setup step by step; ``forget`` removes a wearable from Home Assistant;
``outbox`` lists (or drops) the alerts waiting in the outbox, per broker.

Exit codes: 0 every step worked, 1 a step failed (broker down, refused, no echo), 2 bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from pathlib import Path

from processor.config import load_config
from processor.config.mqtt import MqttConfig
from processor.errors import InputError
from processor.sinks.outbox import Outbox, default_outbox_path


def _mqtt_config(args: argparse.Namespace, *, need_url: bool = True) -> MqttConfig:
    cfg = load_config(args.config).mqtt
    if args.mqtt:
        try:
            cfg = dataclasses.replace(cfg, url=args.mqtt)
        except ValueError as exc:  # the [mqtt] section validates the URL
            raise InputError(f"--mqtt: {exc}") from None
    if need_url and not cfg.url:
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

    if not args.wearable.strip():
        raise InputError("mqtt forget: WEARABLE must not be empty")
    cfg = _mqtt_config(args)
    done = asyncio.run(forget_wearable(cfg, args.wearable))
    name = repr(args.wearable)
    if done.found:
        _say(f"cleared   {len(done.found)} retained topic(s) of wearable {name}:")
        for topic in done.found:
            _say(f"          {topic}")
    else:
        _say(f"cleared   nothing: no retained topic of wearable {name} on {cfg.broker}")
    if done.cleared < done.sent:
        _say(f"FAILED    the broker acknowledged {done.cleared} of {done.sent} clears")
        return 1
    return 0


def _outbox(args: argparse.Namespace) -> int:
    cfg = _mqtt_config(args, need_url=False)
    path = Path(cfg.outbox_path) if cfg.outbox_path else default_outbox_path()
    if not path.exists():
        _say(f"outbox    {path}: no alerts waiting")
        return 0
    box = Outbox(path, max_rows=cfg.outbox_max_rows)
    try:
        current = cfg.outbox_broker if cfg.url else None
        if args.drop is not None:
            target = None if args.drop == "all" else args.drop
            if target is not None and target not in {b.broker for b in box.by_broker()}:
                raise InputError(f"--drop {args.drop}: no alerts wait for that broker")
            _say(f"dropped   {box.discard(target)} alert(s) ({args.drop})")
        backlog = box.by_broker()
    finally:
        box.close()
    _say(f"outbox    {path}: {sum(b.rows for b in backlog)} alert(s) waiting")
    for b in backlog:
        age_min = max(0.0, time.time() - b.oldest_s) / 60
        mark = " (this config's broker)" if b.broker == current else ""
        _say(f"          {b.rows:6} for {b.broker or 'unknown'}, oldest {age_min:.0f} min{mark}")
    return 0


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML config file (section [mqtt])")
    p.add_argument("--mqtt", metavar="URL", help="broker: mqtt://host:port or mqtts://host:port")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``mqtt test``, ``mqtt forget`` and ``mqtt outbox`` to the ``twitchwatch`` parser."""
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
    outbox = actions.add_parser(
        "outbox",
        help="list the alerts waiting in the outbox, per broker (--drop to discard)",
        description="Alerts wait in the outbox for the broker they were queued for "
        "(<url>/<instance>); they are never sent to another broker, and expire after "
        "mqtt.alert_ttl_s. Lists them per broker; --drop BROKER (as listed, or 'all') deletes.",
    )
    outbox.add_argument("--drop", metavar="BROKER", help="delete the alerts of BROKER, or 'all'")
    _add_common(outbox)
    outbox.set_defaults(func=_outbox)
