"""Build the bundled recordings in ``recordings/`` from the real baselines (deterministic).

Usage::

    python -m benchmarks.make_recordings [--out recordings]

Every recording is real resting EMG (screened: spontaneous transients cropped out) with
injected synthetic twitches and cramps from ``processor.synth``; the voluntary reps of the
1 kHz recordings are real knee-extension onsets from the UCI lower-limb set. Each file gets a
``<name>.truth.json`` next to it. See recordings/README.md for provenance and licences.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import pyedflib
from scipy import signal

from benchmarks import baselines
from processor.synth import SCENARIOS, SynthRecording, synth_session

OUT_DIR = baselines.ROOT / "recordings"

LOWER_LIMB = "UCI EMG dataset in Lower Limb, subject 3 seated (3Asen.txt), CC BY 4.0"
BIOSPPY = "BioSPPy examples/emg_1.txt, BSD-3-Clause"
MYO = "UCI EMG data for gestures (Lobov et al. 2018), Myo armband, CC BY 4.0"


def demo(seed: int = 11) -> SynthRecording:
    """60 s at 1 kHz, one thigh channel + 1 kHz accelerometer, all three classes + reps."""
    rest, _ = baselines.screened(baselines.quiet_lower_limb_uv(), 1000.0)
    spec = dataclasses.replace(
        SCENARIOS["demo"], twitch_rate_per_min=40.0, reps_per_set=(5, 6), spasm_duration_s=(9, 11)
    )
    return synth_session(
        fs_hz=1000.0,
        duration_s=60.0,
        acc_fs_hz=1000.0,
        seed=seed,
        scenario=spec,
        baseline_uv=rest,
        emg_channels=("emg_thigh",),
        voluntary_uv=baselines.real_contractions(),
    )


def consumer(seed: int = 12) -> SynthRecording:
    """90 s of a Myo-class band: 8 channels at 200 Hz, accelerometer at 200 Hz."""
    rest = baselines.myo_quiet_uv()
    return synth_session(
        fs_hz=baselines.MYO_FS_HZ,
        duration_s=90.0,
        n_emg=8,
        acc_fs_hz=200.0,
        seed=seed,
        scenario="consumer_200hz_8ch",
        baseline_uv=rest,
    )


def no_acc(seed: int = 13) -> SynthRecording:
    """30 s at 1 kHz without an accelerometer: twitches on real BITalino rest EMG."""
    rest, _ = baselines.screened(baselines.biosppy_emg_uv()[30000:], 1000.0)
    spec = dataclasses.replace(SCENARIOS["twitches"], twitch_rate_per_min=40.0)
    return synth_session(
        fs_hz=1000.0,
        duration_s=30.0,
        seed=seed,
        scenario=spec,
        baseline_uv=rest,
        emg_channels=("emg_forearm",),
    )


def write_csv(path: Path, rec: SynthRecording, comment: str) -> None:
    n = rec.emg_uv.shape[0]
    cols = [np.arange(n) / rec.fs_hz, *rec.emg_uv.T]
    fmt = ["%.3f"] + ["%.1f"] * rec.emg_uv.shape[1]
    names = ["time_s", *rec.emg_channels]
    if rec.acc_g is not None:
        if rec.acc_fs_hz != rec.fs_hz:
            raise ValueError("interchange CSV needs the accelerometer at the EMG rate")
        cols += list(rec.acc_g.T)
        fmt += ["%.3f"] * 3  # 1 mg, the LSB of a 12-bit +-2 g MEMS accelerometer
        names += ["acc_x", "acc_y", "acc_z"]
    header = f"{comment}\n" + ",".join(names)
    np.savetxt(path, np.column_stack(cols), fmt=fmt, delimiter=",", header=header, comments="# ")
    # the column header is a plain row, not a comment
    text = path.read_text(encoding="utf-8").replace("# " + ",".join(names), ",".join(names), 1)
    path.write_text(text, encoding="utf-8")


def write_edf(path: Path, rec: SynthRecording, acc_fs_hz: int) -> None:
    """EMG at its own rate and the accelerometer decimated to ``acc_fs_hz`` (multi-rate EDF+)."""
    signals: list[np.ndarray] = []
    headers: list[dict[str, str | int | float | None]] = []
    for name, x in zip(rec.emg_channels, rec.emg_uv.T, strict=True):
        label = "EMG " + name.removeprefix("emg_")
        headers.append(_header(label, "uV", rec.fs_hz, 5000.0))
        signals.append(np.ascontiguousarray(x))
    if rec.acc_g is not None and rec.acc_fs_hz is not None:
        factor = round(rec.acc_fs_hz / acc_fs_hz)
        acc = signal.resample_poly(rec.acc_g, 1, factor, axis=0)
        for axis, column in zip("XYZ", acc.T, strict=True):
            headers.append(_header(f"ACC {axis}", "g", float(acc_fs_hz), 4.0))
            signals.append(np.ascontiguousarray(column))
    with pyedflib.EdfWriter(str(path), len(signals), file_type=pyedflib.FILETYPE_EDFPLUS) as edf:
        edf.setSignalHeaders(headers)
        edf.setEquipment("twitchwatch_synthetic_injection")
        edf.writeSamples(signals)


def _header(
    label: str, unit: str, fs_hz: float, limit: float
) -> dict[str, str | int | float | None]:
    return {
        "label": label,
        "dimension": unit,
        "sample_frequency": fs_hz,
        "physical_min": -limit,
        "physical_max": limit,
        "digital_min": -32768,
        "digital_max": 32767,
        "transducer": "",
        "prefilter": "",
    }


def write_truth(
    path: Path, rec: SynthRecording, *, recording: str, baseline: str, seed: int, visibility: str
) -> None:
    doc = {
        "recording": recording,
        "duration_s": rec.duration_s,
        "emg_fs_hz": rec.fs_hz,
        "acc_fs_hz": rec.acc_fs_hz,
        "channels": list(rec.emg_channels),
        "baseline": baseline,
        "seed": seed,
        "visibility_evidence": visibility,
        "events": [
            {
                "type": e.type,
                "channel": e.channel,
                "start_s": round(e.start_s, 4),
                "end_s": round(e.end_s, 4),
                "peak_uv": round(e.peak_uv, 1),
                "visible": e.visible,
            }
            for e in rec.truth
        ],
    }
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def build(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    rec = demo()
    write_csv(
        out / "demo_session.csv",
        rec,
        f"twitchwatch demo: {LOWER_LIMB} + injected events; truth: demo_session.truth.json",
    )
    write_truth(
        out / "demo_session.truth.json",
        rec,
        recording="demo_session.csv and demo_session.edf (accelerometer at 200 Hz there)",
        baseline=LOWER_LIMB,
        seed=11,
        visibility="accelerometer",
    )
    write_edf(out / "demo_session.edf", rec, acc_fs_hz=200)
    written += [out / "demo_session.csv", out / "demo_session.edf"]

    rec = consumer()
    write_csv(
        out / "consumer_myo_200hz_8ch.csv",
        rec,
        f"twitchwatch consumer band: {MYO} rest (x{baselines.MYO_UV_PER_COUNT} uV/count "
        "assumed) + injected events; truth: consumer_myo_200hz_8ch.truth.json",
    )
    write_truth(
        out / "consumer_myo_200hz_8ch.truth.json",
        rec,
        recording="consumer_myo_200hz_8ch.csv",
        baseline=MYO,
        seed=12,
        visibility="accelerometer",
    )
    written.append(out / "consumer_myo_200hz_8ch.csv")

    rec = no_acc()
    write_csv(
        out / "twitches_no_acc.csv",
        rec,
        f"twitchwatch twitches without accelerometer: {BIOSPPY} (0.7985 uV/count assumed)"
        " + injected twitches; truth: twitches_no_acc.truth.json",
    )
    write_truth(
        out / "twitches_no_acc.truth.json",
        rec,
        recording="twitches_no_acc.csv",
        baseline=BIOSPPY,
        seed=13,
        visibility="amplitude (p-p >= 100 uV)",
    )
    written.append(out / "twitches_no_acc.csv")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    for path in build(args.out):
        print(f"{path}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
