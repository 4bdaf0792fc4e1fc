from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import pytest

from processor.cli import main
from processor.cli.common import add_output_options, build_sinks, find_console, session_id_for
from processor.config import AppConfig
from processor.config.io import HistoryConfig
from processor.sinks.console import ConsoleSink
from processor.sinks.eventlog import EventLogSink
from processor.sinks.history import HistorySink


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_output_options(parser)
    return parser.parse_args(list(argv))


def test_default_sinks_are_console_and_history() -> None:
    sinks = build_sinks(_args(), AppConfig())
    assert [type(s) for s in sinks] == [ConsoleSink, HistorySink]
    assert find_console(sinks) is sinks[0]


def test_event_log_no_history_and_disabled_history(tmp_path: Path) -> None:
    sinks = build_sinks(
        _args("--events-out", str(tmp_path / "e.jsonl"), "--no-history"), AppConfig()
    )
    assert [type(s) for s in sinks] == [ConsoleSink, EventLogSink]
    off = AppConfig(history=HistoryConfig(enabled=False))
    assert [type(s) for s in build_sinks(_args(), off)] == [ConsoleSink]


def test_session_id_is_made_once_and_kept() -> None:
    args = _args()
    first = session_id_for(args, "replay")
    assert first.startswith("replay-")
    assert session_id_for(args, "other") == first
    assert session_id_for(_args("--session", "mine")) == "mine"


@pytest.mark.skipif(
    importlib.util.find_spec("processor.sinks.mqtt") is None, reason="MQTT sink not built yet"
)
def test_mqtt_option_adds_the_mqtt_sink() -> None:
    from processor.sinks.mqtt import MqttSink

    sinks = build_sinks(_args("--mqtt", "mqtt://127.0.0.1:1883", "--no-history"), AppConfig())
    assert [type(s) for s in sinks] == [ConsoleSink, MqttSink]


def test_bad_mqtt_url_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "r.csv"
    csv.write_text("time_s,emg\n0,1\n0.001,2\n", encoding="utf-8")
    assert main(["replay", str(csv), "--mqtt", "ftp://nowhere", "--no-history"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("twitchwatch: error: --mqtt: ")
    assert "ftp://nowhere" in err
