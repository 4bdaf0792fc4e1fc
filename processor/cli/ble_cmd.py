"""``twitchwatch scan``, ``run`` and ``record``: live wearables (or emulated ones) end to end."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import devices
from devices.profile import DeviceProfile
from processor.cli.common import (
    StopOnSignals,
    add_output_options,
    build_sinks,
    find_console,
    load_app_config,
    run_stoppable,
    session_id_for,
)
from processor.config import AppConfig
from processor.errors import InputError
from processor.io.rawrec_write import RawRecordingWriter
from processor.model import RawNotification
from processor.runtime import RunFailedError, run_sources
from processor.sources.ble import BleBackends, port_backends
from processor.sources.collector import BleCentral, Found, WearableSource

_ADDRESS = re.compile(r"^([0-9A-F]{2}:){5}[0-9A-F]{2}$|^[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}$")
_WEARABLE = tuple[str, DeviceProfile, str | None]
DEMO_DURATION_S = 40.0
_END = object()


class RecordingTap:
    """``record``'s tap on the raw stream: a bounded queue drained by its own writer task."""

    def __init__(self, writer: RawRecordingWriter, maxsize: int) -> None:
        self._writer = writer
        self._queue: asyncio.Queue[object] = asyncio.Queue()  # bounded in _offer; _END fits
        self._maxsize = maxsize
        self.written = 0
        self.dropped = 0

    def on_note(self, note: RawNotification) -> None:
        """Queue one notification (dropped and counted if the writer falls behind)."""
        self._offer(note)

    def on_link_lost(self, t_ns: int, wearable: str) -> None:
        """Queue a link-loss mark, so a replay judges the gap as the live collector did."""
        self._offer((t_ns, wearable))

    def close(self) -> None:
        """End the writer task after what is queued."""
        self._queue.put_nowait(_END)

    def _offer(self, item: object) -> None:
        if self._queue.qsize() >= self._maxsize:
            self.dropped += 1
        else:
            self._queue.put_nowait(item)

    async def run(self) -> None:
        """Write queued items until :meth:`close`."""
        while (item := await self._queue.get()) is not _END:
            if isinstance(item, RawNotification):
                self._writer.write(item)
                self.written += 1
            elif isinstance(item, tuple):
                self._writer.write_link_lost(*item)


def _profile(key: str, option: str) -> DeviceProfile:
    try:
        return devices.get_profile(key)
    except KeyError as exc:
        raise InputError(f"{option} {key}: {exc.args[0]}") from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def _wearables(args: argparse.Namespace) -> list[_WEARABLE]:
    """(wearable id, profile, address) per requested wearable, validated."""
    devices_ = args.device or []
    emulate = args.emulate or []
    if bool(devices_) == bool(emulate):
        raise InputError(
            f"{args.command}: give --device PROFILE (a real band) or --emulate PROFILE"
        )
    addresses = [a.upper() for a in (args.address or [])]
    if len(addresses) > len(devices_):
        raise InputError("--address: give at most one --address per --device")
    for address in addresses:
        if not _ADDRESS.match(address):
            raise InputError(f"--address {address}: expected AA:BB:CC:DD:EE:FF (or a macOS UUID)")
    option = "--device" if devices_ else "--emulate"
    out: list[_WEARABLE] = []
    for i, key in enumerate(devices_ or emulate):
        profile = _profile(key, option)
        ids = [w for w, _, _ in out]
        wearable = key if key not in ids else f"{key}-{ids.count(key) + 1}"
        out.append((wearable, profile, addresses[i] if i < len(addresses) else None))
    return out


@contextlib.asynccontextmanager
async def _backends(
    emulate: list[str], *, quiet_bands: bool = False
) -> AsyncIterator[BleBackends | None]:
    """The platform backends, or bleak backends over a fresh emulated air with these bands."""
    if not emulate:
        yield None
        return
    from processor.sources.emulated.demo import emulated_session  # noqa: PLC0415 - Bumble

    profiles = [_profile(key, "--emulate") for key in emulate]
    async with emulated_session(profiles, builtin_signal=quiet_bands) as session:
        yield port_backends(session.air)


def _print_found(found: list[Found], *, show_all: bool) -> None:
    rows = [f for f in found if show_all or f.profile]
    if not rows:
        sys.stdout.write("no recognised wearable in range (try --timeout or --all)\n")
        return
    sys.stdout.write(f"{'ADDRESS':<36} {'NAME':<24} {'PROFILE':<20} {'RSSI':>5}\n")
    for f in sorted(rows, key=lambda f: -f.rssi):
        profile = f.profile or "-"
        sys.stdout.write(f"{f.address:<36} {f.name or '-':<24} {profile:<20} {f.rssi:>5}\n")


def _scan(args: argparse.Namespace) -> int:
    cfg = load_app_config(args)
    for key in args.emulate or []:
        _profile(key, "--emulate")

    async def main() -> list[Found]:
        # bands that only advertise need no demo signal (it costs seconds to synthesise)
        async with _backends(args.emulate or [], quiet_bands=True) as backends:
            return await BleCentral(cfg.ble, backends).scan(args.timeout)

    _print_found(asyncio.run(main()), show_all=args.all)
    return 0


async def _live(args: argparse.Namespace, cfg: AppConfig, wearables: list[_WEARABLE]) -> int:
    out = Path(args.out) if getattr(args, "out", None) else None
    session = session_id_for(args, "live")
    sinks = build_sinks(args, cfg, source=",".join(w for w, _, _ in wearables))
    console = find_console(sinks)
    async with AsyncExitStack() as stack:
        backends = await stack.enter_async_context(_backends(args.emulate or []))
        central = BleCentral(cfg.ble, backends)
        tap = None
        if out is not None:
            writer = stack.enter_context(RawRecordingWriter(out))
            tap = RecordingTap(writer, cfg.ble.queue_size)
            for wearable, profile, _ in wearables:
                writer.add_wearable(wearable, profile)
        sources: list[WearableSource] = [
            central.source(profile, wearable_id=wearable, address=address, raw_tap=tap)
            for wearable, profile, address in wearables
        ]

        async def stop_all() -> None:
            for source in sources:
                await source.stop()

        stoppers: set[asyncio.Task[None]] = set()

        def on_signal() -> None:
            stoppers.add(asyncio.get_running_loop().create_task(stop_all()))

        writing = asyncio.create_task(tap.run(), name="record") if tap is not None else None
        duration = args.duration or (DEMO_DURATION_S if args.emulate else None)
        timer = asyncio.create_task(_stop_after(duration, sources)) if duration else None
        failure: RunFailedError | None = None
        try:
            with StopOnSignals(on_signal) as signals:  # SIGINT/SIGTERM: the same clean stop
                try:
                    summary = await run_sources(
                        [(source.wearable_id, source) for source in sources],
                        cfg,
                        sinks,
                        session_id=session,
                        on_stream=None if console is None else console.note_stream,  # units
                    )
                except RunFailedError as exc:  # a bug: summary first, then its one line
                    summary, failure = exc.summary, exc
        finally:
            if timer is not None:
                timer.cancel()
            if tap is not None and writing is not None:
                tap.close()
                await writing  # everything queued reaches the file, also after an error
    summary.notes.append(signals.note)
    if console is not None:
        console.summary(summary)
    else:
        sys.stdout.write(summary.table() + "\n")
    for source in sources:
        s = source.stats()
        sys.stdout.write(
            f"{source.wearable_id}: {s['received']} notifications, dropped {s['dropped']}, "
            f"malformed {s['malformed']}, connects {s['connects']}, link losses "
            f"{s['link_losses']}, watchdog {s['watchdog_trips']}\n"
        )
    if tap is not None and out is not None:
        sys.stdout.write(f"recorded {tap.written} notifications to {out} (dropped {tap.dropped})\n")
    if failure is not None:
        raise failure
    return signals.exit_code


async def _stop_after(seconds: float, sources: list[WearableSource]) -> None:
    await asyncio.sleep(seconds)
    for source in sources:
        await source.stop()


def _run(args: argparse.Namespace) -> int:
    cfg = load_app_config(args)
    wearables = _wearables(args)
    out = getattr(args, "out", None)
    if out is not None and Path(out).suffix != ".twrec":
        raise InputError(f"--out {out}: a raw recording must end in .twrec (replay reads it)")
    return run_stoppable(_live(args, cfg, wearables))


def _add_wearable_options(parser: argparse.ArgumentParser) -> None:
    profiles = ", ".join(sorted(devices.REGISTRY))
    parser.add_argument(
        "--device", action="append", metavar="PROFILE", help=f"a real wearable: {profiles}"
    )
    parser.add_argument(
        "--address", action="append", metavar="ADDR", help="its BLE address (one per --device)"
    )
    parser.add_argument(
        "--emulate",
        action="append",
        metavar="PROFILE",
        help="an emulated wearable on an in-process GATT stack (no hardware needed)",
    )
    parser.add_argument(
        "--duration",
        type=_positive,
        metavar="S",
        help=f"stop after S seconds (default: Ctrl-C; {DEMO_DURATION_S:g} s with --emulate)",
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``scan``, ``run`` and ``record`` to the ``twitchwatch`` parser."""
    p = sub.add_parser(
        "scan",
        help="list nearby BLE wearables a device profile recognises",
        description="Listen for advertisements and list the wearables a device profile "
        "recognises: address, name, profile, RSSI.",
    )
    p.add_argument("--timeout", type=_positive, metavar="S", help="listen this long (default 5)")
    p.add_argument("--all", action="store_true", help="also list unrecognised advertisers")
    p.add_argument("--emulate", action="append", metavar="PROFILE", help="scan emulated bands")
    p.add_argument("--config", metavar="FILE", help="TOML config file (default: built-in)")
    p.set_defaults(func=_scan)

    p = sub.add_parser(
        "run",
        help="stream a wearable, detect and alert (or --emulate PROFILE for a demo)",
        description="Connect, stream, detect and alert; reconnects on its own; Ctrl-C stops "
        "cleanly. --emulate PROFILE runs the same live path against an emulated band.",
    )
    _add_wearable_options(p)
    add_output_options(p)
    p.set_defaults(func=_run)

    p = sub.add_parser(
        "record",
        help="like run, and write the raw stream to a .twrec file",
        description="Like run, and also append every notification's bytes with its arrival "
        "time to a .twrec recording (crash-tolerant) that `twitchwatch replay` reads back "
        "through the same decoders.",
    )
    _add_wearable_options(p)
    p.add_argument("--out", required=True, metavar="FILE", help="raw recording to write (.twrec)")
    add_output_options(p)
    p.set_defaults(func=_run)
