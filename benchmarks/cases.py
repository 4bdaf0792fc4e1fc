"""Ground-truth recordings of the accuracy benchmark: synthetic events in real baselines.

Baselines (screened: spontaneous transients cropped out, see ``baselines.screened``):

* ``lower_limb``: UCI 3Asen biceps femoris + semitendinosus joined, 1 kHz, ~2.6 µV RMS;
* ``bitalino``: BioSPPy emg_1 30-63.9 s, 1 kHz, ~5.3 µV RMS (BITalino scale assumed);
* ``myo``: Myo armband quiet stretches, 8 ch at 200 Hz (2 µV/count assumed).

Accelerometer: 200 Hz for the 1 kHz cases (a Polar-class IMU), 50 Hz for the Myo case (the
Myo's IMU rate).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from benchmarks import baselines
from benchmarks.baselines import FloatArray
from processor.synth import SCENARIOS, Scenario, SynthRecording, synth_session

AMPLITUDE_BINS_UV = (20.0, 30.0, 50.0, 100.0, 200.0, 300.0)
ACC_HZ = 200.0
MYO_ACC_HZ = 50.0


@dataclass(frozen=True, slots=True)
class Case:
    """One benchmark recording.

    Attributes:
        name: unique label.
        group: ``twitch``, ``spasm``, ``exercise``, ``rest``, ``noise`` or ``consumer``.
        baseline: baseline name.
        rec: the recording and its truth.
        amplitude_uv: the single twitch amplitude of a ``twitch`` case (else None).
    """

    name: str
    group: str
    baseline: str
    rec: SynthRecording
    amplitude_uv: float | None = None


@cache
def baseline(name: str) -> FloatArray:
    if name == "lower_limb":
        return baselines.screened(baselines.quiet_lower_limb_uv(), 1000.0)[0]
    if name == "bitalino":
        return baselines.screened(baselines.biosppy_emg_uv()[30000:], 1000.0)[0]
    if name == "myo":
        return baselines.myo_quiet_uv()
    raise ValueError(name)


def _one_k(
    name: str,
    group: str,
    base: str,
    spec: Scenario,
    *,
    seed: int,
    duration_s: float,
    amplitude_uv: float | None = None,
    voluntary: bool = False,
) -> Case:
    rec = synth_session(
        fs_hz=1000.0,
        duration_s=duration_s,
        acc_fs_hz=ACC_HZ,
        seed=seed,
        scenario=spec,
        baseline_uv=baseline(base),
        emg_channels=(f"emg_{base}",),
        voluntary_uv=baselines.real_contractions() if voluntary else (),
    )
    return Case(name, group, base, rec, amplitude_uv)


def build_cases(*, seed: int = 1, scale: float = 1.0) -> Iterator[Case]:
    """The benchmark recordings, built one by one.

    Args:
        seed: base seed; every case derives its own from it.
        scale: multiplies durations and counts (1.0: about 47 minutes of signal in all).
    """
    twitch_s = max(30.0, round(60.0 * scale))
    quiet = dataclasses.replace(SCENARIOS["twitches"], twitch_rate_per_min=30.0)
    k = seed * 1000
    for base in ("lower_limb", "bitalino"):
        for amp in AMPLITUDE_BINS_UV:
            spec = dataclasses.replace(quiet, twitch_amplitude_uv=(amp, amp))
            k += 1
            yield _one_k(
                f"twitch {amp:g}uV {base}",
                "twitch",
                base,
                spec,
                seed=k,
                duration_s=twitch_s,
                amplitude_uv=amp,
            )
    spasm = dataclasses.replace(SCENARIOS["spasm"], n_spasms=4)
    for i in range(max(1, round(3 * scale))):
        k += 1
        yield _one_k(f"spasm #{i}", "spasm", "lower_limb", spasm, seed=k, duration_s=200.0)
    for i in range(max(2, round(3 * scale))):
        k += 1
        yield _one_k(
            f"exercise #{i}",
            "exercise",
            "lower_limb",
            SCENARIOS["exercise"],
            seed=k,
            duration_s=120.0,
            voluntary=i % 2 == 0,
        )
    noisy = dataclasses.replace(
        SCENARIOS["twitches"],
        twitch_rate_per_min=30.0,
        twitch_amplitude_uv=(30.0, 300.0),
        mains_uv=10.0,
        mains_hz=60.0,
        n_artifacts=4,
    )
    for i in range(max(1, round(2 * scale))):
        k += 1
        yield _one_k(f"mains+motion #{i}", "noise", "lower_limb", noisy, seed=k, duration_s=120.0)
    rest_s = max(60.0, round(180.0 * scale))
    for base in ("lower_limb", "bitalino"):
        k += 1
        yield _one_k(f"rest {base}", "rest", base, SCENARIOS["rest"], seed=k, duration_s=rest_s)
    k += 1
    yield _myo("rest myo 200Hz 8ch", "rest", SCENARIOS["rest"], seed=k, duration_s=rest_s)
    for i in range(max(1, round(3 * scale))):
        k += 1
        yield _myo(
            f"consumer 200Hz 8ch #{i}",
            "consumer",
            SCENARIOS["consumer_200hz_8ch"],
            seed=k,
            duration_s=120.0,
        )


def _myo(name: str, group: str, spec: Scenario, *, seed: int, duration_s: float) -> Case:
    rec = synth_session(
        fs_hz=baselines.MYO_FS_HZ,
        duration_s=duration_s,
        n_emg=8,
        acc_fs_hz=MYO_ACC_HZ,
        seed=seed,
        scenario=spec,
        baseline_uv=baseline("myo"),
    )
    return Case(name, group, "myo", rec)
