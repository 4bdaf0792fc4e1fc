"""MQTT sink on paho-mqtt 2.x: the only module that imports paho.

``PahoLink`` wraps one paho client run by ``loop_start()`` (its own network thread, which also
reconnects with backoff). Every paho callback only turns its arguments into a plain note and hops
it onto the event loop with ``loop.call_soon_threadsafe``; nothing else happens in paho's thread.
``MqttSink`` is the :class:`~processor.sinks.mqtt_bridge.AlertBridge` over that link, and
:func:`self_test` backs ``twitchwatch mqtt test``.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from processor.config.mqtt import MqttConfig
from processor.errors import ConfigError, SinkError
from processor.sinks.ha_discovery import DiscoveryOptions, bridge_messages, removal_messages
from processor.sinks.mqtt_bridge import AlertBridge
from processor.sinks.mqtt_link import (
    Acked,
    Connected,
    Disconnected,
    Note,
    Received,
    Subscribed,
)
from processor.sinks.topics import TopicTree, opaque_wearable_id

_ACCEPTED = (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN)
_CLIENT_QUEUE_EXTRA = 1000  # room for state/discovery beyond the alert window
_RETAINED_GRACE_S = 0.3


def broker_password(cfg: MqttConfig) -> str:
    """The password: ``password`` from the config, else the ``password_env`` variable."""
    return cfg.password or (os.environ.get(cfg.password_env, "") if cfg.password_env else "")


class PahoLink:
    """One paho client; callbacks become notes on ``notes`` (see ``mqtt_link``)."""

    def __init__(self, cfg: MqttConfig, *, client_id: str = "", will: bool = True) -> None:
        self._cfg = cfg
        self._addr = cfg.broker
        self._v5 = cfg.protocol == "5"
        self.notes: asyncio.Queue[Note] = asyncio.Queue()
        self.dropped_notes = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or cfg.effective_client_id,
            protocol=paho.MQTTv5 if self._v5 else paho.MQTTv311,
            clean_session=None if self._v5 else True,
        )
        client.reconnect_delay_set(cfg.reconnect_min_s, cfg.reconnect_max_s)
        client.max_inflight_messages_set(cfg.max_inflight + 20)
        client.max_queued_messages_set(cfg.max_inflight + _CLIENT_QUEUE_EXTRA)
        if self._addr.tls:
            self._set_tls(client)
        if cfg.username:
            client.username_pw_set(cfg.username, broker_password(cfg) or None)
        if will:
            topics = TopicTree(cfg.base_topic, cfg.instance, cfg.discovery_prefix)
            client.will_set(topics.bridge_status, "offline", qos=cfg.qos, retain=True)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client

    def _set_tls(self, client: paho.Client) -> None:
        cfg = self._cfg
        for key in ("tls_ca_file", "tls_cert_file", "tls_key_file"):
            path = getattr(cfg, key)
            if path and not Path(path).is_file():
                raise ConfigError(f"mqtt.{key}: file not found: {path}")
        try:
            client.tls_set(
                ca_certs=cfg.tls_ca_file or None,
                certfile=cfg.tls_cert_file or None,
                keyfile=cfg.tls_key_file or None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise ConfigError(f"mqtt TLS files cannot be used: {exc}") from None

    # paho's network thread: convert, hop, return.
    def _hop(self, note: Note) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self.notes.put_nowait, note)
        except RuntimeError:  # the loop is closing; nothing left to tell
            self.dropped_notes += 1

    def _on_connect(
        self,
        _c: paho.Client,
        _u: object,
        flags: paho.ConnectFlags,
        rc: ReasonCode,
        _p: Properties | None = None,
    ) -> None:
        self._hop(Connected(not rc.is_failure, str(rc), bool(flags.session_present)))

    def _on_connect_fail(self, _c: paho.Client, _u: object) -> None:
        self._hop(Connected(ok=False, reason="broker unreachable or TLS handshake failed"))

    def _on_disconnect(
        self,
        _c: paho.Client,
        _u: object,
        _f: paho.DisconnectFlags,
        rc: ReasonCode,
        _p: Properties | None = None,
    ) -> None:
        self._hop(Disconnected(str(rc)))

    def _on_publish(
        self, _c: paho.Client, _u: object, mid: int, rc: ReasonCode, _p: Properties | None
    ) -> None:
        self._hop(Acked(mid, int(rc.value), str(rc), bool(rc.is_failure)))

    def _on_subscribe(
        self, _c: paho.Client, _u: object, mid: int, rcs: list[ReasonCode], _p: Properties | None
    ) -> None:
        failure = any(rc.is_failure for rc in rcs)
        self._hop(Subscribed(mid, tuple(str(rc) for rc in rcs), failure))

    def _on_message(self, _c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        self._hop(Received(msg.topic, bytes(msg.payload), bool(msg.retain)))

    # event-loop side
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Connect in the background; paho retries with backoff until ``stop``."""
        self._loop = loop
        self._client.connect_async(self._addr.host, self._addr.port, self._cfg.keepalive_s)
        self._client.loop_start()

    async def connect_now(self, loop: asyncio.AbstractEventLoop) -> None:
        """Connect once, raising SinkError with the reason (used by ``mqtt test``)."""
        self._loop = loop
        try:
            await asyncio.to_thread(
                self._client.connect, self._addr.host, self._addr.port, self._cfg.keepalive_s
            )
        except (OSError, ValueError) as exc:
            raise SinkError(f"cannot reach {self._addr}: {exc}") from None
        self._client.loop_start()

    def publish(
        self, topic: str, payload: str, *, qos: int, retain: bool, expiry_s: int | None = None
    ) -> int | None:
        """Hand a message to paho; its mid, or None when paho's bounded queue is full."""
        props = None
        if self._v5 and expiry_s is not None:
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.MessageExpiryInterval = expiry_s
        info = self._client.publish(topic, payload.encode("utf-8"), qos, retain, props)
        return info.mid if info.rc in _ACCEPTED else None

    def subscribe(self, topic: str, qos: int) -> int | None:
        """Subscribe (the SUBACK arrives as a note)."""
        rc, mid = self._client.subscribe(topic, qos)
        return mid if rc == MQTTErrorCode.MQTT_ERR_SUCCESS else None

    def is_connected(self) -> bool:
        """Whether paho holds a connection."""
        return bool(self._client.is_connected())

    def stop(self) -> None:
        """Clean DISCONNECT (suppresses the will: publish ``offline`` first) and join."""
        self._client.disconnect()
        self._client.loop_stop()


class MqttSink(AlertBridge):
    """Alerts, state and Home Assistant discovery to an MQTT broker (see docs/mqtt.md).

    Args:
        cfg: the ``[mqtt]`` section; ``cfg.url`` must be set.
        outbox_path: overrides ``cfg.outbox_path`` (tests, benchmarks).
        fail_on_undelivered: raise SinkError at a clean exit that leaves alerts undelivered
            (they stay in the outbox); False only logs it.
    """

    def __init__(
        self, cfg: MqttConfig, *, outbox_path: Path | None = None, fail_on_undelivered: bool = True
    ) -> None:
        super().__init__(
            cfg, PahoLink(cfg), outbox_path=outbox_path, fail_on_undelivered=fail_on_undelivered
        )


async def _next_note(link: PahoLink, want: Callable[[Note], bool], timeout_s: float) -> Note | None:
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            note = await asyncio.wait_for(link.notes.get(), left)
        except TimeoutError:
            return None
        if want(note):
            return note
    return None


async def self_test(cfg: MqttConfig, say: Callable[[str], None]) -> bool:
    """Connect, subscribe, publish the bridge's discovery and a test event, see it come back.

    Reports one line per step through ``say``; returns whether every step worked. Uses the
    client id ``<client id>-test`` so a running processor is not kicked off the broker.
    """
    addr = cfg.broker
    timeout_s = cfg.connect_timeout_s
    user = cfg.username or "anonymous"
    password = "set" if broker_password(cfg) else "not set"
    say(f"broker    {addr} (MQTT {cfg.protocol}, TLS {'on' if addr.tls else 'off'}, user {user}, "
        f"password {password})")  # fmt: skip
    link = PahoLink(cfg, client_id=f"{cfg.effective_client_id}-test", will=False)
    topics = TopicTree(cfg.base_topic, cfg.instance, cfg.discovery_prefix)
    try:
        await link.connect_now(asyncio.get_running_loop())
    except SinkError as exc:
        say(f"connect   FAILED: {exc}{_hint(str(exc), addr.tls)}")
        return False
    try:
        return await _self_test_steps(cfg, link, topics, say, timeout_s)
    finally:
        await asyncio.to_thread(link.stop)


def _hint(reason: str, tls: bool) -> str:
    text = reason.lower()
    if "authoriz" in text or "user name or password" in text:
        return " (check mqtt.username and the password / $TWITCHWATCH_MQTT_PASSWORD)"
    if "certificate" in text:
        return " (check mqtt.tls_ca_file: the broker's certificate is not trusted)"
    if "refused" in text:
        return " (is the broker running, on this host and port?)"
    if tls and ("reset" in text or "eof" in text or "wrong version" in text):
        return " (is this port a TLS listener? use mqtt:// for a plain one)"
    if not tls and "no connack" in text:
        return " (is this port a TLS listener? use mqtts:// for it)"
    return ""


async def _self_test_steps(
    cfg: MqttConfig, link: PahoLink, topics: TopicTree, say: Callable[[str], None], timeout_s: float
) -> bool:
    conn = await _next_note(link, lambda n: isinstance(n, Connected), timeout_s)
    if not isinstance(conn, Connected) or not conn.ok:
        reason = conn.reason if isinstance(conn, Connected) else f"no CONNACK in {timeout_s:g}s"
        say(f"connect   FAILED: {reason}{_hint(reason, cfg.broker.tls)}")
        return False
    say("connect   ok")
    mid = link.subscribe(topics.bridge_test, cfg.qos)
    sub = await _next_note(link, lambda n: isinstance(n, Subscribed) and n.mid == mid, timeout_s)
    if not isinstance(sub, Subscribed) or sub.failure:
        why = sub.reasons if isinstance(sub, Subscribed) else "no SUBACK"
        say(f"subscribe FAILED on {topics.bridge_test}: {why}")
        return False
    say(f"subscribe ok ({topics.bridge_test})")
    ok = True
    if cfg.discovery:
        msgs = bridge_messages(DiscoveryOptions(topics, cfg.qos))
        mids = {link.publish(m.topic, m.payload, qos=m.qos, retain=True) for m in msgs}
        got = await _next_note(link, lambda n: isinstance(n, Acked) and n.mid in mids, timeout_s)
        if isinstance(got, Acked) and not got.failure:
            say(f"discovery ok: bridge config under {cfg.discovery_prefix}/ ({got.reason})")
        else:
            ok = False
            say(f"discovery FAILED: {got.reason if isinstance(got, Acked) else 'no PUBACK'}")
    token = f"test-{uuid.uuid4().hex[:12]}"
    payload = json.dumps({"event_type": "test", "event_id": token})
    sent = time.monotonic()
    mid = link.publish(topics.bridge_test, payload, qos=cfg.qos, retain=False, expiry_s=60)
    ack: Acked | None = None
    echo_ms: float | None = None

    def step(n: Note) -> bool:
        nonlocal ack, echo_ms
        if isinstance(n, Acked) and n.mid == mid:
            ack = n
        elif isinstance(n, Received) and token.encode() in n.payload:
            echo_ms = 1000 * (time.monotonic() - sent)
        return ack is not None and echo_ms is not None

    await _next_note(link, step, timeout_s)
    if ack is None or ack.failure:
        say(f"publish   FAILED: {ack.reason if ack else 'no PUBACK'}")
        return False
    say(f"publish   ok: test event acknowledged ({ack.reason})")
    if echo_ms is None:
        say(f"receive   FAILED: the test event did not come back within {timeout_s:g}s")
        return False
    say(f"receive   ok: came back in {echo_ms:.0f} ms")
    return ok


@dataclass(frozen=True, slots=True)
class ForgetResult:
    """What ``mqtt forget`` did: retained topics found and cleared, acknowledgements."""

    found: tuple[str, ...]
    cleared: int
    sent: int


async def forget_wearable(cfg: MqttConfig, wearable: str) -> ForgetResult:
    """Delete a wearable from Home Assistant (empty retained configs, state, availability).

    First subscribes to the wearable's topics to see which ones hold a retained message, then
    publishes an empty retained message to each topic (clearing also what appeared meanwhile).

    Returns:
        The topics that held a retained message, and how many clears the broker acknowledged.

    Raises:
        SinkError: the broker cannot be reached or refuses the connection.
    """
    wid = opaque_wearable_id(wearable, cfg.effective_replay_wearable)
    link = PahoLink(cfg, client_id=f"{cfg.effective_client_id}-admin", will=False)
    timeout_s = cfg.connect_timeout_s
    await link.connect_now(asyncio.get_running_loop())
    try:
        conn = await _next_note(link, lambda n: isinstance(n, Connected), timeout_s)
        if not isinstance(conn, Connected) or not conn.ok:
            reason = conn.reason if isinstance(conn, Connected) else "no CONNACK"
            raise SinkError(f"{cfg.broker}: connection refused: {reason}")
        topics = TopicTree(cfg.base_topic, cfg.instance, cfg.discovery_prefix)
        msgs = removal_messages(wid, DiscoveryOptions(topics, cfg.qos))
        wanted = {m.topic for m in msgs}
        found: set[str] = set()
        subs = {link.subscribe(t, cfg.qos) for t in sorted(wanted)}
        pending = set(subs)

        def retained(n: Note) -> bool:
            if isinstance(n, Subscribed):
                pending.discard(n.mid)
            elif isinstance(n, Received) and n.retained and n.payload and n.topic in wanted:
                found.add(n.topic)
            return False

        await _next_note(link, lambda n: retained(n) or not pending, timeout_s)
        # the broker sends retained messages right after each SUBACK: let the last ones arrive
        await _next_note(link, retained, _RETAINED_GRACE_S)
        mids = {link.publish(m.topic, m.payload, qos=m.qos, retain=True) for m in msgs}
        acked: set[int | None] = set()

        def cleared(n: Note) -> bool:
            if isinstance(n, Acked) and n.mid in mids and not n.failure:
                acked.add(n.mid)
            return acked == mids

        await _next_note(link, cleared, timeout_s)
        return ForgetResult(tuple(sorted(found)), len(acked), len(msgs))
    finally:
        await asyncio.to_thread(link.stop)
