"""Where the detection pipeline spends its time (a developer tool, not a unit test).

Usage::

    python -m benchmarks.pipeline_profile [--seconds 3600] [--chunk 1000] [--profile]

Times the pipeline on the speed benchmark's 1 kHz single-channel signal (tiled real ``emg_1``)
in ``--chunk``-sample chunks next to one 4th-order ``sosfilt`` pass over the same samples, and
the cost of a Myo's live notifications (8 channels, 200 Hz, 2 samples every 10 ms, with a 50 Hz
IMU sample every 20 ms), per 10 ms of signal. Both wall and CPU seconds are printed because the
machine is often shared. ``--profile`` adds a cProfile listing of the replay run.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from collections.abc import Callable

from scipy import signal

from benchmarks.speed import MYO, hour_signal, myo_chunks
from processor.config import DetectionConfig
from processor.model import Chunk, StreamInfo
from processor.stages.pipeline import Pipeline

FS_HZ = 1000.0


def _best(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best (wall, cpu) seconds over ``repeats`` runs."""
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def _replay(chunks: list[Chunk]) -> int:
    pipeline = Pipeline(DetectionConfig(), session_id="profile")
    events = sum(len(pipeline.process(c)) for c in chunks)
    return events + len(pipeline.flush())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3600, help="signal length, s")
    parser.add_argument("--chunk", type=int, default=1000, help="replay chunk, samples")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the replay run")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f}")
    x = hour_signal(args.seconds)
    info = StreamInfo("emg", FS_HZ, ("emg",), "uV")
    chunks = [Chunk(info, s, x[s : s + args.chunk, None]) for s in range(0, x.size, args.chunk)]
    sos = signal.butter(4, [20.0, 450.0], btype="bandpass", fs=FS_HZ, output="sos")
    floor = _best(lambda: signal.sosfilt(sos, x), args.repeats)
    replay = _best(lambda: _replay(chunks), args.repeats)
    print(f"{args.seconds} s x 1 ch @ 1 kHz, {args.chunk}-sample chunks ({len(chunks)} calls)")
    print(f"  sosfilt floor  wall {floor[0]:.3f} s  cpu {floor[1]:.3f} s")
    print(f"  pipeline       wall {replay[0]:.3f} s  cpu {replay[1]:.3f} s")
    print(f"  ratio to floor wall {floor[0] / replay[0]:.1%}  cpu {floor[1] / replay[1]:.1%}")
    live = myo_chunks(60.0, seed=1)
    n_emg = sum(c.stream == MYO for c in live)  # one per 10 ms of signal
    wall, cpu = _best(lambda: _replay(live), args.repeats)
    print(f"Myo 8 ch @ 200 Hz, 2-sample chunks + 50 Hz IMU ({len(live)} calls)")
    print(f"  wall {1e6 * wall / n_emg:.0f} us/10 ms  cpu {1e6 * cpu / n_emg:.0f} us/10 ms")
    print(f"  10 ms budget / wall cost: {n_emg / 100 / wall:.0f} streams per core")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(_replay, chunks)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
