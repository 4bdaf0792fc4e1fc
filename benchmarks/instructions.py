"""Instructions the pipeline executes, counted by callgrind (a developer tool, not a unit test).

Usage::

    python -m benchmarks.instructions [--workload replay|myo] [--seconds 300] [--top 20]

Wall and CPU times on a shared 2-core machine scatter by 20-30 % from run to run, which hides
changes of 5-15 %. ``valgrind --tool=callgrind`` counts instructions instead: for the same code
and input the count repeats to a fraction of a percent, whatever else the machine is doing.
The pipeline runs twice under callgrind, once after a short warm-up only (imports, first calls)
and once with the workload after the same warm-up; the difference is the workload's count.
OpenBLAS worker threads spinning after a matrix product would count too: they are kept to one
(the streaming stages do not multiply through BLAS anyway, see tests/test_architecture.py).

Workloads: ``replay`` is the speed benchmark's signal (tiled real ``emg_1``, 1 kHz, 1 channel)
in 10 s chunks; ``myo`` is its Myo stream (8 channels at 200 Hz in 2-sample notifications, with
a 50 Hz IMU sample every 20 ms). Compare two versions of the code by running this in each
checkout. ``--top N`` also lists the N compiled functions (numpy's, CPython's, libc's) whose
counts grew most between the two passes. Needs valgrind (Debian package ``valgrind``); runs
about 50x slower than natively.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from processor.config import DetectionConfig
from processor.model import Chunk, StreamInfo

_WARMUP = 30  # chunks run in both passes


def _chunks(workload: str, seconds: int) -> list[Chunk]:
    from benchmarks.speed import FS_HZ, hour_signal, myo_chunks

    if workload == "myo":
        return myo_chunks(float(seconds), seed=1)
    x = hour_signal(seconds)
    info = StreamInfo("emg", FS_HZ, ("emg",), "uV")
    step = 10 * int(FS_HZ)
    return [Chunk(info, s, x[s : s + step, None]) for s in range(0, x.size, step)]


def _run(chunks: list[Chunk]) -> None:
    from processor.stages.pipeline import Pipeline

    pipeline = Pipeline(DetectionConfig(), session_id="instructions")
    for chunk in chunks:
        pipeline.process(chunk)
    pipeline.flush()


def _child(workload: str, seconds: int, measured: bool) -> None:
    chunks = _chunks(workload, seconds)
    _run(chunks[:_WARMUP])
    if measured:
        _run(chunks)


def _count(workload: str, seconds: int, measured: bool, out: Path) -> int:
    args = [sys.executable, "-m", "benchmarks.instructions", "--child", workload]
    args += ["--seconds", str(seconds)] + (["--measured"] if measured else [])
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    subprocess.run(valgrind + args, check=True, env=env, capture_output=True)  # noqa: S603
    text = out.read_text(encoding="utf-8", errors="replace")
    found = re.search(r"^totals:\s+(\d+)", text, flags=re.MULTILINE)
    if found is None:
        raise SystemExit(f"{out}: no 'totals:' line in the callgrind output")
    return int(found.group(1))


def _by_function(out: Path) -> dict[str, int]:
    """Instructions per compiled function, from ``callgrind_annotate``."""
    text = subprocess.run(  # noqa: S603
        ["callgrind_annotate", "--threshold=100", str(out)],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    counts: dict[str, int] = {}
    for line in text.splitlines():
        found = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(.+)$", line)
        if found and "PROGRAM TOTALS" not in line:
            name = found.group(2).split(" [")[0].rsplit("/", 1)[-1]
            counts[name] = counts.get(name, 0) + int(found.group(1).replace(",", ""))
    return counts


def _top(base: Path, run: Path, n: int) -> None:
    before, after = _by_function(base), _by_function(run)
    grown = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    for name, count in sorted(grown.items(), key=lambda kv: -kv[1])[:n]:
        print(f"{count / 1e6:10.1f} M  {name[:100]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=("replay", "myo"), default="replay")
    parser.add_argument("--seconds", type=int, default=300, help="signal length, s")
    parser.add_argument("--top", type=int, default=0, help="list the N costliest functions")
    parser.add_argument("--child", choices=("replay", "myo"), help=argparse.SUPPRESS)
    parser.add_argument("--measured", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.seconds, args.measured)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        base_out, run_out = Path(tmp) / "base.out", Path(tmp) / "run.out"
        base = _count(args.workload, args.seconds, False, base_out)
        total = _count(args.workload, args.seconds, True, run_out)
        print(
            f"{args.workload}, {args.seconds} s of signal: {(total - base) / 1e6:.0f} M "
            f"instructions ({(total - base) / args.seconds / 1e6:.2f} M per second of signal)"
        )
        if args.top:
            _top(base_out, run_out, args.top)


if __name__ == "__main__":
    main()
