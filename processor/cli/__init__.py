"""The ``twitchwatch`` command line: one module per group of subcommands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from processor import __version__
from processor.cli import ble_cmd, config_cmd, devices_cmd, events_cmd, mqtt_cmd, replay_cmd
from processor.errors import ConfigError, InputError, ProcessorError

_GROUPS = (replay_cmd, events_cmd, config_cmd, devices_cmd, ble_cmd, mqtt_cmd)
EXIT_OK = 0
EXIT_USAGE = 2


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (no usage block), exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE (see PROG --help)`` and exit 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every subcommand has --help)."""
    parser = OneLineErrorParser(
        prog="twitchwatch",
        description="Detect muscle twitches and spasms from wearables and recordings.",
    )
    parser.add_argument("--version", action="version", version=f"twitchwatch {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in _GROUPS:
        group.register(sub)
    return parser


def _with_config_file(message: str, args: argparse.Namespace) -> str:
    """Name the config file in errors found only once the data's rates were known."""
    config = getattr(args, "config", None)
    source = str(config) if config else "built-in defaults"
    return message if message.startswith(source) else f"{source}: {message}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"twitchwatch: error: {_with_config_file(str(exc), args)}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE
    except InputError as exc:
        print(f"twitchwatch: error: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE
    except ProcessorError as exc:
        print(f"twitchwatch: error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `twitchwatch devices | head`: the reader went away; not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
