"""A small deterministic stand-in for the detection pipeline (tests of the wiring, not detection).

It reports an upward crossing of ``threshold_uv`` on an EMG channel as a fibrillation (or a
fasciculation above ``3 * threshold_uv``) once the channel falls back below the threshold, and
an excursion lasting at least ``spasm_samples`` as a spasm (confirmed, then ended). Decisions
use absolute sample indices, so the events do not depend on the chunking.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from processor.config import DetectionConfig
from processor.model import Chunk, Event, EventType, Gap, JsonValue


class FakePipeline:
    def __init__(
        self,
        cfg: DetectionConfig,
        *,
        session_id: str = "s",
        wearable: str = "",
        threshold_uv: float = 500.0,
        spasm_samples: int = 1000,
    ) -> None:
        del cfg
        self._session = session_id
        self._wearable = wearable
        self._threshold = threshold_uv
        self._spasm_samples = spasm_samples
        self._open: dict[str, tuple[int, float]] = {}  # channel -> (onset index, peak)
        self._confirmed: set[str] = set()
        self._fs = 1.0
        self._samples = 0
        self._gaps = 0
        self.flushed = 0

    def _event(
        self, kind: EventType, channel: str, onset: int, end: int | None, *, at: int, peak: float
    ) -> Event:
        return Event(
            event_id=f"{self._session}-{channel}-{kind}-{onset}",
            type=kind,
            channel=channel,
            start_s=onset / self._fs,
            end_s=None if end is None else end / self._fs,
            detected_at_s=at / self._fs,
            wearable=self._wearable,
            extras={"peak_uv": peak, "alert": kind is EventType.SPASM},
        )

    def process(self, item: Chunk | Gap) -> list[Event]:
        if isinstance(item, Gap):
            self._gaps += 1
            return []
        if item.stream.name != "emg":
            return []
        self._fs = item.stream.fs_hz
        self._samples += len(item.data)
        events: list[Event] = []
        magnitude = np.abs(item.data)
        for index in range(len(item.data)):
            for col, channel in enumerate(item.stream.channels):
                value = float(magnitude[index, col])
                events.extend(self._step(channel, item.start_index + index, value))
        return events

    def _step(self, channel: str, absolute: int, value: float) -> list[Event]:
        if value > self._threshold:
            onset, peak = self._open.get(channel, (absolute, 0.0))
            self._open[channel] = (onset, max(peak, value))
            if absolute - onset + 1 == self._spasm_samples:
                self._confirmed.add(channel)
                return [
                    self._event(
                        EventType.SPASM, channel, onset, None, at=absolute, peak=max(peak, value)
                    )
                ]
            return []
        if channel not in self._open:
            return []
        onset, peak = self._open.pop(channel)
        if channel in self._confirmed:
            self._confirmed.discard(channel)
            return [self._event(EventType.SPASM, channel, onset, absolute, at=absolute, peak=peak)]
        kind = EventType.FASCICULATION if peak > 3 * self._threshold else EventType.FIBRILLATION
        return [self._event(kind, channel, onset, absolute, at=absolute, peak=peak)]

    def flush(self) -> list[Event]:
        self.flushed += 1
        events = []
        for channel in sorted(self._confirmed):
            onset, peak = self._open[channel]
            end = onset + self._spasm_samples
            events.append(self._event(EventType.SPASM, channel, onset, end, at=end, peak=peak))
        self._open.clear()
        self._confirmed.clear()
        return events

    def stats(self) -> Mapping[str, JsonValue]:
        return {"samples": self._samples, "gaps": self._gaps}


def emg_with_events(n: int = 5000, n_channels: int = 2, seed: int = 1) -> np.ndarray:
    """Noise with a small twitch at 1.0 s, a big one at 2.0 s on channel 0, a 1.5 s spasm at 3 s."""
    rng = np.random.default_rng(seed)
    emg = rng.normal(0, 20, (n, n_channels))
    emg[1000:1010, 0] = 800.0
    emg[2000:2010, 0] = 2000.0
    emg[3000:4500, n_channels - 1] = 900.0
    return emg
