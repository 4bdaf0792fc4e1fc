"""Speed benchmark: twitchwatch vs one sosfilt pass vs BioSPPy vs NeuroKit2, side by side.

Usage::

    python -m benchmarks.speed [--quick] [--hours-memory 1,4] [--json out.json]

The common input is detection.md section 4's: a 1-hour, 1-channel, 1 kHz signal made by
tiling the real BioSPPy ``emg_1.txt`` (converted to µV) plus N(0, 0.4 µV) noise (3.6 M
samples). ``--quick`` runs the third-party libraries on a 10-minute slice instead and says so
(their cost is linear in length; NeuroKit2 needs ~75 s for the hour).

Also measured: end-to-end ``twitchwatch replay`` of the hour as a CSV file; the cost of one
live-sized chunk (Myo: 200 Hz x 8 channels, 2 samples every 10 ms plus a 50 Hz IMU sample every
20 ms, cost per 10 ms; 1 kHz x 1 channel in 20 ms chunks); how many such Myo streams one core
keeps up with (N pipelines fed the interleaved notifications; the largest N still >= 1x real
time); peak RSS of a pipeline run
over 1 h vs several hours of signal generated on the fly (memory flat in length).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from scipy import signal

from benchmarks import baselines
from processor.config import DetectionConfig, ReplayConfig
from processor.model import Chunk, StreamInfo

FS_HZ = 1000.0
HOUR = 3600
MYO = StreamInfo("emg", 200.0, tuple(f"emg_{i}" for i in range(8)), "uV")
MYO_IMU = StreamInfo("acc", 50.0, ("acc_x", "acc_y", "acc_z"), "g")


def hour_signal(seconds: int = HOUR, seed: int = 0) -> np.ndarray:
    """Tiled real emg_1 (µV) plus a little noise: shape (seconds * 1000,)."""
    x = baselines.biosppy_emg_uv()
    n = round(seconds * FS_HZ)
    rng = np.random.default_rng(seed)
    return np.resize(x, n) + rng.normal(0.0, 0.4, n)


def best_of(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def run_pipeline(x: np.ndarray, fs_hz: float, chunk: int, info: StreamInfo | None = None) -> int:
    from processor.stages.pipeline import Pipeline

    data = x if x.ndim == 2 else x[:, None]
    info = info or StreamInfo("emg", fs_hz, tuple(f"emg_{i}" for i in range(data.shape[1])), "uV")
    pipeline = Pipeline(DetectionConfig(), session_id="speed")
    events = 0
    for start in range(0, data.shape[0], chunk):
        events += len(pipeline.process(Chunk(info, start, data[start : start + chunk])))
    return events + len(pipeline.flush())


def sosfilt_floor(x: np.ndarray) -> None:
    sos = signal.butter(4, [20.0, 450.0], btype="bandpass", fs=FS_HZ, output="sos")
    signal.sosfilt(sos, x, axis=0)


def biosppy_call(x: np.ndarray) -> None:
    from biosppy.signals import emg

    emg.emg(signal=x, sampling_rate=FS_HZ, show=False)


def neurokit_call(x: np.ndarray) -> None:
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nk.emg_process(x, sampling_rate=int(FS_HZ))


def replay_cli(x: np.ndarray) -> float | str:
    """Seconds for ``twitchwatch replay --quiet`` of the signal written as interchange CSV."""
    exe = Path(sys.executable).with_name("twitchwatch")
    if not exe.exists():
        return "twitchwatch executable not found"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.csv"
        t = np.arange(x.shape[0]) / FS_HZ
        np.savetxt(
            path,
            np.column_stack([t, x]),
            fmt=["%.3f", "%.2f"],
            delimiter=",",
            header="time_s,emg",
            comments="",
        )
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - our own executable, fixed arguments
            [
                str(exe),
                "replay",
                str(path),
                "--quiet",
                "--no-history",
                "--events-out",
                str(Path(tmp) / "events.jsonl"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        return f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[-200:]}"
    return elapsed


def myo_chunks(seconds: float, seed: int) -> list[Chunk]:
    """Synthetic 8-channel 200 Hz session as the Myo delivers it.

    2 EMG samples every 10 ms and 1 IMU sample every 20 ms, interleaved in time order.
    """
    from processor.synth import synth_session

    rec = synth_session(
        fs_hz=200.0,
        duration_s=seconds,
        n_emg=8,
        seed=seed,
        scenario="consumer_200hz_8ch" if seconds >= 60 else "twitches",
        acc_fs_hz=MYO_IMU.fs_hz,
    )
    emg, imu = rec.emg_uv, rec.acc_g
    assert imu is not None  # noqa: S101 - asked for above
    out = []
    for i in range(0, emg.shape[0] - 1, 2):
        if i % 4 == 0 and i // 4 < imu.shape[0]:  # in time order: the IMU sample taken now
            out.append(Chunk(MYO_IMU, i // 4, imu[i // 4 : i // 4 + 1]))
        out.append(Chunk(MYO, i, emg[i : i + 2]))
    return out


def live_cost_us(chunks: list[Chunk], per: StreamInfo | None = None) -> float:
    """Wall microseconds per chunk fed live, after a warm-up (``per``: per chunk of that stream).

    Per Myo EMG chunk is per 10 ms of signal, the IMU's chunks included in the cost.
    """
    from processor.stages.pipeline import Pipeline

    pipeline = Pipeline(DetectionConfig(), session_id="live")
    warm = len(chunks) // 10
    for c in chunks[:warm]:
        pipeline.process(c)
    started = time.perf_counter()
    for c in chunks[warm:]:
        pipeline.process(c)
    elapsed = time.perf_counter() - started
    return 1e6 * elapsed / sum(per is None or c.stream == per for c in chunks[warm:])


def realtime_factor(n_streams: int, chunks: list[Chunk], seconds: float) -> float:
    """Signal seconds per wall second for ``n_streams`` pipelines fed interleaved chunks."""
    from processor.stages.pipeline import Pipeline

    pipelines = [Pipeline(DetectionConfig(), session_id=f"s{i}") for i in range(n_streams)]
    started = time.perf_counter()
    for c in chunks:
        for p in pipelines:
            p.process(c)
    return seconds / (time.perf_counter() - started)


def streams_per_core(seconds: float = 20.0) -> tuple[int, list[tuple[int, float]]]:
    chunks = myo_chunks(seconds, seed=3)
    one = realtime_factor(1, chunks, seconds)
    tried: list[tuple[int, float]] = [(1, one)]
    n = max(1, int(one * 0.95))
    factor = realtime_factor(n, chunks, seconds)
    tried.append((n, factor))
    while factor < 1.0 and n > 1:
        n = max(1, int(n * factor * 0.97))
        factor = realtime_factor(n, chunks, seconds)
        tried.append((n, factor))
    while True:
        bigger = int(n * 1.05) + 1
        f = realtime_factor(bigger, chunks, seconds)
        tried.append((bigger, f))
        if f < 1.0:
            break
        n, factor = bigger, f
    return n, tried


def _generated(hours: float, chunk: int) -> Iterator[Chunk]:
    base = hour_signal(64)
    info = StreamInfo("emg", FS_HZ, ("emg",), "uV")
    total = round(hours * HOUR * FS_HZ)
    for start in range(0, total, chunk):
        idx = np.arange(start, min(start + chunk, total)) % base.shape[0]
        yield Chunk(info, start, base[idx][:, None])


def memory_child(hours: float) -> None:
    from processor.stages.pipeline import Pipeline

    pipeline = Pipeline(DetectionConfig(), session_id="mem")
    events = 0
    for c in _generated(hours, 1000):
        events += len(pipeline.process(c))
    events += len(pipeline.flush())
    print(json.dumps({"hours": hours, "peak_rss_mb": _peak_rss_mb(), "events": events}))


def _peak_rss_mb() -> float:
    """This process's peak RSS since exec (VmHWM; ru_maxrss would include the forking parent)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss(hours: float) -> dict[str, float]:
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "benchmarks.speed", "--memory-child", str(hours)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="third-party libraries on a 10-minute slice only (stated)",
    )
    parser.add_argument("--hours-memory", default="1,4")
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end replay")
    parser.add_argument("--json")
    parser.add_argument("--memory-child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child is not None:
        memory_child(args.memory_child)
        return
    out: dict[str, object] = {"load_avg": os.getloadavg()}
    x = hour_signal()
    n = x.shape[0]
    print(f"input: 1 h, 1 channel, 1 kHz ({n / 1e6:.1f} M samples), tiled real emg_1 (µV)")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores)")
    rows: list[tuple[str, float, int]] = []
    t = best_of(lambda: sosfilt_floor(x), 3)
    rows.append(("scipy sosfilt, 4th-order band-pass (floor)", t, n))
    replay_chunk = int(ReplayConfig().chunk_ms * FS_HZ / 1000)  # what `replay` hands over
    replay_label = f"twitchwatch Pipeline, replay chunks ({replay_chunk / FS_HZ:g} s)"
    t = best_of(lambda: run_pipeline(x, FS_HZ, replay_chunk), 2)
    rows.append((replay_label, t, n))
    t = best_of(lambda: run_pipeline(x, FS_HZ, 1000), 2)
    rows.append(("twitchwatch Pipeline, 1 s chunks", t, n))
    t = best_of(lambda: run_pipeline(x, FS_HZ, 60000), 1)
    rows.append(("twitchwatch Pipeline, 60 s chunks", t, n))
    x8 = np.column_stack([np.roll(x, k * 7919) for k in range(8)])
    t = best_of(lambda: sosfilt_floor(x8), 2)
    rows.append(("scipy sosfilt, same, 8 channels (floor)", t, x8.size))
    t = best_of(lambda: run_pipeline(x8, FS_HZ, replay_chunk), 1)
    rows.append(("twitchwatch Pipeline, 8 channels, replay chunks", t, x8.size))
    third = x if not args.quick else x[: 600 * int(FS_HZ)]
    note = "" if not args.quick else " (10-min slice, --quick)"
    rows.append((f"BioSPPy emg.emg{note}", best_of(lambda: biosppy_call(third), 2), third.size))
    rows.append(
        (f"NeuroKit2 emg_process{note}", best_of(lambda: neurokit_call(third), 1), third.size)
    )
    if not args.no_cli:
        cli = replay_cli(x)
        if isinstance(cli, float):
            rows.append(("twitchwatch replay hour.csv (end to end, CLI)", cli, n))
        else:
            print(f"twitchwatch replay: not measured ({cli})")
    print(f"\n{'what':<56}{'seconds':>10}{'M samples/s':>14}{'x real time':>14}")
    rates: dict[str, float] = {}
    for label, seconds, samples in rows:
        rate = samples / seconds
        rates[label] = rate
        realtime = samples / (8 if "8 channels" in label else 1) / FS_HZ / seconds
        print(f"{label:<56}{seconds:>10.2f}{rate / 1e6:>14.3f}{realtime:>14.0f}")
    out["rows"] = [{"what": r[0], "seconds": r[1], "samples": r[2]} for r in rows]
    tw = rates[replay_label]
    floor = rates["scipy sosfilt, 4th-order band-pass (floor)"]
    bio = next(v for k, v in rates.items() if k.startswith("BioSPPy"))
    nk = next(v for k, v in rates.items() if k.startswith("NeuroKit2"))
    print(f"\ntwitchwatch / sosfilt floor: {tw / floor:.1%}   (target >= 25 %)")
    print(f"twitchwatch / BioSPPy: {tw / bio:.1f}x   (target >= 15x)")
    print(f"twitchwatch / NeuroKit2: {tw / nk:.1f}x")
    tw8 = rates["twitchwatch Pipeline, 8 channels, replay chunks"]
    floor8 = rates["scipy sosfilt, same, 8 channels (floor)"]
    print(
        f"8 channels: twitchwatch / sosfilt floor: {tw8 / floor8:.1%}; "
        f"twitchwatch / BioSPPy (per channel, x8): {tw8 / bio:.1f}x"
    )
    out |= {"ratio_floor_8ch": tw8 / floor8, "ratio_biosppy_8ch": tw8 / bio}
    out |= {"ratio_floor": tw / floor, "ratio_biosppy": tw / bio, "ratio_neurokit": tw / nk}

    myo_us = live_cost_us(myo_chunks(60.0, seed=1), per=MYO)
    one_k = hour_signal(60)[:, None]
    info = StreamInfo("emg", FS_HZ, ("emg",), "uV")
    live = [Chunk(info, i, one_k[i : i + 20]) for i in range(0, one_k.shape[0], 20)]
    live_us = live_cost_us(live)
    print(
        f"\nlive cost: Myo 200 Hz x 8 ch, 2 EMG samples per 10 ms + 50 Hz IMU: {myo_us:.0f} us "
        f"per 10 ms ({myo_us / 1e4:.1%} of the budget)"
    )
    print(f"live chunk cost: 1 kHz x 1 ch, 20 samples (20 ms): {live_us:.0f} us/call")
    n_streams, tried = streams_per_core()
    print(
        f"Myo streams (8-ch 200 Hz EMG + 50 Hz IMU) one core keeps up with: {n_streams} "
        f"(N, x real time tried: {', '.join(f'{a}: {b:.2f}' for a, b in tried)})"
    )
    out |= {
        "myo_chunk_us": myo_us,
        "live_1k_chunk_us": live_us,
        "streams_per_core": n_streams,
        "streams_tried": tried,
    }

    mem = [peak_rss(float(h)) for h in args.hours_memory.split(",")]
    for m in mem:
        print(
            f"peak RSS, pipeline over {m['hours']:g} h of 1 kHz EMG (1 s chunks): "
            f"{m['peak_rss_mb']:.0f} MB"
        )
    out["memory"] = mem
    out["load_avg_end"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
