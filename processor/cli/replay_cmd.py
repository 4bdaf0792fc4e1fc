"""``twitchwatch replay PATH``: run the detection pipeline over a recording."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from processor.cli.common import (
    add_output_options,
    build_sinks,
    find_console,
    load_app_config,
    session_id_for,
)
from processor.io.readers import open_recording
from processor.runtime import run_sources
from processor.sources.replay import ReplaySource


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _replay(args: argparse.Namespace) -> int:
    cfg = load_app_config(args)
    path = Path(args.path)
    opened_at = time.perf_counter()
    reader = open_recording(path, cfg.replay)
    open_s = time.perf_counter() - opened_at  # readers parse their first block when opening
    try:
        session = session_id_for(args, "replay")
        sinks = build_sinks(args, cfg, source=str(path))
    except BaseException:
        reader.close()
        raise
    source = ReplaySource(reader, speed=args.speed)
    console = find_console(sinks)

    def progress(_wearable: str, position_s: float) -> None:
        if console is not None:
            console.progress(position_s, source.duration_s)

    try:
        summary = asyncio.run(
            run_sources([("", source)], cfg, sinks, session_id=session, on_progress=progress)
        )
    finally:
        reader.close()  # also when an output failed to open before the source started
    summary.wall_s += open_s
    if console is not None:
        console.summary(summary)
    else:
        sys.stdout.write(summary.table() + "\n")
    return 0


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
    add_output_options(parser)
    parser.set_defaults(func=_replay)
