"""Named scenarios: what a generated session contains and in what amounts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scenario:
    """Content of a synthetic session; ranges are (low, high), drawn per event.

    Attributes:
        twitch_rate_per_min: Poisson rate of twitch groups per channel during rest.
        twitch_amplitude_uv: p-p range of a twitch, drawn log-uniform, µV.
        visible_fraction: share of twitches with a mechanical (accelerometer) signature.
        visible_proxy_uv: without an accelerometer, twitches at or above this p-p are visible.
        visible_acc_ms2: peak acceleration of a visible twitch, m/s², log-uniform.
        doublet_fraction: share of twitches followed by a second discharge 30-35 ms later.
        train_fraction: share of twitches that start a 3-6 discharge train at 10-25 Hz.
        n_spasms: number of cramps.
        spasm_duration_s: cramp duration range, s.
        spasm_rms_uv: cramp RMS range, µV.
        spasm_channel: channel index of the cramps (None: random per cramp).
        n_rep_sets: number of exercise sets (voluntary reps on all channels, limb movement).
        reps_per_set: number of reps per set (inclusive range).
        rep_duration_s: duration range of one rep, s.
        rep_rms_uv: RMS range of a rep on its strongest channel, µV.
        n_artifacts: number of motion artefacts (EMG lurch + accelerometer knock).
        artifact_uv: peak range of a motion artefact, µV.
        mains_uv: peak amplitude of mains hum at the fundamental, µV (0: none).
        mains_hz: mains frequency, Hz.
        noise_rms_uv: synthetic rest noise RMS (20-450 Hz), µV, when no real baseline is given.
        acc_noise_mg: accelerometer white noise, mg RMS per axis.
        shuffle_blocks: place sets, cramps and artefacts in random order (else in that order).
    """

    twitch_rate_per_min: float = 0.0
    twitch_amplitude_uv: tuple[float, float] = (20.0, 300.0)
    visible_fraction: float = 0.5
    visible_proxy_uv: float = 100.0
    visible_acc_ms2: tuple[float, float] = (0.2, 1.0)
    doublet_fraction: float = 0.1
    train_fraction: float = 0.03
    n_spasms: int = 0
    spasm_duration_s: tuple[float, float] = (5.0, 40.0)
    spasm_rms_uv: tuple[float, float] = (30.0, 120.0)
    spasm_channel: int | None = None
    n_rep_sets: int = 0
    reps_per_set: tuple[int, int] = (4, 8)
    rep_duration_s: tuple[float, float] = (0.4, 2.5)
    rep_rms_uv: tuple[float, float] = (40.0, 250.0)
    n_artifacts: int = 0
    artifact_uv: tuple[float, float] = (100.0, 600.0)
    mains_uv: float = 0.0
    mains_hz: float = 50.0
    noise_rms_uv: float = 3.0
    acc_noise_mg: float = 0.5
    shuffle_blocks: bool = True


SCENARIOS: dict[str, Scenario] = {
    "rest": Scenario(),
    "twitches": Scenario(twitch_rate_per_min=40.0),
    "spasm": Scenario(twitch_rate_per_min=6.0, n_spasms=1),
    "exercise": Scenario(twitch_rate_per_min=6.0, n_rep_sets=3),
    "demo": Scenario(
        twitch_rate_per_min=30.0,
        twitch_amplitude_uv=(30.0, 300.0),
        n_spasms=1,
        spasm_duration_s=(9.0, 14.0),
        spasm_channel=0,
        n_rep_sets=1,
        reps_per_set=(6, 8),
        n_artifacts=1,
        mains_uv=3.0,
        shuffle_blocks=False,
    ),
    "consumer_200hz_8ch": Scenario(
        twitch_rate_per_min=8.0,
        twitch_amplitude_uv=(30.0, 300.0),
        n_spasms=1,
        spasm_duration_s=(8.0, 20.0),
        n_rep_sets=1,
        n_artifacts=1,
        mains_uv=5.0,
        noise_rms_uv=5.0,
        acc_noise_mg=2.0,
    ),
}
