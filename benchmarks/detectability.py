"""How small a twitch any threshold detector can find on each real rest baseline.

Usage::

    python -m benchmarks.detectability [--twitches 200] [--seed 1]

For each 1 kHz baseline of the accuracy benchmark (screened real rest, conditioned by
twitchwatch's own band-pass and mains notch) two detection features are computed:

* ``energy 5 ms``: the causal 5 ms mean of the squared signal, the feature twitchwatch
  thresholds (``twitch.on_factor`` x its median);
* ``matched bank``: the largest squared output of a bank of 24 unit-norm MUAP matched filters
  drawn from the very family the benchmark injects (an oracle no live detector has: it knows
  the twitch shapes).

The threshold of each feature is set just above its largest value on the twitch-free rest, i.e.
no false alarm on the whole baseline. Twitches of 20, 30 and 50 µV p-p are then injected (the
benchmark's generator, 250 ms apart) and the recall at that threshold is printed. It is an upper
bound for "no false alarms on this rest" with that feature; twitchwatch's figures in
``benchmarks.accuracy`` should be compared with it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from scipy import signal

from benchmarks import cases
from processor.config import DetectionConfig
from processor.stages.conditioning import Conditioner
from processor.synth.muap import band_limit, muap_template

FS_HZ = 1000.0
INTERNAL_HZ = 10_000.0
AMPLITUDES_UV = (20.0, 30.0, 50.0)
SPACING_S = 0.25
SEARCH_MS = 80.0  # found: the feature crosses within this of the onset (the bank peaks at its end)
BANK_SIZE = 24

Feature = Callable[[np.ndarray], np.ndarray]


def condition(x: np.ndarray) -> np.ndarray:
    """twitchwatch's band-pass and mains notch (auto) over a 1 kHz µV signal."""
    cfg = DetectionConfig()
    conditioner = Conditioner(cfg.conditioning, cfg.quality, FS_HZ, 1, unit="uV")
    y: np.ndarray = conditioner.process_cn(x[np.newaxis, :], 0).y[0]
    return y


def template(rng: np.random.Generator) -> np.ndarray:
    """One MUAP of the benchmark's family at 1 kHz, 1 µV p-p."""
    wave = band_limit(muap_template(rng, INTERNAL_HZ).wave, round(INTERNAL_HZ / FS_HZ))
    return np.asarray(wave / np.ptp(wave), dtype=np.float64)


def energy_5ms(y: np.ndarray) -> np.ndarray:
    width = round(0.005 * FS_HZ)
    return signal.lfilter(np.ones(width) / width, [1.0], y * y)


def matched_bank(bank: list[np.ndarray]) -> Feature:
    unit = [t / np.linalg.norm(t) for t in bank]

    def feature(y: np.ndarray) -> np.ndarray:
        best = np.zeros_like(y)
        for t in unit:
            c = signal.lfilter(t[::-1], [1.0], y)  # causal correlation, ends at the template end
            np.maximum(best, c * c, out=best)
        return best

    return feature


def injected(
    rest: np.ndarray, amp_uv: float, n_twitches: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[int]]:
    """Rest tiled to fit ``n_twitches`` spaced ``SPACING_S`` apart, with the twitches added."""
    step = round(SPACING_S * FS_HZ)
    n = (n_twitches + 2) * step
    x = np.resize(rest, n).copy()
    onsets = [(k + 1) * step + int(rng.integers(0, step // 4)) for k in range(n_twitches)]
    for at in onsets:
        wave = template(rng) * amp_uv * rng.choice([-1.0, 1.0])
        x[at : at + wave.size] += wave
    return x, onsets


def recall(feature: Feature, rest: np.ndarray, amp_uv: float, n: int, seed: int) -> float:
    on_rest = feature(condition(rest))
    threshold = float(on_rest[round(FS_HZ) :].max())  # after the filters' start-up
    x, onsets = injected(rest, amp_uv, n, np.random.default_rng(seed))
    f = feature(condition(x))
    search = round(SEARCH_MS * FS_HZ / 1000)
    return float(np.mean([f[at : at + search].max() > threshold for at in onsets]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twitches", type=int, default=200, help="per amplitude and baseline")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    bank_rng = np.random.default_rng(args.seed + 1000)
    features: dict[str, Feature] = {
        "energy 5 ms": energy_5ms,
        "matched bank (oracle)": matched_bank([template(bank_rng) for _ in range(BANK_SIZE)]),
    }
    print("recall with no false alarm on the screened rest (threshold = its largest value)")
    header = f"{'baseline':<12}{'rms µV':>8}  {'feature':<24}{'thr/median':>11}"
    print(header + "".join(f"{a:>8g} µV" for a in AMPLITUDES_UV))
    for base in ("lower_limb", "bitalino"):
        rest = cases.baseline(base)
        y = condition(rest)[round(FS_HZ) :]
        for name, feature in features.items():
            on_rest = feature(condition(rest))[round(FS_HZ) :]
            ratio = float(on_rest.max() / np.median(on_rest))
            row = f"{base:<12}{float(np.std(y)):>8.2f}  {name:<24}{ratio:>11.1f}"
            for amp in AMPLITUDES_UV:
                row += f"{recall(feature, rest, amp, args.twitches, args.seed):>11.2f}"
            print(row)


if __name__ == "__main__":
    main()
