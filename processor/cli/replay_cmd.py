"""``twitchwatch replay PATH``: run the detection pipeline over a recording."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from processor.cli.common import (
    StopOnSignals,
    add_output_options,
    build_sinks,
    find_console,
    load_app_config,
    run_stoppable,
    session_id_for,
)
from processor.config import ReplayConfig
from processor.io.readers import open_recordings
from processor.runtime import RunFailedError, run_sources
from processor.sinks.console import ConsoleSink
from processor.sources.replay import ReplaySource
from processor.summary import RunSummary

# Largest step of a paced (--speed) replay: the pipeline sees a chunk only once it is complete.
PACED_CHUNK_MS = 100.0


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _print_summary(summary: RunSummary, console: ConsoleSink | None) -> None:
    if console is not None:
        console.summary(summary)
    else:
        sys.stdout.write(summary.table() + "\n")


def _paced_replay_config(cfg: ReplayConfig, speed: float | None) -> ReplayConfig:
    """Paced replays read in live-sized steps, so events come out when they would live."""
    if speed is None or cfg.chunk_ms <= PACED_CHUNK_MS:
        return cfg
    return replace(cfg, chunk_ms=PACED_CHUNK_MS)


def _replay(args: argparse.Namespace) -> int:
    cfg = load_app_config(args)
    path = Path(args.path)
    opened_at = time.perf_counter()
    replay_cfg = _paced_replay_config(cfg.replay, args.speed)
    readers = open_recordings(path, replay_cfg, wearable=args.wearable)
    open_s = time.perf_counter() - opened_at  # readers parse their first block when opening
    try:
        session = session_id_for(args, "replay")
        sinks = build_sinks(args, cfg, source=str(path))
    except BaseException:
        for _, reader in readers:
            reader.close()
        raise
    sources = [(wearable, ReplaySource(reader, speed=args.speed)) for wearable, reader in readers]
    console = find_console(sinks)
    duration_s = sources[0][1].duration_s
    notes = []
    if len(sources) > 1:
        ids = ", ".join(wearable for wearable, _ in sources)
        notes.append(f"replayed {len(sources)} wearables concurrently, one pipeline each: {ids}")

    def progress(_wearable: str, position_s: float) -> None:
        if console is not None:
            console.progress(position_s, duration_s)

    def stop() -> None:
        for _, source in sources:
            source.stop()

    async def main() -> int:
        with StopOnSignals(stop) as signals:
            try:
                summary = await run_sources(
                    sources,
                    cfg,
                    sinks,
                    session_id=session,
                    on_progress=progress,
                    on_stream=None if console is None else console.note_stream,
                )
            except RunFailedError as exc:  # the summary still says what was found
                exc.summary.notes.extend([*notes, signals.note])
                _print_summary(exc.summary, console)
                raise
        summary.wall_s += open_s
        summary.notes.extend([*notes, signals.note])
        _print_summary(summary, console)
        return signals.exit_code

    try:
        return run_stoppable(main())
    finally:
        for _, reader in readers:
            reader.close()  # also when an output failed to open before the sources started


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``replay`` to the ``twitchwatch`` parser."""
    parser = sub.add_parser(
        "replay",
        help="detect events in a recording (.csv, .edf, .bdf, .twrec)",
        description=(
            "Run the detection pipeline over a recording. Prints each event as it is emitted, "
            "then a summary. Without --speed it runs as fast as it can; --speed 1 plays in "
            "real time (alerts go out as they would live)."
        ),
    )
    parser.add_argument("path", metavar="PATH", help="recording: .csv, .edf, .bdf or .twrec")
    parser.add_argument(
        "--speed",
        type=_speed,
        default=None,
        metavar="X",
        help="play at X times real time (default: as fast as possible)",
    )
    parser.add_argument(
        "--wearable",
        metavar="ID",
        help="replay only this wearable of a .twrec recording (default: all, concurrently)",
    )
    add_output_options(parser)
    parser.set_defaults(func=_replay)
