"""TLS, passwords from the environment, refusals, and ``twitchwatch mqtt test``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from processor.cli import main
from processor.errors import SinkError
from processor.model import Event, EventType
from processor.sinks.mqtt import MqttSink
from processor.sinks.outbox import Outbox
from tests.broker import MOSQUITTO, Broker, TlsFiles, make_tls
from tests.sinks.conftest import fast_cfg

pytestmark = pytest.mark.broker
PASSWORD = "s3cret-Pw"  # noqa: S105 - a throw-away broker user


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_broker(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Broker]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed (scripts/system-deps.sh installs it)")
    b = Broker(tmp_path / "tls-broker", tls=tls_files, users={"twitchwatch": PASSWORD}).start()
    yield b
    b.kill()


@pytest.fixture
def mtls_broker(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Broker]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed (scripts/system-deps.sh installs it)")
    b = Broker(tmp_path / "mtls", tls=tls_files, require_client_cert=True).start()
    yield b
    b.kill()


def spasm(i: int) -> Event:
    return Event(
        f"s{i}", EventType.SPASM, "emg", 1.0, None, 4.0, wearable="left", extras={"alert": True}
    )


async def test_tls_with_password_from_env_delivers(  # noqa: PLR0917 - pytest fixtures
    tls_broker: Broker,
    tls_files: TlsFiles,
    watchers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TW_TEST_PW", PASSWORD)
    w = watchers(
        tls_broker.port, ["twitchwatch/+/event"], tls=tls_files, auth=("twitchwatch", PASSWORD)
    )
    cfg = fast_cfg(
        tls_broker.url,
        tls_ca_file=str(tls_files.ca),
        username="twitchwatch",
        password_env="TW_TEST_PW",  # noqa: S106 - a variable name
    )
    async with MqttSink(cfg, outbox_path=tmp_path / "o.db") as sink:
        await sink.send(spasm(1))
        assert await sink.drained(10), sink.stats()
    await asyncio.to_thread(w.wait_for, lambda ms: len(ms) == 1)
    assert w.snapshot()[0].json()["event_id"] == "s1"
    assert PASSWORD not in caplog.text
    report = sink.delivery_report()
    assert report is not None
    assert not report.failed
    assert report.reached


async def test_wrong_password_is_refused_and_alert_stays_outboxed(
    tls_broker: Broker, tls_files: TlsFiles, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = fast_cfg(
        tls_broker.url,
        tls_ca_file=str(tls_files.ca),
        username="twitchwatch",
        password="wrong-Pw",  # noqa: S106 - deliberately wrong
        flush_timeout_s=0.2,
    )
    sink = MqttSink(cfg, outbox_path=tmp_path / "o.db")
    with pytest.raises(SinkError, match=r"1 alert\(s\) not delivered .*never reachable"):
        await _send_while_refused(sink)
    assert "cannot connect" in caplog.text
    assert "wrong-Pw" not in caplog.text
    box = Outbox(tmp_path / "o.db", max_rows=10)
    assert len(box) == 1, "kept for when the credentials are fixed"
    box.close()


async def _send_while_refused(sink: MqttSink) -> None:
    async with sink:
        await sink.send(spasm(1))
        for _ in range(500):
            if sink.stats().get("connect_failures"):
                break
            await asyncio.sleep(0.02)
        assert not sink.connected
        assert sink.stats()["pending"] == 1, "kept for when the credentials are fixed"


def test_mqtt_test_command_reports_each_step(
    tls_broker: Broker,
    tls_files: TlsFiles,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWITCHWATCH_MQTT_PASSWORD", PASSWORD)
    config = tmp_path / "c.toml"
    config.write_text(
        f'[mqtt]\ntls_ca_file = "{tls_files.ca}"\nusername = "twitchwatch"\n', encoding="utf-8"
    )
    assert main(["mqtt", "test", "--mqtt", tls_broker.url, "--config", str(config)]) == 0
    out = capsys.readouterr().out
    for step in ("connect   ok", "subscribe ok", "discovery ok", "publish   ok", "receive   ok"):
        assert step in out
    assert PASSWORD not in out
    assert "password set" in out

    monkeypatch.setenv("TWITCHWATCH_MQTT_PASSWORD", "nope")
    assert main(["mqtt", "test", "--mqtt", tls_broker.url, "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "connect   FAILED" in out
    assert "nope" not in out
    assert "Not authorized" in out or "Bad user name or password" in out


# paho 2.2's Client._ssl_wrap_socket does not close the socket when do_handshake() raises; the
# garbage SSLSocket then emits a ResourceWarning. Expected here, where the handshake must fail.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_mqtt_test_fails_on_wrong_ca_and_on_plaintext_to_tls(
    tls_broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = make_tls(tmp_path / "other-ca")
    config = tmp_path / "c.toml"
    config.write_text(
        f'[mqtt]\ntls_ca_file = "{other.ca}"\nusername = "twitchwatch"\n'
        f'password = "{PASSWORD}"\nconnect_timeout_s = 2.0\n',
        encoding="utf-8",
    )
    assert main(["mqtt", "test", "--mqtt", tls_broker.url, "--config", str(config)]) == 1
    assert "CERTIFICATE_VERIFY_FAILED" in capsys.readouterr().out
    plain = tls_broker.url.replace("mqtts://", "mqtt://")
    assert main(["mqtt", "test", "--mqtt", plain, "--config", str(config)]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_mqtt_test_command_bad_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mqtt", "test", "--mqtt", "http://example"]) == 2
    assert "mqtt url must be" in capsys.readouterr().err
    assert main(["mqtt", "test", "--mqtt", "ftp://x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("twitchwatch: error: --mqtt: mqtt url must be"), err
    assert err.count("\n") == 1
    assert main(["mqtt", "forget", "", "--mqtt", "mqtt://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "WEARABLE must not be empty" in err
    assert err.count("\n") == 1
    assert main(["mqtt", "forget", "  ", "--mqtt", "mqtt://127.0.0.1:1"]) == 2
    assert main(["mqtt", "test"]) == 2
    assert "no broker" in capsys.readouterr().err
    missing = tmp_path / "c.toml"
    missing.write_text('[mqtt]\ntls_ca_file = "/nope/ca.pem"\n', encoding="utf-8")
    assert main(["mqtt", "test", "--mqtt", "mqtts://127.0.0.1:1", "--config", str(missing)]) == 2
    assert "mqtt.tls_ca_file" in capsys.readouterr().err


def test_mqtt_test_unreachable_broker_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.broker import free_port

    assert main(["mqtt", "test", "--mqtt", f"mqtt://127.0.0.1:{free_port()}"]) == 1
    assert "connect   FAILED" in capsys.readouterr().out


def test_mqtt_forget_removes_retained_entities(broker: Broker, watchers, capsys) -> None:
    from tests.broker import publish_raw

    topic = "homeassistant/sensor/left/battery/config"
    publish_raw(broker.port, topic, '{"name": "Battery"}', retain=True)
    publish_raw(broker.port, "twitchwatch/left/state", '{"battery": 80}', retain=True)
    assert main(["mqtt", "forget", "left", "--mqtt", broker.url]) == 0
    out = capsys.readouterr().out
    assert "cleared   2 retained topic(s) of wearable 'left'" in out, out
    assert topic in out
    assert "twitchwatch/left/state" in out
    assert main(["mqtt", "forget", "left", "--mqtt", broker.url]) == 0
    assert "cleared   nothing: no retained topic of wearable 'left'" in capsys.readouterr().out
    late = watchers(broker.port, ["homeassistant/#", "twitchwatch/#"])
    import time

    time.sleep(0.3)  # a retained message would arrive right after SUBACK
    assert late.snapshot() == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # paho, see above
@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_mutual_tls_client_certificate(
    mtls_broker: Broker, tmp_path: Path, tls_files: TlsFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = fast_cfg(
        mtls_broker.url,
        tls_ca_file=str(tls_files.ca),
        tls_cert_file=str(tls_files.client_cert),
        tls_key_file=str(tls_files.client_key),
    )
    async with MqttSink(cfg, outbox_path=tmp_path / "o.db") as sink:
        await sink.send(spasm(7))
        assert await sink.drained(10), sink.stats()
    config = tmp_path / "no-cert.toml"
    text = f'[mqtt]\ntls_ca_file = "{tls_files.ca}"\nconnect_timeout_s = 2.0\n'
    await asyncio.to_thread(config.write_text, text)
    assert (
        await asyncio.to_thread(
            main, ["mqtt", "test", "--mqtt", mtls_broker.url, "--config", str(config)]
        )
        == 1
    ), "no client certificate: refused"
    assert "connect   FAILED" in capsys.readouterr().out
