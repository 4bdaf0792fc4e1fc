from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Self

import numpy as np
import pytest

from processor import runtime
from processor.config import AppConfig, DetectionConfig
from processor.errors import RecordingError, SinkError
from processor.model import Chunk, Event, EventType, Gap, SourceItem, StatusUpdate, StreamInfo
from processor.runtime import NO_PIPELINE_NOTE, run_sources
from processor.sinks.memory import MemorySink
from processor.summary import RunSummary
from tests.cli.fakes import FakePipeline, emg_with_events

EMG = StreamInfo("emg", 1000.0, ("emg_a", "emg_b"), "uV")
ACC = StreamInfo("acc", 100.0, ("acc_x", "acc_y", "acc_z"), "g")


class ListSource:
    """Yields prepared items; optionally fails after them."""

    def __init__(self, items: Sequence[SourceItem], fail: Exception | None = None) -> None:
        self._items = list(items)
        self._fail = fail
        self.closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.closed = True

    async def items(self) -> AsyncIterator[SourceItem]:
        for item in self._items:
            await asyncio.sleep(0)
            yield item
        if self._fail is not None:
            raise self._fail


def _items(emg: np.ndarray, chunk: int = 250) -> list[SourceItem]:
    out: list[SourceItem] = []
    for start in range(0, len(emg), chunk):
        out.append(Chunk(EMG, start, emg[start : start + chunk]))
        acc_start = start // 10
        out.append(Chunk(ACC, acc_start, np.zeros((chunk // 10, 3))))
    return out


def _factory(cfg: DetectionConfig, *, session_id: str, wearable: str) -> FakePipeline:
    return FakePipeline(cfg, session_id=session_id, wearable=wearable)


async def test_events_fan_out_to_every_sink_and_summary_counts() -> None:
    emg = emg_with_events()
    items = _items(emg)
    items.insert(3, StatusUpdate("band", connected=True, battery_pct=80))
    items.insert(6, Gap("emg", 5000, 10, "test hole"))
    sinks = [MemorySink(), MemorySink()]
    summary = await run_sources(
        [("", ListSource(items))], AppConfig(), sinks, session_id="t", pipeline_factory=_factory
    )
    kinds = [(e.type, e.channel, e.end_s is None) for e in sinks[0].events]
    assert kinds == [
        (EventType.FIBRILLATION, "emg_a", False),
        (EventType.FASCICULATION, "emg_a", False),
        (EventType.SPASM, "emg_b", True),
        (EventType.SPASM, "emg_b", False),
    ]
    assert sinks[0].events == sinks[1].events
    assert sinks[0].statuses == sinks[1].statuses == [StatusUpdate("band", True, 80)]
    assert all(s.entered and s.exited for s in sinks)
    assert summary.events == {
        "fibrillation": {"emg_a": 1},
        "fasciculation": {"emg_a": 1},
        "spasm": {"emg_b": 1},
    }
    assert summary.samples == {"emg": 5000, "acc": 500}
    assert summary.channel_samples == 5000 * 2 + 500 * 3
    assert summary.duration_s == pytest.approx(5.0)
    assert summary.gap_count == 1
    assert summary.gaps[0].start_s == pytest.approx(5.0)
    assert summary.dropped == {"MemorySink#0": 0, "MemorySink#1": 0}
    assert summary.pipeline_note == ""
    assert summary.pipeline_stats[""] == {"samples": 5000, "gaps": 1}
    assert summary.throughput_sps > 0
    table = summary.table()
    assert "fasciculation" in table
    assert "emg_a" in table


async def test_slow_sink_drops_with_counter_and_never_blocks_the_fast_one() -> None:
    emg = np.zeros((20000, 2))
    for k in range(40):  # 40 short twitches
        emg[200 + k * 400 : 205 + k * 400, 0] = 600.0
    fast, slow = MemorySink(), MemorySink(delay_s=0.05)
    summary = await run_sources(
        [("", ListSource(_items(emg, chunk=400)))],
        AppConfig(),
        [fast, slow],
        session_id="t",
        pipeline_factory=_factory,
        sink_queue_size=3,
    )
    assert len(fast.events) == 40
    dropped = summary.dropped["MemorySink#1"]
    assert dropped > 0
    assert len(slow.events) + dropped == 40
    assert summary.dropped["MemorySink#0"] == 0
    assert slow.events == [e for e in fast.events if e in slow.events]  # order kept


async def test_pipeline_is_flushed_at_source_end() -> None:
    emg = np.zeros((3000, 2))
    emg[1000:, 1] = 900.0  # spasm still going at the end
    sink = MemorySink()
    pipelines: list[FakePipeline] = []

    def factory(cfg: DetectionConfig, *, session_id: str, wearable: str) -> FakePipeline:
        pipelines.append(FakePipeline(cfg, session_id=session_id, wearable=wearable))
        return pipelines[-1]

    await run_sources(
        [("w1", ListSource(_items(emg)))],
        AppConfig(),
        [sink],
        session_id="t",
        pipeline_factory=factory,
    )
    assert pipelines[0].flushed == 1
    assert [e.end_s for e in sink.events] == [None, 2.0]
    assert all(e.wearable == "w1" for e in sink.events)


async def test_source_error_delivers_earlier_events_then_raises_the_error_itself() -> None:
    emg = emg_with_events()
    sink = MemorySink()
    source = ListSource(_items(emg[:2500]), fail=RecordingError("r.csv: line 9: bad"))
    with pytest.raises(RecordingError, match="line 9"):
        await run_sources(
            [("", source)], AppConfig(), [sink], session_id="t", pipeline_factory=_factory
        )
    assert [e.type for e in sink.events] == [EventType.FIBRILLATION, EventType.FASCICULATION]
    assert source.closed
    assert sink.exited


class FailingSink(MemorySink):
    async def send(self, event: Event) -> None:
        raise SinkError("broker gone")


async def test_failing_sink_is_counted_and_others_still_get_events() -> None:
    good, bad = MemorySink(), FailingSink()
    summary = await run_sources(
        [("", ListSource(_items(emg_with_events())))],
        AppConfig(),
        [good, bad],
        session_id="t",
        pipeline_factory=_factory,
    )
    assert len(good.events) == 4
    assert summary.sink_errors["FailingSink"] == 4


async def test_several_sources_run_concurrently_each_with_its_own_pipeline() -> None:
    sink = MemorySink()
    emg = emg_with_events(n=2500)
    summary = await run_sources(
        [("left", ListSource(_items(emg))), ("right", ListSource(_items(emg)))],
        AppConfig(),
        [sink],
        session_id="t",
        pipeline_factory=_factory,
    )
    assert {e.wearable for e in sink.events} == {"left", "right"}
    assert set(summary.samples) == {"left:emg", "left:acc", "right:emg", "right:acc"}


async def test_without_a_pipeline_module_the_run_says_so_and_emits_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing() -> tuple[runtime.PipelineFactory, str]:
        return runtime._NoPipeline, NO_PIPELINE_NOTE

    monkeypatch.setattr(runtime, "default_pipeline_factory", missing)
    sink = MemorySink()
    summary = await run_sources(
        [("", ListSource(_items(emg_with_events())))], AppConfig(), [sink], session_id="t"
    )
    assert sink.events == []
    assert summary.samples["emg"] == 5000
    assert NO_PIPELINE_NOTE in summary.table()


def test_default_factory_is_the_real_pipeline_when_present() -> None:
    factory, note = runtime.default_pipeline_factory()
    try:
        from processor.stages.pipeline import Pipeline  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:
        assert note == NO_PIPELINE_NOTE
    else:
        assert factory is Pipeline
        assert note == ""


class BrokenPipeline(FakePipeline):
    """Fails on the 3rd item, as a bug in a stage would."""

    def __init__(self, cfg: DetectionConfig, *, session_id: str, wearable: str) -> None:
        super().__init__(cfg, session_id=session_id, wearable=wearable)
        self._seen = 0

    def process(self, item: Chunk | Gap) -> list[Event]:
        self._seen += 1
        if self._seen == 3:
            raise ValueError("bug in a stage")
        return super().process(item)


async def test_a_failing_pipeline_stops_its_wearable_only_then_reports() -> None:
    sink = MemorySink()
    emg = emg_with_events(n=2500)

    def factory(cfg: DetectionConfig, *, session_id: str, wearable: str) -> FakePipeline:
        cls = BrokenPipeline if wearable == "left" else FakePipeline
        return cls(cfg, session_id=session_id, wearable=wearable)

    with pytest.raises(
        runtime.PipelineFailedError, match=r"left.*ValueError: bug in a stage"
    ) as info:
        await run_sources(
            [("left", ListSource(_items(emg))), ("right", ListSource(_items(emg)))],
            AppConfig(),
            [sink],
            session_id="t",
            pipeline_factory=factory,
        )
    right = [e for e in sink.events if e.wearable == "right"]
    assert right, "the healthy wearable ran to the end and its events were delivered"
    assert info.value.summary.failures == {"left": "ValueError: bug in a stage"}
    assert info.value.summary.samples["right:emg"] == len(emg)


async def test_a_failing_pipeline_alone_keeps_reading_its_source_and_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = MemorySink()
    emg = emg_with_events(n=2500)
    status = StatusUpdate(wearable="", connected=False, detail="after the failure")
    source = ListSource([*_items(emg), status])
    consumed: list[SourceItem] = []
    inner = source.items

    async def counting() -> AsyncIterator[SourceItem]:
        async for item in inner():
            consumed.append(item)
            yield item

    source.items = counting  # type: ignore[method-assign]

    def factory(cfg: DetectionConfig, *, session_id: str, wearable: str) -> FakePipeline:
        return BrokenPipeline(cfg, session_id=session_id, wearable=wearable)

    with caplog.at_level("WARNING"), pytest.raises(runtime.PipelineFailedError) as info:
        await run_sources(
            [("", source)], AppConfig(), [sink], session_id="t", pipeline_factory=factory
        )
    assert not [r for r in caplog.records if r.levelname == "WARNING"]  # the CLI's line only
    assert len(consumed) == len(_items(emg)) + 1, "the source was drained to its end"
    assert sink.statuses == [status], "status updates still flow after the failure"
    assert info.value.summary.samples["emg"] == len(emg)
    assert "" not in info.value.summary.pipeline_stats


async def test_a_pipeline_input_error_stops_the_run_with_that_error() -> None:
    class RejectingPipeline(FakePipeline):
        def process(self, item: Chunk | Gap) -> list[Event]:
            raise RecordingError("r.csv: stream emg: rate too low for the configured band")

    def factory(cfg: DetectionConfig, *, session_id: str, wearable: str) -> FakePipeline:
        return RejectingPipeline(cfg, session_id=session_id, wearable=wearable)

    with pytest.raises(RecordingError, match="rate too low"):
        await run_sources(
            [("", ListSource(_items(emg_with_events(n=500))))],
            AppConfig(),
            [MemorySink()],
            session_id="t",
            pipeline_factory=factory,
        )


async def test_summary_counts_samples_read_not_missing_and_tables_quality_apart() -> None:
    summary = RunSummary(session_id="t")
    summary.count_item("", Chunk(EMG, 0, np.zeros((3000, 2))))
    summary.count_item("", Gap("emg", 3000, 500, "time_s jumps"))
    summary.count_item("", Chunk(EMG, 3500, np.zeros((2500, 2))))
    assert summary.samples == {"emg": 5500}
    assert summary.duration_s == pytest.approx(6.0)
    gap_event = Event("q1", EventType.SIGNAL_QUALITY, "emg", 3.0, 3.5, 3.5)
    summary.count_event(gap_event)
    summary.count_event(Event("f1", EventType.FASCICULATION, "emg_a", 1.0, 1.02, 1.1))
    table = summary.table()
    assert "5500 samples, 1 gaps (500 samples missing)" in table
    header = next(line for line in table.splitlines() if line.startswith("  events"))
    assert header.split()[2:] == ["emg_a", "emg_b", "total"], "no phantom 'emg' column"
    assert "  quality    1 signal_quality events (emg 1)" in table


async def test_on_stream_tells_each_stream_once_before_its_events() -> None:
    seen: list[tuple[str, str, float]] = []
    sink = MemorySink()
    await run_sources(
        [("w", ListSource(_items(emg_with_events(n=1000))))],
        AppConfig(),
        [sink],
        session_id="t",
        pipeline_factory=_factory,
        on_stream=lambda wearable, info: seen.append((wearable, info.name, info.fs_hz)),
    )
    assert seen == [("w", "emg", 1000.0), ("w", "acc", 100.0)]


class ClosingFailsSink(MemorySink):
    """Takes every event, then fails on close, as MQTT does with alerts left undelivered."""

    async def __aexit__(self, *exc_info: object) -> None:
        raise SinkError("mqtt: 3 alert(s) not delivered")


async def test_an_output_failing_at_close_reports_after_the_run_with_its_summary() -> None:
    good, closing = MemorySink(), ClosingFailsSink()
    emg = emg_with_events(n=2500)
    with pytest.raises(runtime.OutputFailedError, match="3 alert") as info:
        await run_sources(
            [("", ListSource(_items(emg)))],
            AppConfig(),
            [good, closing],
            session_id="t",
            pipeline_factory=_factory,
        )
    assert good.events, "the other sink got every event"
    assert info.value.summary.output_failures == ["mqtt: 3 alert(s) not delivered"]
    assert "FAILED     mqtt: 3 alert(s) not delivered" in info.value.summary.table()


async def test_an_input_error_keeps_its_type_when_an_output_also_fails_at_close() -> None:
    emg = emg_with_events(n=2500)
    with pytest.raises(RecordingError) as info:
        await run_sources(
            [("", ListSource(_items(emg), fail=RecordingError("x.csv: line 9: nan")))],
            AppConfig(),
            [ClosingFailsSink()],
            session_id="t",
            pipeline_factory=_factory,
        )
    assert not isinstance(info.value, SinkError)
