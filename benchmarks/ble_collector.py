"""BLE collector benchmark against emulated wearables on Bumble's in-process GATT stack.

Measures, with the production defaults of ``[ble]`` unless stated:

1. reconnect: time from a dropped band being back in range (``reappear()``) to the first
   chunk of samples after the gap (target <= 5 s), and the same after a plain link drop;
2. loss on a clean link at each device's real rate: samples the band sent vs samples the
   collector yielded, and gaps (target: 0 lost);
3. notification-to-pipeline latency: BLE callback timestamp -> chunk handed to the detection
   pipeline, p50/p99, with the real pipeline processing every chunk in the same loop;
4. CPU per live wearable: process CPU time / wall time with N emulated bands streaming through
   bleak + collector + pipeline, minus the cost of the same bands streaming to a bare Bumble
   central (the emulator and the radio stack, which a real band does not cost the host).

Run: ``python -m benchmarks.ble_collector [--seconds 10] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable

import numpy as np

from devices import REGISTRY
from processor.config import AppConfig
from processor.config.ble import BleConfig
from processor.model import Chunk, Gap
from processor.sources.ble import port_backends
from processor.sources.collector import BleCentral, WearableSource
from processor.sources.emulated.demo import emulated_session
from processor.stages.pipeline import Pipeline

EMG_PROFILES = ("myo", "ganglion")


async def _consume(source: WearableSource, stats: dict[str, float], run_pipeline: bool) -> None:
    pipeline = Pipeline(AppConfig().detection, session_id="bench", wearable=source.wearable_id)
    async for item in source.items():
        if isinstance(item, Chunk):
            stats.setdefault("first_chunk", time.monotonic())
            stats["last_chunk"] = time.monotonic()
            stats[f"samples.{item.stream.name}"] = stats.get(
                f"samples.{item.stream.name}", 0
            ) + len(item.data)
        elif isinstance(item, Gap):
            stats["gaps"] = stats.get("gaps", 0) + 1
            stats["after_gap_wait"] = 1
        if isinstance(item, Chunk) and stats.pop("after_gap_wait", 0):
            stats["resumed"] = time.monotonic()
        if run_pipeline and isinstance(item, Chunk | Gap):
            try:
                pipeline.process(item)
            except ValueError:  # a detection bug must not stop the collector benchmark
                run_pipeline = False
                stats["pipeline_error"] = 1


async def _until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(60):
        while not predicate():  # noqa: ASYNC110 - polling counters the consumer task updates
            await asyncio.sleep(0.002)


async def reconnect(profile_key: str, repeats: int, *, vanish_s: float) -> list[float]:
    """Seconds from reappear() (or drop) to the first chunk after the gap."""
    cfg = BleConfig()
    out = []
    async with emulated_session([REGISTRY[profile_key]], builtin_signal=True) as session:
        band = session.bands[0]
        source = BleCentral(cfg, port_backends(session.air)).source(
            REGISTRY[profile_key], wearable_id=profile_key
        )
        stats: dict[str, float] = {}
        async with source, asyncio.TaskGroup() as tg:
            tg.create_task(_consume(source, stats, run_pipeline=False))
            await _until(lambda: "first_chunk" in stats)
            for _ in range(repeats):
                await asyncio.sleep(1.0)
                stats.pop("resumed", None)
                if vanish_s > 0:
                    await band.vanish()
                    await asyncio.sleep(vanish_s)
                    back = time.monotonic()
                    await band.reappear()
                else:
                    back = time.monotonic()
                    await band.drop_link()
                await _until(lambda: "resumed" in stats)
                out.append(stats["resumed"] - back)
            await source.stop()
    return out


Result = dict[str, tuple[int, int, int, list[int]]]


async def clean_link(keys: tuple[str, ...], seconds: float) -> tuple[Result, float]:
    """Per profile (samples sent, received, gaps, latencies ns) and the process CPU fraction."""
    profiles = [REGISTRY[k] for k in keys]
    async with emulated_session(profiles) as session:
        central = BleCentral(BleConfig(), port_backends(session.air))
        sources = [central.source(p, wearable_id=p.key) for p in profiles]
        stats: list[dict[str, float]] = [{} for _ in sources]
        async with contextlib.AsyncExitStack() as stack, asyncio.TaskGroup() as tg:
            for source, st in zip(sources, stats, strict=True):
                await stack.enter_async_context(source)
                tg.create_task(_consume(source, st, run_pipeline=True))
            await _until(lambda: all("first_chunk" in st for st in stats))
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await asyncio.sleep(seconds)
            cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
            for source in sources:
                await source.stop()
        out: Result = {}
        for band, source, st in zip(session.bands, sources, stats, strict=True):
            first = next(s.name for s in band.profile.streams if s.regular)
            got = int(st.get(f"samples.{first}", 0))
            sent = band.samples_sent[first]
            out[band.profile.key] = (sent, got, int(st.get("gaps", 0)), list(source.latencies_ns))
            if st.get("pipeline_error"):
                print(f"note: the detection pipeline raised on {band.profile.key}; not run further")
    return out, cpu


async def _bare_stream(keys: tuple[str, ...], seconds: float) -> float:
    """CPU fraction of the bands streaming to a bare Bumble central (no bleak, no collector)."""
    profiles = [REGISTRY[k] for k in keys]
    async with emulated_session(profiles) as session:
        links = []
        for band in session.bands:
            link = await session.air.connect(
                band.address, timeout_s=5.0, on_disconnect=lambda _r: None
            )
            for svc in link.services:
                for ch in svc.characteristics:
                    if "notify" in ch.properties or "indicate" in ch.properties:
                        await link.subscribe(ch.handle, lambda _v: None)
            handles = {c.uuid: c.handle for s in link.services for c in s.characteristics}
            for write in band.profile.init_writes:
                await link.write(handles[write.char_uuid], write.data, response=write.response)
            links.append(link)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        for link in links:
            await link.disconnect()
    return cpu


async def cpu_per_wearable(keys: tuple[str, ...], seconds: float) -> tuple[float, float]:
    """(CPU fraction full path, CPU fraction emulator-only) for ``keys`` streaming at once."""
    _, full = await clean_link(keys, seconds)
    bare = await _bare_stream(keys, seconds)
    return full, bare


def _pct(values: list[int], q: float) -> float:
    return float(np.percentile(np.asarray(values) / 1e6, q)) if values else float("nan")


async def main(seconds: float, repeats: int) -> None:
    print(f"# BLE collector benchmark ({seconds:g} s per streaming phase, {repeats} reconnects)")
    for key, vanish in (("myo", 3.0), ("polar_h10", 3.0), ("myo", 0.0)):
        times = await reconnect(key, repeats, vanish_s=vanish)
        what = f"back in range after {vanish:g} s out of range" if vanish else "link drop"
        print(
            f"reconnect {key:<10} {what:<36} median {statistics.median(times):.2f} s, "
            f"max {max(times):.2f} s over {len(times)} (target <= 5 s)"
        )
    results, _ = await clean_link(tuple(REGISTRY), seconds)
    for key, (sent, got, gaps, lat) in results.items():
        print(
            f"clean link {key:<20} sent {sent} samples, received {got}, lost {sent - got}, "
            f"gaps {gaps}; latency p50 {_pct(lat, 50):.2f} ms p99 {_pct(lat, 99):.2f} ms"
        )
    for keys in (("myo",), ("myo", "ganglion"), tuple(REGISTRY)):
        full, bare = await cpu_per_wearable(keys, seconds)
        n = len(keys)
        print(
            f"cpu {n} wearable(s) {'+'.join(keys)}: whole process {full:.1%} of a core, "
            f"emulator + radio alone {bare:.1%}; collector + bleak + pipeline "
            f"{(full - bare) / n:.1%} per wearable"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.repeats))
