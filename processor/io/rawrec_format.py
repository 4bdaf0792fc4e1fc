r"""The ``.twrec`` raw recording format: constants and line encoding shared by writer and reader.

A ``.twrec`` file is UTF-8 JSON Lines; a line is a record only once its ``\\n`` is written, so
a file cut at any byte replays up to its last whole line (see ``docs/recording-format.md``):

* line 1, header: ``{"format":"twitchwatch-raw","version":1,"created":"<ISO 8601 UTC>",
  "created_ns":<ns since 1970>}``
* wearable declaration: ``{"wearable":"w0","profile":"myo","profile_version":1,
  "streams":{"emg":["d5060105-...", ...], ...}}`` (before the wearable's first notification)
* notification: ``{"t":<ns since created>,"w":"w0","s":"emg","x":"<payload hex>"}`` plus
  ``"c":<index>`` when the stream has several characteristics and it was not the first, or
  ``"u":"<uuid>"`` for a characteristic the profile does not list.
* link lost: ``{"t":<ns since created>,"w":"w0","link":"lost"}`` (the collector saw a disconnect)
"""

from __future__ import annotations

import json
from typing import Any

from devices import DeviceProfile
from processor.model import RawNotification

FORMAT_NAME = "twitchwatch-raw"
FORMAT_VERSION = 1
SUFFIX = ".twrec"
#: Every header starts with exactly these bytes (used to recognise a cut-short header).
HEADER_START = b'{"format":"twitchwatch-raw"'


def dumps(record: dict[str, Any]) -> bytes:
    """One compact JSON line (with its newline)."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"


def header_record(created_iso: str, created_ns: int) -> dict[str, Any]:
    """The header line's content (``format`` first, see :data:`HEADER_START`)."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "created": created_iso,
        "created_ns": created_ns,
    }


def wearable_record(wearable: str, profile: DeviceProfile) -> dict[str, Any]:
    """Declaration of one wearable: its profile, profile version and stream/characteristic map."""
    return {
        "wearable": wearable,
        "profile": profile.key,
        "profile_version": profile.version,
        "streams": {s.name: list(s.char_uuids) for s in profile.streams},
    }


def note_record(t_rel_ns: int, note: RawNotification, profile: DeviceProfile) -> dict[str, Any]:
    """A notification line; ``t_rel_ns`` is its arrival in ns since the header's creation."""
    record: dict[str, Any] = {"t": t_rel_ns, "w": note.wearable, "s": note.stream}
    if note.char_uuid:
        try:
            uuids = profile.stream(note.stream).char_uuids
        except KeyError:
            uuids = ()
        uuid = note.char_uuid.lower()
        if uuid not in uuids:
            record["u"] = uuid
        elif uuids.index(uuid) > 0:
            record["c"] = uuids.index(uuid)
    record["x"] = note.payload.hex()
    return record
