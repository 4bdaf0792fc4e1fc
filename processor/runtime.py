"""Composition root: sources -> one detection pipeline per source -> every sink.

The only module that sees sources, the pipeline and sinks together. One event loop, one
``asyncio.TaskGroup`` of sources; each sink drains its own bounded queue in its own task, so a
slow sink drops items (counted) instead of stalling detection. When the sources end (or fail),
the pipelines are flushed and every queue is drained before the sinks close, so nothing
already emitted is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Final, Protocol

from processor.config import AppConfig, DetectionConfig
from processor.errors import ProcessorError
from processor.model import Chunk, Event, Gap, JsonValue, StatusUpdate, StreamInfo
from processor.sinks.base import Sink
from processor.sources.base import Source
from processor.summary import RunSummary

log = logging.getLogger(__name__)

DEFAULT_SINK_QUEUE = 10_000
NO_PIPELINE_NOTE = (
    "detection pipeline not available in this build (processor.stages.pipeline is missing): "
    "streams were read, no events were detected"
)
_END: Final = object()


class PipelineLike(Protocol):
    """What the runtime needs from ``processor.stages.pipeline.Pipeline``."""

    def process(self, item: Chunk | Gap) -> list[Event]:
        """Events decided by this item (items arrive in time order)."""
        ...

    def flush(self) -> list[Event]:
        """Events still pending at the end of the stream."""
        ...

    def stats(self) -> Mapping[str, JsonValue]:
        """The pipeline's counters."""
        ...


class PipelineFactory(Protocol):
    """Builds one pipeline per source (the ``Pipeline`` class itself fits)."""

    def __call__(self, cfg: DetectionConfig, *, session_id: str, wearable: str) -> PipelineLike:
        """A fresh pipeline for one wearable's stream."""
        ...


class _NoPipeline:
    """Stands in when the detection pipeline is not installed: detects nothing, says so."""

    def __init__(self, cfg: DetectionConfig, *, session_id: str, wearable: str) -> None:
        del cfg, session_id, wearable

    def process(self, item: Chunk | Gap) -> list[Event]:
        del item
        return []

    def flush(self) -> list[Event]:
        return []

    def stats(self) -> Mapping[str, JsonValue]:
        return {}


def default_pipeline_factory() -> tuple[PipelineFactory, str]:
    """The real pipeline, or a stand-in plus a note when its module does not exist yet."""
    try:
        from processor.stages.pipeline import (  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415
            Pipeline,
        )
    except ModuleNotFoundError as exc:
        if exc.name != "processor.stages.pipeline":
            raise
        return _NoPipeline, NO_PIPELINE_NOTE
    factory: PipelineFactory = Pipeline
    return factory, ""


def _sink_names(sinks: Sequence[Sink]) -> list[str]:
    names = [type(sink).__name__ for sink in sinks]
    return [f"{n}#{i}" if names.count(n) > 1 else n for i, n in enumerate(names)]


class _FanOut:
    """One bounded queue and one draining task per sink; publishing never waits."""

    def __init__(self, sinks: Sequence[Sink], names: list[str], maxsize: int) -> None:
        self._sinks = list(sinks)
        self._names = names
        self._queues: list[asyncio.Queue[object]] = [asyncio.Queue(maxsize) for _ in sinks]
        self.dropped = dict.fromkeys(names, 0)
        self.errors = dict.fromkeys(names, 0)

    def publish(self, item: Event | StatusUpdate) -> None:
        for name, queue in zip(self._names, self._queues, strict=True):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                self.dropped[name] += 1

    async def close(self) -> None:
        """Queue the end marker behind everything already queued (waits for room)."""
        for queue in self._queues:
            await queue.put(_END)

    async def drain(self, index: int) -> None:
        sink, name, queue = self._sinks[index], self._names[index], self._queues[index]
        while (item := await queue.get()) is not _END:
            try:
                if isinstance(item, Event):
                    await sink.send(item)
                elif isinstance(item, StatusUpdate):
                    await sink.status(item)
            except ProcessorError as exc:
                if not self.errors[name]:
                    log.warning("sink %s failed: %s", name, exc)
                self.errors[name] += 1


def _unwrap(error: BaseException) -> BaseException:
    """The first project error inside a task group's exception group, else the group."""
    if not isinstance(error, BaseExceptionGroup):
        return error
    leaves: list[BaseException] = []
    stack: list[BaseException] = [error]
    while stack:
        current = stack.pop(0)
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        else:
            leaves.append(current)
    return next((leaf for leaf in leaves if isinstance(leaf, ProcessorError)), error)


class RunFailedError(ProcessorError):
    """The run ended, but not as it should have; ``summary`` still says what was found."""

    def __init__(self, message: str, summary: RunSummary) -> None:
        super().__init__(message)
        self.summary = summary


class PipelineFailedError(RunFailedError):
    """One wearable's processing failed unexpectedly; the others ran to the end."""


class OutputFailedError(RunFailedError):
    """An output failed while closing (e.g. alerts the broker never acknowledged)."""


class _Processing:
    """One wearable's pipeline; after an unexpected failure it stops processing (not reading)."""

    def __init__(
        self,
        wearable: str,
        pipeline: PipelineLike,
        summary: RunSummary,
        fanout: _FanOut,
        *,
        announce: bool,
    ) -> None:
        self._wearable = wearable
        self._pipeline = pipeline
        self._summary = summary
        self._fanout = fanout
        self._announce = announce
        self.failed = False

    def process(self, item: Chunk | Gap) -> None:
        if not self.failed:
            self._guarded(lambda: self._pipeline.process(item))

    def flush(self) -> None:
        if not self.failed:
            self._guarded(self._pipeline.flush)

    def _guarded(self, step: Callable[[], list[Event]]) -> None:
        try:
            events = step()
        except ProcessorError:
            raise  # bad config or input met by the pipeline: the run stops with its message
        except Exception as exc:  # noqa: BLE001 - a bug: reported once the run has drained
            self._fail(exc)
            return
        for event in events:
            self._summary.count_event(event)
            self._fanout.publish(event)

    def _fail(self, exc: Exception) -> None:
        # A bug hit by one wearable's data must not stop the other wearables, the raw
        # recording tap (the source keeps being read) or lose the events already emitted.
        self.failed = True
        self._summary.failures[self._wearable] = f"{type(exc).__name__}: {exc}"
        if self._announce:  # alone, the CLI's one error line at the end says it all
            log.warning("processing of wearable %r stopped: %s", self._wearable, exc)
        log.debug("traceback of that failure", exc_info=exc)


async def _run_one(
    *,
    wearable: str,
    source: Source,
    processing: _Processing,
    summary: RunSummary,
    fanout: _FanOut,
    on_progress: Callable[[str, float], None] | None,
    on_stream: Callable[[str, StreamInfo], None] | None,
) -> None:
    streams: dict[str, StreamInfo] = {}
    async with source:
        try:
            async for item in source.items():
                if isinstance(item, StatusUpdate):
                    summary.status_updates += 1
                    fanout.publish(item)
                    continue
                summary.count_item(wearable, item)
                if on_stream is not None and isinstance(item, Chunk):
                    known = streams.get(item.stream.name)
                    if known is not item.stream and known != item.stream:
                        streams[item.stream.name] = item.stream
                        on_stream(wearable, item.stream)  # before the events it explains
                processing.process(item)
                if on_progress is not None and isinstance(item, Chunk):
                    on_progress(wearable, summary.duration_s)
        except (ProcessorError, asyncio.CancelledError):
            processing.flush()  # report what was pending before the bad input / Ctrl-C
            raise
        except Exception as exc:  # a source bug: this wearable ends here
            processing.flush()
            summary.failures[wearable] = f"{type(exc).__name__}: {exc}"
            log.debug("traceback of the source failure", exc_info=exc)
            return
        processing.flush()


def _pipeline_session(session_id: str, wearable: str, n_sources: int) -> str:
    """The session id a wearable's pipeline puts in its ``event_id``s.

    With several wearables it names the wearable too: two bands of one model have the same
    channel names, and their events at the same sample must not share an ``event_id`` (the
    history and MQTT key on it).
    """
    return f"{session_id}.{wearable}" if n_sources > 1 and wearable else session_id


def _raise_if_incomplete(
    summary: RunSummary, error: BaseException | None, output_error: ProcessorError | None
) -> None:
    """Raise what ended the run early, most specific first, with the summary attached."""
    if output_error is not None:
        summary.output_failures.append(str(output_error))
    if error is not None:
        raise _unwrap(error)  # an input/source error keeps its own exit code
    if summary.failures:
        who, why = next(iter(summary.failures.items()))
        raise PipelineFailedError(
            f"processing of {who or 'the recording'} stopped early ({why}); "
            "events found before that were delivered",
            summary,
        )
    if output_error is not None:
        raise OutputFailedError(str(output_error), summary)


async def run_sources(
    sources: Sequence[tuple[str, Source]],
    cfg: AppConfig,
    sinks: Sequence[Sink],
    *,
    session_id: str,
    pipeline_factory: PipelineFactory | None = None,
    sink_queue_size: int = DEFAULT_SINK_QUEUE,
    on_progress: Callable[[str, float], None] | None = None,
    on_stream: Callable[[str, StreamInfo], None] | None = None,
) -> RunSummary:
    """Run every source through its own pipeline and fan the events out to every sink.

    Args:
        sources: (wearable id, source) pairs; the id is "" for a replayed file.
        cfg: the whole configuration (the pipeline gets ``cfg.detection``).
        sinks: outputs, entered before the sources start and closed after the queues drain.
        session_id: passed to each pipeline (part of every ``event_id``); with several
            sources, each pipeline gets ``<session_id>.<wearable id>``.
        pipeline_factory: builds one pipeline per source; default: the real ``Pipeline``.
        sink_queue_size: items each sink may have waiting before new ones are dropped.
        on_progress: called with (wearable id, recording seconds read so far) after each chunk.
        on_stream: called with (wearable id, stream) when a stream first appears or changes
            (rate, unit), before its chunk is processed (e.g. the console learns units).

    Returns:
        The run's summary (samples, gaps, events per type and channel, drops, wall time).

    Raises:
        ProcessorError: the first project error raised by a source, pipeline or sink (after the
            events emitted before it were delivered).
    """
    note = ""
    if pipeline_factory is None:
        pipeline_factory, note = default_pipeline_factory()
    summary = RunSummary(session_id=session_id, pipeline_note=note)
    names = _sink_names(sinks)
    started = time.perf_counter()
    error: BaseException | None = None
    processings: list[tuple[str, PipelineLike]] = []
    body_done = False
    output_error: ProcessorError | None = None
    try:
        async with AsyncExitStack() as stack:
            for sink in sinks:
                await stack.enter_async_context(sink)
            fanout = _FanOut(sinks, names, sink_queue_size)
            async with asyncio.TaskGroup() as drains:
                for index in range(len(sinks)):
                    drains.create_task(fanout.drain(index))
                try:
                    async with asyncio.TaskGroup() as producers:
                        for wearable, source in sources:
                            pipeline = pipeline_factory(
                                cfg.detection,
                                session_id=_pipeline_session(session_id, wearable, len(sources)),
                                wearable=wearable,
                            )
                            processings.append((wearable, pipeline))
                            processing = _Processing(
                                wearable, pipeline, summary, fanout, announce=len(sources) > 1
                            )
                            producers.create_task(
                                _run_one(
                                    wearable=wearable,
                                    source=source,
                                    processing=processing,
                                    summary=summary,
                                    fanout=fanout,
                                    on_progress=on_progress,
                                    on_stream=on_stream,
                                )
                            )
                except Exception as exc:  # noqa: BLE001 - re-raised below, after the sinks drained
                    error = exc
                await fanout.close()
            body_done = True
    except ProcessorError as exc:
        if not body_done:
            raise
        # a sink failed while closing (e.g. undelivered MQTT alerts): the run itself is done
        output_error = exc

    summary.wall_s = time.perf_counter() - started
    summary.dropped = fanout.dropped
    summary.sink_errors = fanout.errors
    for wearable, pipeline in processings:
        if wearable not in summary.failures:
            summary.pipeline_stats[wearable] = dict(pipeline.stats())
    _raise_if_incomplete(summary, error, output_error)
    return summary
