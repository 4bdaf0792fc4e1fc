"""Raw BLE notifications of one wearable -> sample chunks and gaps, through its device profile.

:class:`FrameAssembler` is what both the live BLE collector and the raw-recording replay use:
decode each notification with the profile, give every sample an absolute index, and put a
:class:`~processor.model.Gap` wherever samples went missing (packet counter, device clock or
arrival timing, see :mod:`processor.stages.clock`). Malformed notifications are counted and
dropped, never fatal. Each notification is handled on its own, so the items are the same
whether notifications come one at a time or in batches.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from devices import DecodeError, DerivedStream, DeviceProfile, Frame, StreamSpec
from processor.model import Chunk, FloatArray, Gap, JsonValue, RawNotification, StreamInfo
from processor.stages.clock import NS_PER_S, ArrivalClock, CounterClock, DeviceClock, Loss

_LOGGER = logging.getLogger(__name__)
DEFAULT_SILENCE_MS = 250.0

Item = Chunk | Gap


@dataclass(slots=True)
class _Derived:
    spec: DerivedStream
    info: StreamInfo | None = None
    next_index: int = 0
    first_source_slot: int = 0
    latest: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Stream:
    spec: StreamSpec
    clock: ArrivalClock | CounterClock | DeviceClock
    derived: list[_Derived]
    info: StreamInfo | None = None
    next_index: int = 0
    frames: int = 0
    malformed: int = 0
    duplicates: int = 0
    gaps: int = 0
    missing: int = 0


class FrameAssembler:
    """Turns the raw notifications of one wearable into chunks and gaps.

    Args:
        profile: the wearable's device profile.
        wearable: opaque wearable id (for logs and stats only).
        t0_ns: session start on the notifications' clock; ``StreamInfo.t0_s`` is measured from
            it. None: the first notification pushed.
        silence_ms: a stream without counter or usable device clock is only declared lossy after
            a silence longer than this (ms); shorter stalls are BLE jitter.

    Examples:
        >>> from devices import REGISTRY, myo
        >>> asm = FrameAssembler(REGISTRY["myo"])
        >>> note = RawNotification(0, "w", "emg", bytes(16), myo.EMG_DATA_UUIDS[0])
        >>> [type(i).__name__ for i in asm.push(note)]
        ['Chunk']
    """

    def __init__(
        self,
        profile: DeviceProfile,
        *,
        wearable: str = "",
        t0_ns: int | None = None,
        silence_ms: float = DEFAULT_SILENCE_MS,
    ) -> None:
        self._profile = profile
        self._wearable = wearable
        self._initial_t0_ns = t0_ns
        self._silence_ns = round(silence_ms * 1e6)
        self._t0_ns = t0_ns
        self._streams: dict[str, _Stream] = {}
        self._by_name = {spec.name: spec for spec in profile.streams}
        self._unrouted = 0
        self._link_losses = 0
        self._battery_pct: int | None = None
        self._last_error = ""

    @property
    def profile(self) -> DeviceProfile:
        """The device profile notifications are decoded with."""
        return self._profile

    @property
    def battery_pct(self) -> int | None:
        """Latest battery level reported by the wearable, percent (None: none yet)."""
        return self._battery_pct

    @property
    def last_error(self) -> str:
        """The most recent decode error message ("" if none)."""
        return self._last_error

    def push(self, note: RawNotification) -> list[Item]:
        """Decode one notification; returns the gap (if any) and chunks it completes."""
        if self._t0_ns is None:
            self._t0_ns = note.t_ns
        spec = self._route(note)
        if spec is None:
            self._unrouted += 1
            self._last_error = (
                f"{self._profile.key}: notification for unknown stream {note.stream!r}"
            )
            return []
        state = self._state(spec)
        try:
            frame = spec.decode(note.payload)
        except DecodeError as exc:
            state.malformed += 1
            self._last_error = f"{self._profile.key}/{spec.name}: {exc}"
            _LOGGER.debug("%s: dropped malformed notification: %s", self._wearable, exc)
            return []
        if not spec.regular:
            if frame.samples.size:
                self._battery_pct = round(float(frame.samples[-1, 0]))
            return []
        return self._accept(state, frame, note.t_ns)

    def link_lost(self) -> None:
        """The BLE link dropped (call on disconnect, or replay a ``link`` record).

        The next frame of every stream is then judged by arrival time even if the outage was
        shorter than ``silence_ms``, and a packet counter that restarts after the reconnect
        (Ganglion) is not trusted across it.
        """
        for state in self._streams.values():
            state.clock.interrupt()
        self._link_losses += 1

    def push_many(self, notes: Iterable[RawNotification]) -> list[Item]:
        """:meth:`push` over several notifications, items concatenated in order."""
        items: list[Item] = []
        for note in notes:
            items.extend(self.push(note))
        return items

    def flush(self) -> list[Item]:
        """End of stream: nothing is held back, so there is nothing to emit."""
        return []

    def reset(self) -> None:
        """Forget every stream (a new session)."""
        self._t0_ns = self._initial_t0_ns
        self._streams.clear()
        self._unrouted = 0
        self._link_losses = 0
        self._battery_pct = None
        self._last_error = ""

    def stats(self) -> dict[str, JsonValue]:
        """Counters per stream: frames, samples, gaps, missing samples, malformed, duplicates."""
        streams: dict[str, JsonValue] = {}
        for name, s in self._streams.items():
            streams[name] = {
                "frames": s.frames,
                "samples": s.next_index - s.missing,
                "gaps": s.gaps,
                "missing_samples": s.missing,
                "malformed": s.malformed,
                "duplicates": s.duplicates,
            }
        return {
            "profile": self._profile.key,
            "streams": streams,
            "malformed": sum(s.malformed for s in self._streams.values()),
            "unrouted": self._unrouted,
            "link_losses": self._link_losses,
            "battery_pct": self._battery_pct,
        }

    def _route(self, note: RawNotification) -> StreamSpec | None:
        named = self._by_name.get(note.stream)
        if named is not None and (named.accepts is None or named.accepts(note.payload)):
            return named
        uuid = note.char_uuid or (named.char_uuids[0] if named is not None else "")
        return self._profile.stream_for(uuid, note.payload) if uuid else None

    def _state(self, spec: StreamSpec) -> _Stream:
        state = self._streams.get(spec.name)
        if state is None:
            clock: ArrivalClock | CounterClock | DeviceClock
            if spec.seq_modulus is not None:
                clock = CounterClock(spec.fs_hz, spec.seq_modulus, spec.seq_step)
            elif spec.has_device_time:
                clock = DeviceClock(spec.fs_hz, self._silence_ns)
            else:
                clock = ArrivalClock(spec.fs_hz, self._silence_ns)
            state = _Stream(spec, clock, [_Derived(d) for d in spec.derived])
            self._streams[spec.name] = state
        return state

    def _accept(self, state: _Stream, frame: Frame, t_ns: int) -> list[Item]:
        samples = np.asarray(frame.samples, dtype=np.float64)
        n = int(samples.shape[0])
        spec = state.spec
        if n == 0:
            return []
        if samples.ndim != 2 or samples.shape[1] != len(spec.channels):  # noqa: PLR2004
            state.malformed += 1
            self._last_error = f"{self._profile.key}/{spec.name}: decoded shape {samples.shape}"
            return []
        loss = self._loss(state, frame, t_ns, n)
        if loss.duplicate:
            state.duplicates += 1
            return []
        state.frames += 1
        items: list[Item] = []
        if state.info is None:
            t0_ns = self._t0_ns if self._t0_ns is not None else t_ns
            t0_s = max(0.0, (t_ns - t0_ns) / NS_PER_S - (n - 1) / spec.fs_hz)
            state.info = StreamInfo(spec.name, spec.fs_hz, spec.channels, spec.unit, t0_s)
        elif loss.n_missing > 0:
            items.append(Gap(spec.name, state.next_index, loss.n_missing, loss.reason))
            state.gaps += 1
            state.missing += loss.n_missing
            state.next_index += loss.n_missing
            for derived in state.derived:
                items.extend(self._derived_gap(state, derived, loss))
        start = state.next_index
        items.append(Chunk(state.info, start, samples))
        state.next_index += n
        for derived in state.derived:
            items.extend(self._derived_items(state, derived, frame, samples, start))
        return items

    def _loss(self, state: _Stream, frame: Frame, t_ns: int, n: int) -> Loss:
        clock = state.clock
        if isinstance(clock, CounterClock):
            if frame.seq is None:
                return Loss(0)
            return clock.observe(t_ns, frame.seq, n)
        if isinstance(clock, DeviceClock):
            if frame.device_time_ns is None:
                return Loss(0)
            return clock.observe(t_ns, frame.device_time_ns, n)
        return clock.observe(t_ns, n)

    def _derived_gap(self, state: _Stream, derived: _Derived, loss: Loss) -> list[Item]:
        derived.latest.clear()
        if derived.info is None or derived.spec.columns == ():
            return []  # aux streams find their holes from the source index when they emit
        gap = Gap(derived.spec.name, derived.next_index, loss.n_missing, loss.reason)
        derived.next_index += loss.n_missing
        return [gap]

    def _derived_items(
        self, state: _Stream, derived: _Derived, frame: Frame, samples: FloatArray, start: int
    ) -> list[Item]:
        spec = derived.spec
        assert state.info is not None  # noqa: S101 - set before any chunk
        if spec.columns:
            if derived.info is None:
                derived.info = StreamInfo(
                    spec.name, state.info.fs_hz, spec.channels, spec.unit, state.info.t0_s
                )
                derived.next_index = start
            chunk = Chunk(derived.info, derived.next_index, samples[:, list(spec.columns)].copy())
            derived.next_index += samples.shape[0]
            return [chunk]
        derived.latest.update(frame.aux)
        if spec.aux_emit_on not in dict(frame.aux) or set(spec.channels) - derived.latest.keys():
            return []
        slot = (start + samples.shape[0] - 1) // spec.source_samples_per_sample
        if derived.info is None:
            fs = state.info.fs_hz / spec.source_samples_per_sample
            t0 = state.info.t0_s + slot * spec.source_samples_per_sample / state.info.fs_hz
            derived.info = StreamInfo(spec.name, fs, spec.channels, spec.unit, t0)
            derived.first_source_slot = slot
        index = slot - derived.first_source_slot
        if index < derived.next_index:
            return []
        items: list[Item] = []
        if index > derived.next_index:
            missing = index - derived.next_index
            items.append(Gap(spec.name, derived.next_index, missing, "source stream gap"))
        row = np.array([[derived.latest[c] for c in spec.channels]], dtype=np.float64)
        items.append(Chunk(derived.info, index, row))
        derived.next_index = index + 1
        return items
