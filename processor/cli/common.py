"""Options and outputs shared by the commands that process data (``replay``, ``run``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from processor.config import AppConfig, load_config
from processor.errors import InputError
from processor.sinks.base import Sink
from processor.sinks.console import ConsoleSink
from processor.sinks.eventlog import EventLogSink
from processor.sinks.history import HistorySink

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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


class StopOnSignals:
    """Ctrl-C (SIGINT) and SIGTERM stop a run cleanly, through the same path as its end.

    The first signal calls ``stop`` (the sources end: wearables get their stop writes, a replay
    stops reading), so the pipelines flush, the sinks drain and close, and the summary is
    printed. A second signal cancels the main task (abort). Use inside the running loop::

        with StopOnSignals(source.stop) as signals:
            summary = await run_sources(...)
        return signals.exit_code  # 0, or 130 (SIGINT) / 143 (SIGTERM)

    Args:
        stop: called once, from the event loop, on the first signal.
    """

    def __init__(self, stop: Callable[[], object]) -> None:
        self._stop = stop
        self.signum: int | None = None
        self._installed: list[signal.Signals] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[Any] | None = None

    def __enter__(self) -> Self:
        self._loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        for signum in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                self._loop.add_signal_handler(signum, self._on_signal, signum)
                self._installed.append(signum)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None:
            for signum in self._installed:
                self._loop.remove_signal_handler(signum)
        self._installed.clear()

    @property
    def exit_code(self) -> int:
        """0 when no signal came, else 128 + the first signal's number (130, 143)."""
        return 0 if self.signum is None else 128 + self.signum

    @property
    def note(self) -> str:
        """For the summary: which signal stopped the run (empty when none did)."""
        if self.signum is None:
            return ""
        name = "Ctrl-C" if self.signum == signal.SIGINT else signal.Signals(self.signum).name
        return f"interrupted by {name}: stopped early, everything emitted before was delivered"

    def _on_signal(self, signum: int) -> None:
        if self.signum is None:
            self.signum = signum
            sys.stderr.write("\nstopping (Ctrl-C again to abort)...\n")
            sys.stderr.flush()
            self._stop()
        elif self._main is not None:
            self._main.cancel()


def run_stoppable(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``; an abort (second signal) ends as Ctrl-C does (exit 130)."""
    try:
        return asyncio.run(main)
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
