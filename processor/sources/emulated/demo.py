"""Emulated wearables ready to stream a demo: the air, one band per profile, demo signals.

Used by ``twitchwatch run --emulate PROFILE`` / ``record --emulate`` and by the benchmark. The
signal starts a little before the demo session's cramp, so a short live run shows twitches
(visible and not), the spasm being confirmed and ending, and more twitches after it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from devices.profile import DeviceProfile
from processor.sources.emulated.air import VirtualAir
from processor.sources.emulated.signal import WearableSignal, make_signal
from processor.sources.emulated.wearable import EmulatedWearable, Faults

_LEAD_IN_S = 8.0  # rest and twitches before the cramp starts
_DEFAULT_FS_HZ = 200.0


@dataclass(frozen=True, slots=True)
class EmulatedSession:
    """The in-process radio and the bands advertising on it."""

    air: VirtualAir
    bands: tuple[EmulatedWearable, ...]


def demo_name(profile: DeviceProfile, index: int) -> str:
    """An advertised name the profile recognises (``Myo``, ``Polar H10 1A2B3C4D``, ...)."""
    prefix = profile.match.name_prefixes[0] if profile.match.name_prefixes else profile.key
    return prefix if len(prefix) <= 3 else f"{prefix} {0x1A2B3C4D + index:08X}"  # noqa: PLR2004


def demo_address(index: int) -> str:
    """A stable static-random address per band."""
    return f"F0:5E:ED:00:00:{index:02X}"


def demo_signal(profile: DeviceProfile, *, seed: int = 0, builtin: bool = False) -> WearableSignal:
    """The signal of the demo session, sized for the profile's EMG stream (if any)."""
    emg = [s for s in profile.streams if s.name == "emg"]
    fs = emg[0].fs_hz if emg else _DEFAULT_FS_HZ
    n = len(emg[0].channels) if emg else 1
    return make_signal(fs_hz=fs, n_emg=n, duration_s=60.0, seed=seed, builtin=builtin)


def lead_in_s(signal: WearableSignal) -> float:
    """Where in the signal a demo should start: shortly before the first spasm."""
    spasms = [start for kind, start in signal.truth if kind == "spasm"]
    return max(0.0, spasms[0] - _LEAD_IN_S) if spasms else 0.0


@contextlib.asynccontextmanager
async def emulated_session(
    profiles: Sequence[DeviceProfile],
    *,
    seed: int = 0,
    faults: Faults | None = None,
    builtin_signal: bool = False,
) -> AsyncIterator[EmulatedSession]:
    """Start one emulated band per profile on a fresh air; stop them on exit."""
    air = VirtualAir()
    await air.start()
    bands = []
    try:
        for i, profile in enumerate(profiles):
            signal = demo_signal(profile, seed=seed + i, builtin=builtin_signal)
            band = EmulatedWearable(
                air,
                profile,
                signal,
                name=demo_name(profile, i),
                address=demo_address(i),
                faults=faults,
                start_s=lead_in_s(signal),
            )
            await band.start()
            bands.append(band)
        yield EmulatedSession(air, tuple(bands))
    finally:
        for band in bands:
            await band.stop()
