"""``twitchwatch devices`` (list device profiles) and ``twitchwatch decode`` (decode payloads)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

import devices
from devices import DecodeError, DeviceProfile, Frame
from processor.errors import InputError

EXIT_DECODE_FAILED = 2
_HEX_SEPARATORS = str.maketrans("", "", " :-_\t")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``devices`` and ``decode`` to the ``twitchwatch`` parser."""
    p = sub.add_parser(
        "devices",
        help="list device profiles, their streams, rates, channels and units",
        description="List the supported wearables (device profiles) and what they stream.",
    )
    p.add_argument("--json", action="store_true", help="print the profiles as one JSON document")
    p.set_defaults(func=run_devices)
    p = sub.add_parser(
        "decode",
        help="decode raw notification payloads with a device profile",
        description=(
            "Decode raw BLE notifications (hex) with a device profile: one JSON object per "
            "payload with stream, samples (in the units `twitchwatch devices` lists), seq and "
            "device_time_ns. Exit code 2 if any payload does not decode."
        ),
    )
    p.add_argument("--device", required=True, metavar="PROFILE", help="profile key, e.g. myo")
    p.add_argument("--stream", required=True, metavar="NAME", help="stream name, e.g. emg")
    p.add_argument("payloads", nargs="+", metavar="HEX", help="payload bytes in hex")
    p.set_defaults(func=run_decode)


def run_devices(args: argparse.Namespace) -> int:
    """Print every profile (text table or JSON)."""
    described = [describe(p) for p in devices.REGISTRY.values()]
    if args.json:
        print(json.dumps(described, indent=2))  # noqa: T201
        return 0
    for info in described:
        print(f"{info['key']}: {info['title']}")  # noqa: T201
        for s in info["streams"]:
            channels = ", ".join(s["channels"])
            origin = f" (from {s['derived_from']})" if s.get("derived_from") else ""
            rate = f"{s['fs_hz']:>6.4g} Hz" if s.get("regular", True) else "sporadic "
            print(f"  {s['name']:<8} {rate}  {s['unit']:<7} {channels}{origin}")  # noqa: T201
        for note in info["notes"]:
            print(f"  - {note}")  # noqa: T201
    return 0


def describe(profile: DeviceProfile) -> dict[str, Any]:
    """A JSON-able description of a profile (what ``twitchwatch devices --json`` prints)."""
    streams: list[dict[str, Any]] = []
    for spec in profile.streams:
        streams.append(
            {
                "name": spec.name,
                "fs_hz": spec.fs_hz,
                "channels": list(spec.channels),
                "unit": spec.unit,
                "characteristics": list(spec.char_uuids),
                "sequence_counter_modulus": spec.seq_modulus,
                "device_time": spec.has_device_time,
                "regular": spec.regular,
            }
        )
        streams.extend(
            {
                "name": d.name,
                "fs_hz": spec.fs_hz / d.source_samples_per_sample,
                "channels": list(d.channels),
                "unit": d.unit,
                "derived_from": spec.name,
            }
            for d in spec.derived
        )
    return {
        "key": profile.key,
        "version": profile.version,
        "title": profile.title,
        "streams": streams,
        "init_writes": [w.data.hex(" ") for w in profile.init_writes],
        "stop_writes": [w.data.hex(" ") for w in profile.stop_writes],
        "min_mtu": profile.min_mtu,
        "notes": list(profile.notes),
    }


def run_decode(args: argparse.Namespace) -> int:
    """Decode each HEX payload; one JSON line each; 2 if any failed."""
    name, decode = decoder_for(args.device, args.stream)
    failed = False
    for text in args.payloads:
        line = decode_hex(name, decode, text)
        failed = failed or "error" in line
        print(json.dumps(line))  # noqa: T201
    sys.stdout.flush()
    return EXIT_DECODE_FAILED if failed else 0


def decoder_for(profile_key: str, stream: str) -> tuple[str, Callable[[bytes], Frame]]:
    """The decode function of ``profile_key``/``stream`` (also column-derived streams).

    Raises:
        InputError: unknown profile or stream (one line naming the choices).
    """
    try:
        profile = devices.get_profile(profile_key)
    except KeyError as exc:
        raise InputError(f"--device: {exc.args[0]}") from None
    for spec in profile.streams:
        if spec.name == stream:
            return spec.name, spec.decode
        for d in spec.derived:
            if d.name == stream and d.columns:
                return d.name, _columns(spec.decode, d.columns)
    choices = [s.name for s in profile.streams]
    choices += [d.name for s in profile.streams for d in s.derived if d.columns]
    raise InputError(
        f"--stream: {profile.key} has no stream {stream!r} (streams: {', '.join(choices)})"
    )


def _columns(
    decode: Callable[[bytes], Frame], columns: tuple[int, ...]
) -> Callable[[bytes], Frame]:
    def pick(payload: bytes) -> Frame:
        frame = decode(payload)
        return Frame(frame.samples[:, list(columns)], frame.seq, frame.device_time_ns)

    return pick


def decode_hex(stream: str, decode: Callable[[bytes], Frame], text: str) -> dict[str, Any]:
    """One output line (interfaces.md section 4) for one hex payload."""
    try:
        payload = bytes.fromhex(text.translate(_HEX_SEPARATORS))
    except ValueError:
        return {"error": f"{text!r} is not hex"}
    try:
        frame = decode(payload)
    except DecodeError as exc:
        return {"error": str(exc)}
    samples = np.asarray(frame.samples, dtype=np.float64)
    return {
        "stream": stream,
        "samples": [[_number(v) for v in row] for row in samples.tolist()],
        "seq": frame.seq,
        "device_time_ns": frame.device_time_ns,
    }


def _number(value: float) -> float | int:
    """Integral values print as integers (counts, mG-derived), others as floats."""
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value
