"""Options and outputs shared by the commands that process data (``replay``, ``run``)."""

from __future__ import annotations

import argparse
import secrets
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from processor.config import AppConfig, load_config
from processor.errors import InputError
from processor.sinks.base import Sink
from processor.sinks.console import ConsoleSink
from processor.sinks.eventlog import EventLogSink
from processor.sinks.history import HistorySink


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """Add --config, --events-out, --mqtt, --no-history, --quiet and --session."""
    parser.add_argument("--config", metavar="FILE", help="TOML config file (default: built-in)")
    parser.add_argument(
        "--events-out", metavar="FILE", help="append the event log (JSON Lines) to FILE"
    )
    parser.add_argument(
        "--mqtt", metavar="URL", help="send alerts to a broker: mqtt://host:port or mqtts://..."
    )
    parser.add_argument(
        "--no-history", action="store_true", help="do not store events in the local history"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the summary, not each event"
    )
    parser.add_argument(
        "--session", metavar="ID", help="session id used in event ids (default: a new one)"
    )


def load_app_config(args: argparse.Namespace) -> AppConfig:
    """The config named by ``--config`` (built-in defaults without it)."""
    path = getattr(args, "config", None)
    return load_config(Path(path) if path else None)


def session_id_for(args: argparse.Namespace, prefix: str = "session") -> str:
    """``--session`` or a new id (kept on ``args``, so sinks and the runtime agree)."""
    session = getattr(args, "session", None)
    if not session:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        session = f"{prefix}-{stamp}-{secrets.token_hex(2)}"
        args.session = session
    return str(session)


def build_sinks(args: argparse.Namespace, cfg: AppConfig, *, source: str = "") -> list[Sink]:
    """Console first, then the event log, the local history and MQTT as the options say.

    Args:
        args: parsed options of :func:`add_output_options`.
        cfg: the loaded config (``[history]``, ``[mqtt]``).
        source: what is processed (recording path or wearable), stored with history rows.

    Raises:
        InputError: MQTT requested but not available in this build.
    """
    sinks: list[Sink] = [ConsoleSink(quiet=bool(getattr(args, "quiet", False)))]
    events_out = getattr(args, "events_out", None)
    if events_out:
        sinks.append(EventLogSink(Path(events_out)))
    if cfg.history.enabled and not getattr(args, "no_history", False):
        sinks.append(HistorySink(cfg.history, session_id=session_id_for(args), source=source))
    url = getattr(args, "mqtt", None) or cfg.mqtt.url
    if url:
        try:
            from processor.sinks.mqtt import MqttSink  # noqa: PLC0415 - optional output
        except ModuleNotFoundError as exc:
            if exc.name != "processor.sinks.mqtt":
                raise
            raise InputError(f"--mqtt {url}: MQTT is not available in this build") from None
        try:
            mqtt_cfg = replace(cfg.mqtt, url=url)
        except ValueError as exc:  # the [mqtt] section validates the URL
            raise InputError(f"--mqtt: {exc}") from None
        sinks.append(MqttSink(mqtt_cfg))
    return sinks


def find_console(sinks: list[Sink]) -> ConsoleSink | None:
    """The console sink among ``sinks`` (for the progress bar and the summary)."""
    return next((s for s in sinks if isinstance(s, ConsoleSink)), None)
