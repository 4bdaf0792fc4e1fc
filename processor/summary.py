"""What a run did: samples, gaps, events per class and channel, drops, speed (and its table)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from processor.model import TWITCH_TYPES, Chunk, Event, EventType, Gap, JsonValue, StreamInfo

MAX_GAPS_KEPT = 100
_CLASSES = (EventType.FASCICULATION, EventType.FIBRILLATION, EventType.SPASM)


@dataclass(frozen=True, slots=True)
class GapNote:
    """One reported gap, with its start in recording seconds."""

    wearable: str
    stream: str
    start_s: float
    n_missing: int
    reason: str


@dataclass(slots=True)
class StreamTally:
    """Counters of one stream of one wearable."""

    info: StreamInfo
    samples: int = 0
    end_s: float = 0.0
    gaps: int = 0
    missing: int = 0


@dataclass(slots=True)
class RunSummary:
    """Everything a run reports at the end (``table()`` renders it for people).

    Attributes:
        streams: per ``wearable:stream`` (just ``stream`` for the unnamed replay wearable).
        events: event count per type per channel (``wearable/channel`` for a named wearable); a
            spasm counts once although emitted twice.
            ``signal_quality`` events are kept here too but tabled apart (their channel may be
            a stream name such as ``emg``, not an EMG channel).
        dropped: events/status updates a sink's full queue had to drop, per sink.
        sink_errors: failed deliveries per sink.
        pipeline_note: empty when the detection pipeline ran, else why no events were detected.
        pipeline_stats: the pipeline's own counters, per wearable.
        failures: per wearable, why its processing stopped early (the others went on).
        output_failures: outputs that failed while closing (e.g. undelivered MQTT alerts).
        notes: lines the command adds (which wearables were replayed, an interruption).
    """

    session_id: str
    streams: dict[str, StreamTally] = field(default_factory=dict)
    gaps: list[GapNote] = field(default_factory=list)
    events: dict[str, dict[str, int]] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    sink_errors: dict[str, int] = field(default_factory=dict)
    status_updates: int = 0
    wall_s: float = 0.0
    pipeline_note: str = ""
    pipeline_stats: dict[str, Mapping[str, JsonValue]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    output_failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _spasm_ids: set[str] = field(default_factory=set)

    @property
    def duration_s(self) -> float:
        """Recording time covered: the end of the longest stream, in seconds."""
        return max((s.end_s for s in self.streams.values()), default=0.0)

    @property
    def samples(self) -> dict[str, int]:
        """Samples (per channel) read per stream."""
        return {key: s.samples for key, s in self.streams.items()}

    @property
    def channel_samples(self) -> int:
        """Samples times channels over every stream (the unit of throughput)."""
        return sum(s.samples * len(s.info.channels) for s in self.streams.values())

    @property
    def throughput_sps(self) -> float:
        """Channel-samples processed per second of wall time."""
        return self.channel_samples / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def gap_count(self) -> int:
        """Number of gaps over every stream (``gaps`` keeps the first ``MAX_GAPS_KEPT``)."""
        return sum(s.gaps for s in self.streams.values())

    def count_item(self, wearable: str, item: Chunk | Gap) -> None:
        """Account for one source item."""
        if isinstance(item, Chunk):
            key = f"{wearable}:{item.stream.name}" if wearable else item.stream.name
            tally = self.streams.get(key)
            if tally is None or tally.info != item.stream:
                previous = tally.samples if tally else 0
                tally = self.streams[key] = StreamTally(item.stream, samples=previous)
            tally.samples += item.data.shape[0]  # only samples read, never a gap's missing ones
            tally.end_s = max(tally.end_s, item.stream.time_s(item.end_index))
            return
        key = f"{wearable}:{item.stream}" if wearable else item.stream
        tally = self.streams.get(key)
        if tally is None:
            return
        tally.gaps += 1
        tally.missing += item.n_missing
        if len(self.gaps) < MAX_GAPS_KEPT:
            start_s = tally.info.time_s(item.start_index)
            self.gaps.append(GapNote(wearable, item.stream, start_s, item.n_missing, item.reason))

    def count_event(self, event: Event) -> None:
        """Account for one emitted event (a spasm's second line is not counted again)."""
        if event.type is EventType.SPASM:
            if event.event_id in self._spasm_ids:
                return
            self._spasm_ids.add(event.event_id)
        per_channel = self.events.setdefault(str(event.type), {})
        channel = f"{event.wearable}/{event.channel}" if event.wearable else event.channel
        per_channel[channel] = per_channel.get(channel, 0) + 1

    def twitch_count(self) -> int:
        """Fasciculations plus fibrillations."""
        return sum(sum(self.events.get(str(t), {}).values()) for t in TWITCH_TYPES)

    def table(self) -> str:
        """A plain-text summary for the console."""
        lines = [f"Summary of session {self.session_id}"]
        lines.append(f"  recording  {self.duration_s:.3f} s")
        for key, s in self.streams.items():
            lines.append(
                f"  stream     {key}: {len(s.info.channels)} ch @ {s.info.fs_hz:g} Hz, "
                f"{s.samples} samples, {s.gaps} gaps ({s.missing} samples missing)"
            )
        lines.extend(
            f"  gap        {g.stream} at {g.start_s:.3f} s: {g.n_missing} missing ({g.reason})"
            for g in self.gaps[:10]
        )
        if self.gap_count > min(len(self.gaps), 10):
            lines.append(f"  ...        {self.gap_count} gaps in all")
        lines.extend(self._event_rows())
        if quality := self.events.get(str(EventType.SIGNAL_QUALITY)):
            per = ", ".join(f"{channel} {count}" for channel, count in quality.items())
            lines.append(f"  quality    {sum(quality.values())} signal_quality events ({per})")
        speed = self.duration_s / self.wall_s if self.wall_s > 0 else 0.0
        lines.append(
            f"  speed      {self.throughput_sps:,.0f} channel-samples/s, {self.wall_s:.2f} s wall "
            f"({speed:,.1f}x real time)"
        )
        for name, count in self.dropped.items():
            if count:
                lines.append(f"  dropped    {count} items for sink {name} (queue full)")
        for name, count in self.sink_errors.items():
            if count:
                lines.append(f"  failed     {count} deliveries to sink {name}")
        for wearable, why in self.failures.items():
            lines.append(f"  FAILED     processing of {wearable or 'the recording'}: {why}")
        lines.extend(f"  FAILED     {why}" for why in self.output_failures)
        lines.extend(f"  NOTE       {note}" for note in [self.pipeline_note, *self.notes] if note)
        return "\n".join(lines)

    def _event_rows(self) -> list[str]:
        tabled = {t: per for t, per in self.events.items() if t != EventType.SIGNAL_QUALITY}
        channels = [
            f"{key.rpartition(':')[0]}/{c}" if ":" in key else c
            for key, s in self.streams.items()
            if s.info.name == "emg"
            for c in s.info.channels
        ]
        channels += sorted({c for per in tabled.values() for c in per} - set(channels))
        channels = list(dict.fromkeys(channels))
        types = [str(t) for t in _CLASSES] + sorted(set(tabled) - {str(t) for t in _CLASSES})
        width = max([len(c) for c in channels] + [5])
        rows = ["  events     " + f"{'type':<15}" + "".join(f"{c:>{width + 2}}" for c in channels)]
        rows[0] += f"{'total':>{width + 2}}"
        for event_type in types:
            per = self.events.get(event_type, {})
            cells = "".join(f"{per.get(c, 0):>{width + 2}}" for c in channels)
            rows.append(f"             {event_type:<15}{cells}{sum(per.values()):>{width + 2}}")
        return rows
