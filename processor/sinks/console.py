"""Console output: one readable line per event, a progress bar for long replays, a summary."""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import Self, TextIO

from processor.model import Event, EventType, JsonValue, StatusUpdate, StreamInfo
from processor.summary import RunSummary

PROGRESS_MIN_S = 5.0
_BAR_WIDTH = 30
_REDRAW_S = 0.1


def _number(extras: dict[str, JsonValue] | object, key: str) -> float | None:
    value = extras.get(key) if isinstance(extras, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def format_event(event: Event, *, stream_unit: str = "uV") -> str:
    """One line for a person: time, class, channel and the evidence that matters.

    Args:
        event: the event.
        stream_unit: unit of the channel's stream (``counts`` for a device without a µV
            scale); the event's own ``unit`` extra wins when present.
    """
    extras = dict(event.extras)
    unit = extras.get("unit")
    unit = unit if isinstance(unit, str) and unit else stream_unit
    parts: list[str] = []
    if event.type is EventType.SPASM:
        if event.end_s is None:
            head = "spasm started"
            parts.append(f"confirmed at {event.detected_at_s:.3f} s")
        else:
            head = "spasm ended"
            parts.append(f"lasted {event.end_s - event.start_s:.1f} s")
    else:
        head = str(event.type)
    if (peak := _number(extras, "peak_uv")) is not None:
        parts.append(f"peak {peak:.1f} {unit}")
    if (
        duration := _number(extras, "duration_ms")
    ) is not None and event.type is not EventType.SPASM:
        parts.append(f"{duration:.0f} ms")
    if isinstance(evidence := extras.get("visibility_evidence"), str):
        parts.append(f"visibility from {evidence}")
    if (rate := _number(extras, "rate_per_min")) is not None:
        parts.append(f"{rate:.1f}/min")
    quality = extras.get("quality")
    if isinstance(quality, list) and quality:
        parts.append("quality: " + ",".join(str(q) for q in quality))
    who = f"{event.wearable}/" if event.wearable else ""
    line = f"{event.start_s:10.3f} s  {head:<15} {who}{event.channel:<12} " + ", ".join(parts)
    if extras.get("alert") is True:
        line += "  ALERT"
    return line.rstrip()


def format_status(update: StatusUpdate) -> str:
    """One line for a wearable's connectivity / battery change."""
    parts = []
    if update.connected is not None:
        parts.append("connected" if update.connected else "disconnected")
    if update.battery_pct is not None:
        parts.append(f"battery {update.battery_pct}%")
    if update.detail:
        parts.append(update.detail)
    return f"[{update.wearable or 'wearable'}] " + ", ".join(parts)


class ConsoleSink:
    """Prints events as they are emitted (stdout), a progress bar (stderr) and the summary.

    Args:
        out: where events and the summary go (default ``sys.stdout``).
        err: where the progress bar goes (default ``sys.stderr``).
        quiet: print no event or status lines (the summary is still printed).
        progress: show a progress bar; None: only when ``out`` is a terminal.
    """

    def __init__(
        self,
        *,
        out: TextIO | None = None,
        err: TextIO | None = None,
        quiet: bool = False,
        progress: bool | None = None,
    ) -> None:
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._quiet = quiet
        self._progress = progress
        self._bar_shown = False
        self._last_draw = 0.0
        self._units: dict[tuple[str, str], str] = {}
        self._out_gone = False
        self.lines = 0

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._clear_bar()

    def note_stream(self, wearable: str, stream: StreamInfo) -> None:
        """Remember the unit of a stream's channels (events print their peak in it)."""
        for channel in (stream.name, *stream.channels):
            self._units[wearable, channel] = stream.unit

    async def send(self, event: Event) -> None:
        """Print the event's line."""
        unit = self._units.get((event.wearable, event.channel), "uV")
        self._print(format_event(event, stream_unit=unit))

    async def status(self, update: StatusUpdate) -> None:
        """Print the status line."""
        self._print(format_status(update))

    def progress(self, position_s: float, duration_s: float | None) -> None:
        """Redraw the progress bar (throttled); only for long replays on a terminal."""
        enabled = self._progress if self._progress is not None else self._out.isatty()
        if not enabled or duration_s is None or duration_s < PROGRESS_MIN_S:
            return
        now = time.monotonic()
        if now - self._last_draw < _REDRAW_S and position_s < duration_s:
            return
        self._last_draw = now
        fraction = min(1.0, max(0.0, position_s / duration_s))
        filled = round(fraction * _BAR_WIDTH)
        bar = "#" * filled + "." * (_BAR_WIDTH - filled)
        self._err.write(f"\r[{bar}] {fraction:4.0%} {position_s:8.1f}/{duration_s:.1f} s")
        self._err.flush()
        self._bar_shown = True

    def summary(self, summary: RunSummary) -> None:
        """Print the end-of-run table."""
        self._clear_bar()
        self._write(summary.table() + "\n")

    def _print(self, line: str) -> None:
        if self._quiet:
            return
        self._clear_bar()
        if self._write(line + "\n"):
            self.lines += 1

    def _write(self, text: str) -> bool:
        """Write and flush; False once the reader of ``out`` went away."""
        if self._out_gone:
            return False
        try:
            self._out.write(text)
            self._out.flush()
        except BrokenPipeError:
            # `twitchwatch replay x | head`: the reader left. The other outputs (event log,
            # history, MQTT) must still get everything, so stop printing instead of failing.
            self._out_gone = True
            if self._out is sys.stdout:  # nothing left to flush at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return False
        return True

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self._err.write("\r" + " " * (_BAR_WIDTH + 30) + "\r")
            self._err.flush()
            self._bar_shown = False
