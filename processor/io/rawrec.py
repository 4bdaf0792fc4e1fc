"""Reading ``.twrec`` raw recordings: raw notifications -> decoders -> chunks and gaps.

``open_raw(path, cfg)`` returns a :class:`RawRecordingReader` (the ``RecordingReader``
protocol of ``processor.io.readers``): its ``items()`` streams the recording line by line
through the wearable's device profile (:class:`~processor.stages.assemble.FrameAssembler`), so
a replay exercises the same decoders and gap detection as a live session, with bounded memory.
A recording cut at any byte replays up to its last whole line. See ``docs/recording-format.md``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import devices
from devices import DeviceProfile
from processor.config.io import ReplayConfig
from processor.errors import RecordingError
from processor.io import rawrec_format as fmt
from processor.io._closing import ClosesOnExit
from processor.model import Chunk, Gap, JsonValue, RawNotification
from processor.stages.assemble import DEFAULT_SILENCE_MS, FrameAssembler
from processor.stages.coalesce import ChunkCoalescer

_LOGGER = logging.getLogger(__name__)
_TAIL_BYTES = 1 << 16
_NS_PER_S = 1e9
_DECLARATION_START = b'{"wearable":'


class RawRecordingReader(ClosesOnExit):
    """One wearable of a ``.twrec`` recording, replayed as chunks and gaps.

    Attributes:
        path: the recording.
        wearables: ids of the wearables declared in the file, in order.
        wearable: the wearable this reader replays.
        profile: its device profile (None for a recording cut before any declaration).
        duration_s: arrival time of the last whole notification minus the first, seconds.
    """

    def __init__(self, path: Path, cfg: ReplayConfig, wearable: str | None = None) -> None:
        self.path = Path(path)
        self._cfg = cfg
        self._closed = False
        self._stats: dict[str, JsonValue] = {}
        self._assembler: FrameAssembler | None = None
        self._uuids: dict[tuple[str, str], tuple[str, ...]] = {}
        declared = dict(self._declarations())
        self._profiles = declared
        self.wearables: tuple[str, ...] = tuple(declared)
        if wearable is not None and wearable not in declared:
            known = ", ".join(self.wearables) or "none"
            raise RecordingError(f"{self.path}: no wearable {wearable!r} (recorded: {known})")
        self.wearable = wearable if wearable is not None else next(iter(declared), "")
        self.profile: DeviceProfile | None = declared.get(self.wearable)
        self.duration_s: float | None = self._duration()

    def items(self) -> Iterator[Chunk | Gap]:
        """Chunks and gaps of the chosen wearable's streams, in arrival order.

        Raises:
            RecordingError: a whole line that is not a valid record (names file and line).
        """
        profile = self.profile
        if profile is None:
            return
        silence_ms = self._cfg.max_gap_ms or DEFAULT_SILENCE_MS
        coalescer = ChunkCoalescer(self._cfg.chunk_ms / 1000.0)
        assembler: FrameAssembler | None = None
        for note in self._events():
            if isinstance(note, str):
                if assembler is not None and note == self.wearable:
                    assembler.link_lost()
                continue
            if assembler is None:  # t0 = the session's first notification, any wearable
                assembler = FrameAssembler(
                    profile, wearable=self.wearable, t0_ns=note.t_ns, silence_ms=silence_ms
                )
                self._assembler = assembler
            if note.wearable != self.wearable:
                continue
            for item in assembler.push(note):
                yield from coalescer.process(item)
        yield from coalescer.flush()
        if assembler is not None:
            self._stats = assembler.stats()
            malformed = self._stats.get("malformed")
            if malformed:
                _LOGGER.warning("%s: %s malformed notifications dropped", self.path, malformed)

    def notifications(self) -> Iterator[RawNotification]:
        """Every whole notification record of every wearable, in file order.

        ``t_ns`` is the arrival time in ns since the recording's creation.
        """
        for event in self._events():
            if isinstance(event, RawNotification):
                yield event

    def _events(self) -> Iterator[RawNotification | str]:
        """Notifications, and the wearable id of each ``link`` (link lost) record."""
        for line_no, record in self._records():
            if "x" in record:
                yield self._notification(line_no, record)
            elif "link" in record:
                yield str(record.get("w", ""))

    def stats(self) -> dict[str, JsonValue]:
        """Assembler counters of the last :meth:`items` run (malformed, gaps, ... per stream)."""
        if self._assembler is not None:
            return self._assembler.stats()
        return dict(self._stats)

    def close(self) -> None:
        """Nothing stays open between calls; kept for the RecordingReader protocol."""
        self._closed = True

    def _records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Whole lines after the header, parsed; a torn last line is ignored."""
        for line_no, line in self._lines():
            yield line_no, self._parse(line_no, line)

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        """Whole lines after the header, raw; a torn last line is ignored."""
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise RecordingError(f"{self.path}: cannot read ({exc.strerror})") from exc
        with handle:
            first = handle.readline()
            if not first.endswith(b"\n"):
                self._check_partial_header(first)
                return
            self._check_header(first)
            for line_no, line in enumerate(handle, start=2):
                if not line.endswith(b"\n"):
                    return
                yield line_no, line

    def _declarations(self) -> Iterator[tuple[str, DeviceProfile]]:
        """Wearable declarations; only their lines are parsed, so opening a long file is fast."""
        for line_no, line in self._lines():
            if line.startswith(_DECLARATION_START):
                record = self._parse(line_no, line)
                yield str(record["wearable"]), self._profile_of(line_no, record)

    def _profile_of(self, line_no: int, record: dict[str, Any]) -> DeviceProfile:
        key = record.get("profile")
        where = f"{self.path}: line {line_no}"
        if not isinstance(key, str) or key not in devices.REGISTRY:
            known = ", ".join(sorted(devices.REGISTRY))
            raise RecordingError(f"{where}: unknown device profile {key!r} (known: {known})")
        profile = devices.REGISTRY[key]
        version = record.get("profile_version")
        if not isinstance(version, int) or version > profile.version:
            raise RecordingError(
                f"{where}: {key} profile version {version!r} is newer than this build's "
                f"{profile.version}; upgrade twitchwatch"
            )
        return profile

    def _notification(self, line_no: int, record: dict[str, Any]) -> RawNotification:
        t, wearable, stream, payload = (
            record.get("t"),
            record.get("w"),
            record.get("s"),
            record["x"],
        )
        if not isinstance(t, int) or not isinstance(wearable, str) or not isinstance(stream, str):
            raise RecordingError(
                f"{self.path}: line {line_no}: notification needs integer 't', string 'w' and 's'"
            )
        try:
            data = bytes.fromhex(payload) if isinstance(payload, str) else None
        except ValueError:
            data = None
        if data is None:
            raise RecordingError(f"{self.path}: line {line_no}: 'x' is not a hex payload")
        uuid = record.get("u", "")
        if not uuid:
            uuids = self._uuids.get((wearable, stream))
            if uuids is None:
                uuids = self._stream_uuids(line_no, wearable, stream)
            index = record.get("c", 0)
            uuid = uuids[index] if isinstance(index, int) and 0 <= index < len(uuids) else ""
        return RawNotification(t, wearable, stream, data, str(uuid))

    def _stream_uuids(self, line_no: int, wearable: str, stream: str) -> tuple[str, ...]:
        profile = self._profiles.get(wearable)
        if profile is None:
            raise RecordingError(
                f"{self.path}: line {line_no}: wearable {wearable!r} is not declared in the file"
            )
        try:
            uuids = profile.stream(stream).char_uuids
        except KeyError:
            uuids = ()
        self._uuids[wearable, stream] = uuids
        return uuids

    def _parse(self, line_no: int, line: bytes) -> dict[str, Any]:
        try:
            value = json.loads(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise RecordingError(f"{self.path}: line {line_no}: not a JSON record") from None
        if not isinstance(value, dict):
            raise RecordingError(f"{self.path}: line {line_no}: not a JSON object")
        return value

    def _check_header(self, first: bytes) -> None:
        try:
            header = json.loads(first)
        except (ValueError, UnicodeDecodeError):
            header = None
        if not isinstance(header, dict) or header.get("format") != fmt.FORMAT_NAME:
            raise RecordingError(f"{self.path}: line 1: not a twitchwatch raw recording header")
        version = header.get("version")
        if version != fmt.FORMAT_VERSION:
            raise RecordingError(
                f"{self.path}: line 1: raw format version {version!r} is not supported "
                f"(this build reads version {fmt.FORMAT_VERSION})"
            )

    def _check_partial_header(self, first: bytes) -> None:
        """A file cut inside its header is an empty recording; anything else is not ours."""
        n = min(len(first), len(fmt.HEADER_START))
        if first[:n] != fmt.HEADER_START[:n]:
            raise RecordingError(f"{self.path}: line 1: not a twitchwatch raw recording header")

    def _duration(self) -> float | None:
        first_t = next((n.t_ns for n in self.notifications()), None)
        if first_t is None:
            return 0.0
        with self.path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - _TAIL_BYTES))
            tail = handle.read()
        lines = tail[: tail.rfind(b"\n") + 1].splitlines()
        for line in reversed(lines):
            try:
                record = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(record, dict) and isinstance(record.get("t"), int):
                last_t: int = record["t"]
                return max(0.0, (last_t - first_t) / _NS_PER_S)
        return None


def open_raw(path: Path, cfg: ReplayConfig, *, wearable: str | None = None) -> RawRecordingReader:
    """Open a ``.twrec`` raw recording for replay.

    Args:
        path: the recording.
        cfg: replay settings (``chunk_ms`` = merged chunk length; ``max_gap_ms`` > 0 overrides
            the arrival-silence threshold of streams without counter or device clock).
        wearable: which wearable to replay; None: the first one declared in the file.

    Raises:
        RecordingError: missing file, bad header, unknown profile, unknown wearable.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    return RawRecordingReader(path, cfg, wearable)
