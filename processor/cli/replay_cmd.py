"""Placeholder for the replay subcommand(s); replaced by the issue that owns them."""

from __future__ import annotations

import argparse

from processor.errors import InputError


def _not_yet(args: argparse.Namespace) -> int:
    raise InputError(f"{args.command}: not available in this build yet")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommands of this group to the ``twitchwatch`` parser."""
    p = sub.add_parser("replay", help="(not available yet)")
    p.set_defaults(func=_not_yet)
