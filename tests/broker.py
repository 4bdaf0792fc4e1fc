"""A private Mosquitto for tests: free loopback port, generated config, SIGKILL and restart.

Also: a thread-safe recording subscriber (``Watcher``) and TLS/password material generators.
Only processes started here are signalled, by their own PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(cond: Callable[[], bool], timeout_s: float, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.01)


@dataclass
class TlsFiles:
    ca: Path
    cert: Path
    key: Path
    client_cert: Path
    client_key: Path


def make_tls(workdir: Path) -> TlsFiles:
    """A throw-away CA and a server certificate for 127.0.0.1/localhost (openssl CLI)."""
    ca_key, ca = workdir / "ca.key", workdir / "ca.crt"
    key, csr, cert = workdir / "server.key", workdir / "server.csr", workdir / "server.crt"
    workdir.mkdir(parents=True, exist_ok=True)
    ext = workdir / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n", encoding="utf-8")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl = shutil.which("openssl") or "/usr/bin/openssl"

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True)  # noqa: S603

    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj",
        "/CN=twitchwatch test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    run("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
    ckey, ccsr, ccert = workdir / "client.key", workdir / "client.csr", workdir / "client.crt"
    run("req", *ec, "-keyout", str(ckey), "-out", str(ccsr), "-subj", "/CN=twitchwatch")
    run("x509", "-req", "-in", str(ccsr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(ccert), "-days", "2")  # fmt: skip
    return TlsFiles(ca=ca, cert=cert, key=key, client_cert=ccert, client_key=ckey)


@dataclass
class Broker:
    """One Mosquitto process on 127.0.0.1 with its own config and persistence directory."""

    workdir: Path
    port: int = field(default_factory=free_port)
    tls: TlsFiles | None = None
    users: dict[str, str] | None = None
    persistence: bool = True
    require_client_cert: bool = False
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        lines = [f"listener {self.port} 127.0.0.1", f"log_dest file {self.workdir / 'broker.log'}"]
        if os.geteuid() == 0:
            lines.append("user root")  # otherwise it drops to 'mosquitto' and cannot write here
        if self.persistence:
            # Save after every change, so a SIGKILL keeps sessions and subscriptions.
            lines += [
                "persistence true",
                f"persistence_location {self.workdir}/",
                "autosave_on_changes true",
                "autosave_interval 1",
            ]
        if self.users:
            pwfile = self.workdir / "passwd"
            pwfile.write_text("", encoding="utf-8")
            for user, password in self.users.items():
                cmd = [MOSQUITTO_PASSWD, "-b", str(pwfile), user, password]
                subprocess.run(cmd, check=True)  # noqa: S603 - our own test users
            lines += ["allow_anonymous false", f"password_file {pwfile}"]
        else:
            lines.append("allow_anonymous true")
        if self.tls:
            lines += [
                f"cafile {self.tls.ca}",
                f"certfile {self.tls.cert}",
                f"keyfile {self.tls.key}",
            ]
            if self.require_client_cert:
                lines.append("require_certificate true")
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return conf

    def start(self) -> Broker:
        conf = self._write_config()
        self.proc = subprocess.Popen(  # noqa: S603 - our own binary and config
            [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

        def listening() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"mosquitto exited: {err}")
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port)) == 0

        wait_until(listening, 10, "mosquitto to listen")
        return self

    def _signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)


@dataclass
class Message:
    topic: str
    payload: bytes
    retain: bool
    at: float

    def json(self) -> dict[str, object]:
        data = json.loads(self.payload)
        assert isinstance(data, dict)
        return data


class Watcher:
    """A real subscriber that records everything it receives (paho thread, lock-protected)."""

    def __init__(
        self,
        port: int,
        topics: list[str],
        *,
        client_id: str = "",
        durable: bool = False,
        tls: TlsFiles | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._topics = topics
        self.connected = threading.Event()
        cid = client_id or f"watcher-{os.getpid()}-{id(self)}"
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=paho.MQTTv5)
        self.client.reconnect_delay_set(1, 1)
        if tls:
            self.client.tls_set(ca_certs=str(tls.ca))
        if auth:
            self.client.username_pw_set(*auth)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: self.connected.set()  # SUBACK: subscribed
        self.client.on_disconnect = lambda *_a: self.connected.clear()
        props = None
        if durable:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 3600
        self.client.connect_async(
            "127.0.0.1", port, keepalive=10, clean_start=not durable, properties=props
        )
        self.client.loop_start()
        if not self.connected.wait(10):
            raise AssertionError("watcher could not connect")

    def _on_connect(self, client, _u, _f, rc, _p=None) -> None:
        if not rc.is_failure:
            client.subscribe([(t, 1) for t in self._topics])

    def _on_message(self, _c, _u, msg) -> None:
        with self._lock:
            self.messages.append(Message(msg.topic, bytes(msg.payload), msg.retain, time.time()))

    def snapshot(self) -> list[Message]:
        with self._lock:
            return list(self.messages)

    def on(self, topic: str) -> list[Message]:
        return [m for m in self.snapshot() if m.topic == topic]

    def wait_for(
        self, cond: Callable[[list[Message]], bool], timeout_s: float = 10, what: str = "messages"
    ) -> list[Message]:
        wait_until(lambda: cond(self.snapshot()), timeout_s, what)
        return self.snapshot()

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish_raw(port: int, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
    """Publish one QoS 1 message from a throw-away client and wait for its PUBACK."""
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id="", protocol=paho.MQTTv5)
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()


class FaultProxy:
    """A TCP forwarder between a client and the broker that can swallow broker->client bytes
    (lost PUBACKs while the socket stays open) and then reset every connection."""

    def __init__(self, upstream_port: int) -> None:
        self.port = free_port()
        self._upstream = upstream_port
        self.blackhole = threading.Event()
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self._server.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._upstream))
            with self._lock:
                self._socks += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, downstream: bool) -> None:
        try:
            while data := src.recv(65536):
                if downstream and self.blackhole.is_set():
                    continue
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()

    def reset(self) -> None:
        """Cut every connection (the client sees a dead link and reconnects)."""
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()
        self.blackhole.clear()

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self.reset()
