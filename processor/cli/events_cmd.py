"""``twitchwatch events``: list past events from the local history."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from processor.cli.common import load_app_config
from processor.errors import InputError
from processor.model import EventType
from processor.sinks.console import format_event
from processor.sinks.history import HistoryStore, StoredEvent, default_history_path
from processor.sinks.serialize import event_from_dict


def _since(text: str) -> str:
    """ISO date/time (local time when no zone is given) -> the stored UTC text form."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"--since: expected an ISO date or time such as 2026-01-31 or 2026-01-31T08:00, "
            f"got {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, got {text!r}")
    return value


def _line(row: StoredEvent) -> str:
    try:
        text = format_event(event_from_dict(row.event))
    except (ValueError, TypeError):
        text = json.dumps(row.event)
    local = datetime.fromisoformat(row.stored_at).astimezone()
    return f"{local:%Y-%m-%d %H:%M:%S}  {text}  [{row.session}]"


def _events(args: argparse.Namespace) -> int:
    if args.db:
        path = Path(args.db)
        if not path.is_file():
            raise InputError(f"{path}: history database not found")
    else:
        path = default_history_path(load_app_config(args).history)
        if not path.is_file():
            sys.stdout.write(f"No events recorded yet (no history at {path}).\n")
            return 0
    store = HistoryStore(path, create=False)
    try:
        rows = store.query(
            event_type=args.type,
            channel=args.channel,
            since=_since(args.since) if args.since else None,
            last=args.last,
        )
    finally:
        store.close()
    for row in rows:
        if args.json:
            sys.stdout.write(json.dumps(row.event, separators=(",", ":")) + "\n")
        else:
            sys.stdout.write(_line(row) + "\n")
    if not rows and not args.json:
        sys.stdout.write("No matching events.\n")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``events`` to the ``twitchwatch`` parser."""
    parser = sub.add_parser(
        "events",
        help="list past events from the local history",
        description="List events stored in the local history (oldest first).",
    )
    parser.add_argument(
        "--type", choices=[str(t) for t in EventType], help="only events of this type"
    )
    parser.add_argument("--channel", metavar="C", help="only events on this channel")
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--since", metavar="ISO", help="only events stored at or after this time (local time)"
    )
    when.add_argument("--last", type=_positive_int, metavar="N", help="only the N latest events")
    parser.add_argument("--json", action="store_true", help="print event-log JSON lines")
    parser.add_argument("--db", metavar="FILE", help="history database (default: [history] path)")
    parser.add_argument("--config", metavar="FILE", help="TOML config file (for [history] path)")
    parser.set_defaults(func=_events)
