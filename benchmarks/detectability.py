"""How small a twitch any threshold detector can find on each real rest baseline.

Usage::

    python -m benchmarks.detectability [--twitches 200] [--seed 1]

For each baseline of the accuracy benchmark (screened real rest: lower limb and BITalino at
1 kHz, the Myo's quiet electrodes at 200 Hz, each conditioned by twitchwatch's own band-pass and
mains notch) two detection features are computed:

* ``energy 5 ms``: the causal 5 ms mean of the squared signal (3 samples at 200 Hz), the
  feature twitchwatch thresholds (``twitch.on_factor`` x its median);
* ``matched bank``: the largest squared output of a bank of 24 unit-norm MUAP matched filters
  drawn from the very family the benchmark injects (an oracle no live detector has: it knows
  the twitch shapes).

The threshold of each feature is set just above its largest value on the twitch-free rest, i.e.
no false alarm on the whole baseline. Twitches of 20, 30 and 50 µV p-p are then injected (the
benchmark's generator, 250 ms apart; at 200 Hz band-limited as the generator does) and the
recall at that threshold is printed, also for p-p drawn log-uniform from 30-300 µV as the
200 Hz consumer case draws them. It is an upper
bound for "no false alarms on this rest" with that feature; twitchwatch's figures in
``benchmarks.accuracy`` should be compared with it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import signal

from benchmarks import baselines, cases
from processor.config import DetectionConfig
from processor.stages.conditioning import Conditioner
from processor.stages.filters import MovingMean
from processor.stages.twitch import energy_window_n
from processor.synth.muap import band_limit, muap_template

INTERNAL_HZ = 10_000.0
AMPLITUDES_UV = (20.0, 30.0, 50.0)
CONSUMER_RANGE_UV = (30.0, 300.0)  # the 200 Hz consumer case draws p-p log-uniform in this range
SPACING_S = 0.25
SEARCH_MS = 80.0  # found: the feature crosses within this of the onset (the bank peaks at its end)
WARMUP_S = 1.0  # the filters' start-up is not rest
BANK_SIZE = 24

Feature = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Rest:
    """Twitch-free rest of one baseline: one 1-D µV signal per electrode."""

    name: str
    fs_hz: float
    pieces: tuple[np.ndarray, ...]


def rests() -> list[Rest]:
    """The accuracy benchmark's screened rest baselines."""
    myo = cases.baseline("myo")
    electrodes = [myo[:, c] for c in range(myo.shape[1])]
    unique = [
        e for i, e in enumerate(electrodes) if not any(np.array_equal(e, o) for o in electrodes[:i])
    ]
    return [
        Rest("lower_limb", 1000.0, (cases.baseline("lower_limb"),)),
        Rest("bitalino", 1000.0, (cases.baseline("bitalino"),)),
        Rest("myo 200 Hz", baselines.MYO_FS_HZ, tuple(unique)),
    ]


def condition(x: np.ndarray, fs_hz: float) -> np.ndarray:
    """twitchwatch's band-pass and mains notch (auto) over a µV signal."""
    cfg = DetectionConfig()
    conditioner = Conditioner(cfg.conditioning, cfg.quality, fs_hz, 1, unit="uV")
    y: np.ndarray = conditioner.process_cn(x[np.newaxis, :], 0).y[0]
    return y


def template(rng: np.random.Generator, fs_hz: float) -> np.ndarray:
    """One MUAP of the benchmark's family at ``fs_hz``: 1 µV p-p before band-limiting, as the
    generator's truth counts it (a narrow MUAP keeps less than that at 200 Hz)."""
    wave = band_limit(muap_template(rng, INTERNAL_HZ).wave, round(INTERNAL_HZ / fs_hz))
    return np.asarray(wave, dtype=np.float64)


def energy_5ms(fs_hz: float) -> Feature:
    cfg = DetectionConfig()
    width = energy_window_n(cfg.envelope.fast_ms, cfg.twitch.low_rate_hz, fs_hz)

    def feature(y: np.ndarray) -> np.ndarray:
        energy: np.ndarray = MovingMean(width, 1).filter((y * y)[np.newaxis])[0]
        return energy

    return feature


def matched_bank(bank: list[np.ndarray]) -> Feature:
    unit = [t / np.linalg.norm(t) for t in bank]

    def feature(y: np.ndarray) -> np.ndarray:
        best = np.zeros_like(y)
        for t in unit:
            c = signal.lfilter(t[::-1], [1.0], y)  # causal correlation, ends at the template end
            np.maximum(best, c * c, out=best)
        return best

    return feature


Amplitude = float | tuple[float, float]


def draw(amp_uv: Amplitude, rng: np.random.Generator) -> float:
    """A fixed p-p, or one drawn log-uniform from a (low, high) range."""
    if isinstance(amp_uv, tuple):
        low, high = amp_uv
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))
    return amp_uv


def injected(
    rest: np.ndarray, fs_hz: float, amp_uv: Amplitude, n_twitches: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[int]]:
    """Rest tiled to fit ``n_twitches`` spaced ``SPACING_S`` apart, with the twitches added."""
    step = round(SPACING_S * fs_hz)
    n = (n_twitches + 2) * step + round(WARMUP_S * fs_hz)
    x = np.resize(rest, n).copy()
    first = round(WARMUP_S * fs_hz)
    onsets = [first + (k + 1) * step + int(rng.integers(0, step // 4)) for k in range(n_twitches)]
    for at in onsets:
        wave = template(rng, fs_hz) * draw(amp_uv, rng) * rng.choice([-1.0, 1.0])
        x[at : at + wave.size] += wave
    return x, onsets


def on_rest(feature: Feature, rest: Rest) -> np.ndarray:
    """The feature over every electrode's rest after the warm-up, joined."""
    warm = round(WARMUP_S * rest.fs_hz)
    return np.concatenate([feature(condition(x, rest.fs_hz))[warm:] for x in rest.pieces])


def recall(feature: Feature, rest: Rest, amp_uv: Amplitude, n: int, seed: int) -> float:
    """Share of ``n`` injected twitches whose feature exceeds every value on the rest."""
    threshold = float(on_rest(feature, rest).max())
    rng = np.random.default_rng(seed)
    search = round(SEARCH_MS * rest.fs_hz / 1000)
    found = []
    share = -(-n // len(rest.pieces))
    for piece in rest.pieces:
        x, onsets = injected(piece, rest.fs_hz, amp_uv, share, rng)
        f = feature(condition(x, rest.fs_hz))
        found += [f[at : at + search].max() > threshold for at in onsets]
    return float(np.mean(found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twitches", type=int, default=200, help="per amplitude and baseline")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("recall with no false alarm on the screened rest (threshold = its largest value)")
    header = f"{'baseline':<12}{'rest s':>7}{'rms µV':>8}  {'feature':<24}{'thr/median':>11}"
    low, high = CONSUMER_RANGE_UV
    print(header + "".join(f"{a:>8g} µV" for a in AMPLITUDES_UV) + f"  {low:g}-{high:g} µV")
    for rest in rests():
        bank_rng = np.random.default_rng(args.seed + 1000)
        bank = [template(bank_rng, rest.fs_hz) for _ in range(BANK_SIZE)]
        features: dict[str, Feature] = {
            "energy 5 ms": energy_5ms(rest.fs_hz),
            "matched bank (oracle)": matched_bank(bank),
        }
        y = on_rest(lambda v: v, rest)
        seconds = y.size / rest.fs_hz
        for name, feature in features.items():
            values = on_rest(feature, rest)
            ratio = float(values.max() / np.median(values))
            row = (
                f"{rest.name:<12}{seconds:>7.0f}{float(np.std(y)):>8.2f}  {name:<24}{ratio:>11.1f}"
            )
            for amp in (*AMPLITUDES_UV, CONSUMER_RANGE_UV):
                row += f"{recall(feature, rest, amp, args.twitches, args.seed):>11.2f}"
            print(row)


if __name__ == "__main__":
    main()
