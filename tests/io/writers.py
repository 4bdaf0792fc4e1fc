"""Writers of small test recordings (CSV and EDF+/BDF+) from arrays."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyedflib
from numpy.typing import NDArray


def write_csv(
    path: Path,
    emg_uv: NDArray[np.float64],
    *,
    fs_hz: float = 1000.0,
    names: Sequence[str] | None = None,
    acc_g: NDArray[np.float64] | None = None,
    times_s: NDArray[np.float64] | None = None,
    comments: Sequence[str] = ("# test recording",),
    extra_column: bool = False,
) -> Path:
    """Write the interchange CSV: time_s, EMG columns (µV), optional acc_x/y/z (g)."""
    n, n_emg = emg_uv.shape
    names = list(names or [f"emg_{i}" for i in range(n_emg)])
    times = np.arange(n) / fs_hz if times_s is None else times_s
    header = ["time_s", *names]
    columns = [times[:, None], emg_uv]
    if acc_g is not None:
        header += ["acc_x", "acc_y", "acc_z"]
        columns.append(acc_g)
    table = np.hstack(columns)
    with path.open("w", encoding="utf-8") as out:
        for line in comments:
            out.write(line + "\n")
        out.write(",".join(header) + (",label" if extra_column else "") + "\n")
        for row in table:
            cells = ",".join(f"{v:.9g}" for v in row)
            out.write(cells + (",rest" if extra_column else "") + "\n")
    return path


def write_edf(
    path: Path,
    signals: Sequence[tuple[str, float, str, NDArray[np.float64]]],
    *,
    bdf: bool = False,
) -> Path:
    """Write an EDF+ (or BDF+) file; each signal is (label, fs_hz, unit, values)."""
    file_type = pyedflib.FILETYPE_BDFPLUS if bdf else pyedflib.FILETYPE_EDFPLUS
    digital = (-8388608, 8388607) if bdf else (-32768, 32767)
    writer = pyedflib.EdfWriter(str(path), len(signals), file_type=file_type)
    try:
        headers: list[dict[str, str | int | float | None]] = []
        for label, fs_hz, unit, values in signals:
            peak = float(np.ceil(np.max(np.abs(values)) * 1.1 + 1.0))
            headers.append(
                {
                    "label": label,
                    "dimension": unit,
                    "sample_frequency": fs_hz,
                    "physical_max": peak,
                    "physical_min": -peak,
                    "digital_max": digital[1],
                    "digital_min": digital[0],
                    "transducer": "",
                    "prefilter": "",
                }
            )
        writer.setSignalHeaders(headers)
        writer.writeSamples([np.ascontiguousarray(s[3], dtype=np.float64) for s in signals])
    finally:
        writer.close()
    return path
