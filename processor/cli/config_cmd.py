"""``twitchwatch config check FILE`` and ``twitchwatch config show``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from processor.config import AppConfig, load_config
from processor.config.render import render_values


def _check(args: argparse.Namespace) -> int:
    load_config(Path(args.file))
    sys.stdout.write(f"{args.file}: OK\n")
    return 0


def _show(args: argparse.Namespace) -> int:
    cfg = load_config(Path(args.config) if args.config else None)
    header = "# effective twitchwatch configuration" + (f" ({args.config})" if args.config else "")
    sys.stdout.write(render_values(AppConfig, cfg, header))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``config check`` and ``config show`` to the ``twitchwatch`` parser."""
    parser = sub.add_parser("config", help="check or show a configuration file")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check", help="validate a TOML config file (unknown keys, types, ranges)"
    )
    check.add_argument("file", metavar="FILE")
    check.set_defaults(func=_check)
    show = actions.add_parser("show", help="print the effective configuration as TOML")
    show.add_argument("--config", metavar="FILE", help="TOML config file (default: built-in)")
    show.set_defaults(func=_show)
