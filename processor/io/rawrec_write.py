"""Writing ``.twrec`` raw recordings: append-only, flushed regularly, fsync'd on close.

The writer is a tap on the :class:`~processor.model.RawNotification` stream: it stores the
bytes exactly as they arrived with their arrival times, so a replay runs through the same
decoders as the live stream. Opening an existing file appends to it: a torn last line left by a
crash is cut off first, and arrival times continue on the same clock (ns since the header's
creation, mapped through the wall clock so a new process lines up with the old one).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

import devices
from devices import DeviceProfile, ganglion, myo
from processor.errors import RecordingError
from processor.io import rawrec_format as fmt
from processor.io._closing import ClosesOnExit
from processor.model import RawNotification

_TAIL_BYTES = 1 << 16
_NS_PER_S = 1_000_000_000


class RawRecordingWriter(ClosesOnExit):
    """Appends raw notifications of one or more wearables to a ``.twrec`` file.

    Args:
        path: file to create, or to append to if it already is a raw recording.
        flush_interval_s: write buffered lines to the OS at least this often (in recording time).

    Raises:
        RecordingError: the existing file is not a raw recording, or cannot be opened.
    """

    def __init__(self, path: Path, *, flush_interval_s: float = 1.0) -> None:
        self._path = Path(path)
        self._flush_ns = round(flush_interval_s * _NS_PER_S)
        self._profiles: dict[str, DeviceProfile] = {}
        self._last_t = 0
        self._last_flush_t = 0
        self.records_written = 0
        mono_ns, wall_ns = time.monotonic_ns(), time.time_ns()
        try:
            exists = self._path.exists() and self._path.stat().st_size > 0
            if exists:
                created_ns = self._prepare_append()
                self._file: IO[bytes] = self._path.open("ab")
            else:
                created_ns = wall_ns
                self._file = self._path.open("wb")
                iso = dt.datetime.fromtimestamp(wall_ns / 1e9, tz=dt.UTC).isoformat()
                self._file.write(fmt.dumps(fmt.header_record(iso, created_ns)))
                self._file.flush()
        except OSError as exc:
            raise RecordingError(f"{self._path}: cannot write ({exc.strerror})") from exc
        # monotonic arrival t -> ns since creation: t - mono_ns + (wall_ns - created_ns)
        self._offset_ns = wall_ns - created_ns - mono_ns

    @property
    def path(self) -> Path:
        """The recording file."""
        return self._path

    def add_wearable(self, wearable: str, profile: DeviceProfile) -> None:
        """Declare a wearable before its first notification (idempotent).

        Raises:
            ValueError: ``wearable`` was declared with another profile.
        """
        known = self._profiles.get(wearable)
        if known is not None:
            if known.key != profile.key:
                raise ValueError(f"wearable {wearable!r} is already recorded as {known.key}")
            return
        self._profiles[wearable] = profile
        self._file.write(fmt.dumps(fmt.wearable_record(wearable, profile)))

    def write(self, note: RawNotification) -> None:
        """Append one notification (``note.t_ns`` on the ``time.monotonic_ns()`` clock).

        Raises:
            ValueError: the wearable was not declared with :meth:`add_wearable`.
        """
        self.write_at(note.t_ns + self._offset_ns, note)

    def write_at(self, t_rel_ns: int, note: RawNotification) -> None:
        """Append one notification at ``t_rel_ns`` ns since the recording's creation."""
        profile = self._profiles.get(note.wearable)
        if profile is None:
            raise ValueError(f"wearable {note.wearable!r} not declared with add_wearable()")
        t = max(t_rel_ns, self._last_t)
        self._last_t = t
        self._file.write(fmt.dumps(fmt.note_record(t, note, profile)))
        self.records_written += 1
        if t - self._last_flush_t >= self._flush_ns:
            self._file.flush()
            self._last_flush_t = t

    def write_link_lost(self, t_ns: int, wearable: str) -> None:
        """Mark that ``wearable``'s link dropped at ``t_ns`` (``time.monotonic_ns()`` clock).

        Replay then calls :meth:`FrameAssembler.link_lost` at this point, as the live collector
        does, so the gap after the reconnect is judged the same way.
        """
        if wearable not in self._profiles:
            raise ValueError(f"wearable {wearable!r} not declared with add_wearable()")
        t = max(t_ns + self._offset_ns, self._last_t)
        self._last_t = t
        self._file.write(fmt.dumps({"t": t, "w": wearable, "link": "lost"}))

    def flush(self) -> None:
        """Hand buffered lines to the OS."""
        self._file.flush()

    def close(self) -> None:
        """Flush and fsync, then close (safe to call twice)."""
        if self._file.closed:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def _prepare_append(self) -> int:
        """Check the header, cut a torn last line, re-learn wearables and the last time."""
        with self._path.open("r+b") as handle:
            first = handle.readline()
            header = _parse(first)
            if not first.endswith(b"\n") or header.get("format") != fmt.FORMAT_NAME:
                raise RecordingError(f"{self._path}: not a twitchwatch raw recording")
            created_ns = int(header.get("created_ns", 0))
            for line in handle:
                if not line.endswith(b"\n"):
                    break
                record = _parse(line)
                if "wearable" in record and "profile" in record:
                    key = str(record["profile"])
                    if key in devices.REGISTRY:
                        self._profiles[str(record["wearable"])] = devices.REGISTRY[key]
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - _TAIL_BYTES))
            tail = handle.read()
            cut = size - (len(tail) - (tail.rfind(b"\n") + 1))
            handle.truncate(cut)
            last_line = tail[: tail.rfind(b"\n")].rsplit(b"\n", 1)[-1]
            self._last_t = int(_parse(last_line).get("t", 0))
            self._last_flush_t = self._last_t
        return created_ns


def _parse(line: bytes) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def write_recording(
    path: Path, wearable: str, profile: DeviceProfile, notes: Iterable[RawNotification]
) -> int:
    """Write (or append) ``notes`` of one wearable (relabelled ``wearable``); returns the count.

    Their ``t_ns`` are taken as ns since the recording's start (no clock mapping).
    """
    with RawRecordingWriter(path) as writer:
        writer.add_wearable(wearable, profile)
        for note in notes:
            labelled = (
                note if note.wearable == wearable else dataclasses.replace(note, wearable=wearable)
            )
            writer.write_at(note.t_ns, labelled)
        return writer.records_written


def emg_notifications(
    profile_key: str,
    emg: NDArray[np.float64],
    *,
    wearable: str = "w0",
    start_ns: int = 0,
) -> list[RawNotification]:
    """The EMG notifications a ``myo`` or ``ganglion`` would send for ``emg``, at its nominal rate.

    Args:
        profile_key: ``myo`` (``emg`` in counts, shape (n, 8)) or ``ganglion`` (µV, (n, 4)).
        emg: the samples; an odd last sample is dropped (two samples per notification).
        wearable: wearable id put on the notifications.
        start_ns: time of the first sample; a packet arrives at its last sample's time.

    Returns:
        Notifications with ``t_ns`` = arrival time of each packet (its last sample's time).
    """
    if profile_key == "myo":
        payloads = myo.encode_emg(emg)
    elif profile_key == "ganglion":
        payloads = ganglion.encode_emg(emg)
    else:
        raise ValueError(f"no EMG encoder for profile {profile_key!r} (myo, ganglion)")
    spec = devices.get_profile(profile_key).stream("emg")
    notes = []
    for k, payload in enumerate(payloads):
        t_ns = start_ns + round((2 * k + 1) * _NS_PER_S / spec.fs_hz)
        uuid = spec.char_uuids[k % len(spec.char_uuids)]
        notes.append(RawNotification(t_ns, wearable, "emg", payload, uuid))
    return notes


def decoded_samples(profile_key: str, notes: Iterable[RawNotification]) -> NDArray[np.float64]:
    """What a replay of ``notes`` yields for their stream: each payload decoded, concatenated.

    Use it to write the same data to CSV/EDF as to a ``.twrec`` (device encoders quantise).

    Returns:
        shape (n_samples, n_channels), float64, in the stream's unit.
    """
    profile = devices.get_profile(profile_key)
    frames = [profile.stream(n.stream).decode(n.payload).samples for n in notes]
    if not frames:
        return np.zeros((0, 0))
    return np.concatenate(frames, axis=0)
