"""BLE test fixtures: one in-memory Bumble air per test, emulated wearables, fast config."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from devices import REGISTRY
from processor.config.ble import BleConfig
from processor.model import Chunk, Gap, SourceItem, StatusUpdate
from processor.sources.ble import port_backends
from processor.sources.collector import BleCentral, WearableSource
from processor.sources.emulated.air import VirtualAir
from processor.sources.emulated.signal import WearableSignal, make_signal
from processor.sources.emulated.wearable import EmulatedWearable, Faults

NAMES = {
    "myo": "Myo",
    "ganglion": "Ganglion-1a2b",
    "polar_h10": "Polar H10 1A2B3C4D",
    "polar_verity_sense": "Polar Sense 5E6F7A8B",
}
FAST = BleConfig(
    scan_timeout_s=1.0,
    connect_timeout_s=1.0,
    reply_timeout_s=0.5,
    watchdog_s=0.6,
    reconnect_min_s=0.05,
    reconnect_max_s=0.2,
    relink_pause_s=0.3,
    rescan_pause_s=0.05,
    silence_ms=100.0,
    status_interval_s=0.5,
    stop_timeout_s=0.5,
)
_SIGNALS: dict[str, WearableSignal] = {}


def signal_for(key: str) -> WearableSignal:
    """One demo signal per profile, shared by all tests (generation costs ~0.1 s)."""
    if key not in _SIGNALS:
        profile = REGISTRY[key]
        emg = [s for s in profile.streams if s.name == "emg"]
        fs = emg[0].fs_hz if emg else 200.0
        n = len(emg[0].channels) if emg else 1
        _SIGNALS[key] = make_signal(fs_hz=fs, n_emg=n, duration_s=60.0, seed=1, builtin=True)
    return _SIGNALS[key]


@pytest.fixture
async def air() -> VirtualAir:
    radio = VirtualAir()
    await radio.start()
    return radio


@pytest.fixture
def wearable(air: VirtualAir) -> Callable[..., object]:
    async def make(
        key: str, address: str = "F0:F1:F2:F3:F4:01", faults: Faults | None = None
    ) -> EmulatedWearable:
        band = EmulatedWearable(
            air, REGISTRY[key], signal_for(key), name=NAMES[key], address=address, faults=faults
        )
        await band.start()
        return band

    return make


@pytest.fixture
def central(air: VirtualAir) -> BleCentral:
    return BleCentral(FAST, port_backends(air))


@dataclass
class Collected:
    """Everything a source yielded, by kind."""

    chunks: list[Chunk] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    status: list[StatusUpdate] = field(default_factory=list)
    order: list[SourceItem] = field(default_factory=list)

    def samples(self, stream: str) -> int:
        return sum(c.data.shape[0] for c in self.chunks if c.stream.name == stream)

    def details(self) -> str:
        return " | ".join(s.detail for s in self.status)


async def collect(
    source: WearableSource,
    *,
    seconds: float,
    during: Callable[[Collected], object] | None = None,
) -> Collected:
    """Run ``source`` for ``seconds`` (``during`` runs concurrently, then the source stops)."""
    got = Collected()

    async def consume() -> None:
        async for item in source.items():
            got.order.append(item)
            if isinstance(item, Chunk):
                got.chunks.append(item)
            elif isinstance(item, Gap):
                got.gaps.append(item)
            else:
                got.status.append(item)

    async with source, asyncio.timeout(seconds + 10.0), asyncio.TaskGroup() as tg:
        tg.create_task(consume())
        if during is not None:
            await during(got)  # type: ignore[misc]
        else:
            await asyncio.sleep(seconds)
        await source.stop()
    return got


async def wait_for(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll ``predicate`` every 10 ms until it holds (TimeoutError after ``timeout_s``)."""
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - polling plain attributes of the emulator
            await asyncio.sleep(0.01)
