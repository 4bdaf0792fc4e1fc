"""Reader throughput and peak memory for each recording format (a script, not a test).

Generates a 1-hour and a 10-hour 8-channel recording in each format under a temporary folder
(CSV and EDF+ at 1 kHz; the raw ``.twrec`` as a Myo armband, the 8-channel device, at its
200 Hz), reads each one in a fresh subprocess through ``open_recording(...).items()`` and
prints, side by side: channel-samples per second and peak RSS (``ru_maxrss``) of the reading
process, with the RSS after imports as the baseline. Files are deleted at the end.

    python -m benchmarks.readers                 # 1 h and 10 h, every format
    python -m benchmarks.readers --hours 1       # quicker
    python -m benchmarks.readers --formats csv edf --keep --dir /data/bench
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_CHANNELS = 8
FS_HZ = 1000.0
MYO_FS_HZ = 200.0
BLOCK_S = 60
FORMATS = ("csv", "edf", "twrec")


def _noise_block(fs_hz: float, scale: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, scale, (round(BLOCK_S * fs_hz), N_CHANNELS))


def write_csv(path: Path, hours: float) -> None:
    """Fast writer: the 8 data columns of one minute are formatted once and reused."""
    block = _noise_block(FS_HZ, 20.0)
    suffixes = ["," + ",".join(f"{v:.2f}" for v in row) + "\n" for row in block]
    n_blocks = round(hours * 3600 / BLOCK_S)
    per_block = len(suffixes)
    with path.open("w", encoding="ascii", buffering=1 << 20) as out:
        out.write("# benchmark recording\n")
        out.write("time_s," + ",".join(f"emg_{i}" for i in range(N_CHANNELS)) + "\n")
        for b in range(n_blocks):
            base = b * per_block
            out.write(
                "".join(f"{(base + k) / FS_HZ:.3f}{suffix}" for k, suffix in enumerate(suffixes))
            )


def write_edf(path: Path, hours: float) -> None:
    import pyedflib

    block = _noise_block(FS_HZ, 20.0)
    writer = pyedflib.EdfWriter(str(path), N_CHANNELS, file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders(
            [
                {
                    "label": f"EMG {i}",
                    "dimension": "uV",
                    "sample_frequency": FS_HZ,
                    "physical_max": 200.0,
                    "physical_min": -200.0,
                    "digital_max": 32767,
                    "digital_min": -32768,
                    "transducer": "",
                    "prefilter": "",
                }
                for i in range(N_CHANNELS)
            ]
        )
        columns = [np.ascontiguousarray(np.clip(block[:, i], -199, 199)) for i in range(N_CHANNELS)]
        for _ in range(round(hours * 3600 / BLOCK_S)):
            writer.writeSamples(columns)
    finally:
        writer.close()


def write_twrec(path: Path, hours: float) -> None:
    import devices
    from processor.io.rawrec_write import RawRecordingWriter, emg_notifications

    counts = np.clip(_noise_block(MYO_FS_HZ, 20.0), -127, 127)
    block_ns = BLOCK_S * 1_000_000_000
    template = emg_notifications("myo", counts, wearable="w0")
    with RawRecordingWriter(path) as writer:
        writer.add_wearable("w0", devices.get_profile("myo"))
        for b in range(round(hours * 3600 / BLOCK_S)):
            for note in template:
                writer.write_at(note.t_ns + b * block_ns, note)


WRITERS = {"csv": write_csv, "edf": write_edf, "twrec": write_twrec}


def measure(path: Path, chunk_ms: float) -> dict[str, float]:
    """Read every item (in this process) and report counts, time and RSS (KiB)."""
    from processor.config.io import ReplayConfig
    from processor.io.readers import open_recording
    from processor.model import Chunk

    suffix = path.suffix.lower()
    importlib.import_module(  # so the baseline includes the reader's own imports
        {".csv": "processor.io.csv_reader", ".twrec": "processor.io.rawrec"}.get(
            suffix, "processor.io.edf_reader"
        )
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    channel_samples = 0
    samples = 0
    gaps = 0
    with open_recording(path, ReplayConfig(chunk_ms=chunk_ms)) as reader:
        for item in reader.items():
            if isinstance(item, Chunk):
                if item.stream.name == "emg":
                    samples += item.data.shape[0]
                channel_samples += item.data.size
            else:
                gaps += 1
    elapsed = time.perf_counter() - started
    return {
        "samples": samples,
        "channel_samples": channel_samples,
        "gaps": gaps,
        "seconds": elapsed,
        "rss_baseline_kib": rss_before,
        "rss_peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def _measure_in_subprocess(path: Path, chunk_ms: float) -> dict[str, float]:
    result = subprocess.run(  # noqa: S603 - this same script
        [
            sys.executable,
            "-m",
            "benchmarks.readers",
            "--measure",
            str(path),
            "--chunk-ms",
            str(chunk_ms),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--chunk-ms", type=float, default=1000.0)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the files")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.chunk_ms)))
        return
    formats = [
        f for f in args.formats if f != "twrec" or importlib.util.find_spec("processor.io.rawrec")
    ]
    folder = Path(tempfile.mkdtemp(prefix="twitchwatch-bench-", dir=args.dir))
    rows = []
    try:
        for fmt in formats:
            for hours in args.hours:
                path = folder / f"bench_{hours:g}h.{fmt}"
                started = time.perf_counter()
                WRITERS[fmt](path, hours)
                write_s = time.perf_counter() - started
                print(
                    f"wrote {path.name}: {path.stat().st_size / 1e6:,.0f} MB in {write_s:.1f} s",
                    flush=True,
                )
                result = _measure_in_subprocess(path, args.chunk_ms)
                rows.append((fmt, hours, path.stat().st_size, result))
                print(f"  read in {result['seconds']:.1f} s", flush=True)
                if not args.keep:
                    path.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print()
    version = sys.version.split()[0]
    print(f"Reader benchmark: {N_CHANNELS} channels, chunk_ms={args.chunk_ms:g}, python {version}")
    print("(csv/edf at 1000 Hz; twrec is a Myo recording at 200 Hz, decoded through its profile)")
    columns = [
        ("format", 7),
        ("hours", 6),
        ("file MB", 10),
        ("samples", 14),
        ("read s", 9),
        ("Msamples/s", 12),
        ("ch-Msamples/s", 15),
        ("RSS base MB", 13),
        ("RSS peak MB", 13),
    ]
    header = "".join(
        f"{name:<{w}}" if i == 0 else f"{name:>{w}}" for i, (name, w) in enumerate(columns)
    )
    print(header)
    print("-" * len(header))
    for fmt, hours, size, r in rows:
        seconds = r["seconds"]
        cells = [
            f"{fmt:<7}",
            f"{hours:>6g}",
            f"{size / 1e6:>10,.0f}",
            f"{int(r['samples']):>14,}",
            f"{seconds:>9.1f}",
            f"{r['samples'] / seconds / 1e6:>12.2f}",
            f"{r['channel_samples'] / seconds / 1e6:>15.2f}",
            f"{r['rss_baseline_kib'] / 1024:>13.0f}",
            f"{r['rss_peak_kib'] / 1024:>13.0f}",
        ]
        print("".join(cells))


if __name__ == "__main__":
    main()
