from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from processor.config.io import ReplayConfig
from processor.io.readers import open_recording
from processor.model import Chunk, SourceItem
from processor.sources.replay import ReplaySource
from tests.io.writers import write_csv


def _recording(tmp_path: Path, seconds: float = 1.0) -> Path:
    n = int(seconds * 1000)
    return write_csv(tmp_path / "r.csv", np.arange(n, dtype=float)[:, None])


async def _drain(source: ReplaySource) -> tuple[list[SourceItem], float]:
    started = time.perf_counter()
    async with source:
        items = [item async for item in source.items()]
    return items, time.perf_counter() - started


async def test_as_fast_as_possible_yields_everything_and_lets_others_run(tmp_path: Path) -> None:
    reader = open_recording(_recording(tmp_path, 3.0), ReplayConfig(chunk_ms=10))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    items, elapsed = await _drain(ReplaySource(reader))
    task.cancel()
    chunks = [i for i in items if isinstance(i, Chunk)]
    assert len(chunks) == 300
    assert np.concatenate([c.data for c in chunks])[:, 0].tolist() == list(range(3000))
    assert elapsed < 1.0
    assert ticks >= 300 // 8 - 1  # the source yielded to the loop regularly


@pytest.mark.parametrize("speed", [1.0, 4.0])
async def test_paced_by_sample_time(tmp_path: Path, speed: float) -> None:
    reader = open_recording(_recording(tmp_path, 0.6), ReplayConfig(chunk_ms=100))
    source = ReplaySource(reader, speed=speed)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with source:
        arrivals = [loop.time() - started async for _ in source.items()]
    expected = [0.1 * (k + 1) / speed for k in range(6)]
    assert arrivals == pytest.approx(expected, abs=0.05)
    assert source.position_s == pytest.approx(0.6)


async def test_reader_is_closed_on_exit_and_bad_speed_rejected(tmp_path: Path) -> None:
    reader = open_recording(_recording(tmp_path), ReplayConfig())
    source = ReplaySource(reader)
    assert source.duration_s == pytest.approx(1.0)
    async with source:
        pass
    with pytest.raises(ValueError, match="closed file"):
        list(reader.items())
    with pytest.raises(ValueError, match="speed must be > 0"):
        ReplaySource(reader, speed=0.0)
