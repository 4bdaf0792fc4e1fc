from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from processor.config.io import ReplayConfig
from processor.errors import RecordingError
from processor.io import csv_reader
from processor.io.readers import open_recording
from processor.model import Chunk, Gap
from tests.io.writers import write_csv

RNG = np.random.default_rng(7)


def _collect(path: Path, cfg: ReplayConfig | None = None) -> list[Chunk | Gap]:
    with open_recording(path, cfg or ReplayConfig()) as reader:
        return list(reader.items())


def _stream(items: list[Chunk | Gap], name: str) -> np.ndarray:
    return np.concatenate([i.data for i in items if isinstance(i, Chunk) and i.stream.name == name])


def test_reads_emg_and_acc_at_row_rate_in_chunks(tmp_path: Path) -> None:
    emg = RNG.normal(0, 20, (2500, 2))
    acc = RNG.normal(0, 0.1, (2500, 3)) + np.array([0.0, 0.0, 1.0])
    path = write_csv(
        tmp_path / "r.csv", emg, names=["emg_calf", "emg"], acc_g=acc, extra_column=True
    )
    items = _collect(path, ReplayConfig(chunk_ms=1000))
    assert all(isinstance(i, Chunk) for i in items)
    chunks = [i for i in items if isinstance(i, Chunk)]
    assert [(c.stream.name, c.start_index, c.data.shape) for c in chunks] == [
        ("emg", 0, (1000, 2)),
        ("acc", 0, (1000, 3)),
        ("emg", 1000, (1000, 2)),
        ("acc", 1000, (1000, 3)),
        ("emg", 2000, (500, 2)),
        ("acc", 2000, (500, 3)),
    ]
    emg_info = chunks[0].stream
    assert emg_info.fs_hz == 1000.0
    assert emg_info.channels == ("emg_calf", "emg")
    assert emg_info.unit == "uV"
    assert emg_info.t0_s == 0.0
    assert chunks[1].stream.channels == ("acc_x", "acc_y", "acc_z")
    assert chunks[1].stream.unit == "g"
    np.testing.assert_allclose(_stream(items, "emg"), emg, rtol=1e-8)
    np.testing.assert_allclose(_stream(items, "acc"), acc, rtol=1e-8)
    assert all(c.data.dtype == np.float64 and c.data.flags.c_contiguous for c in chunks)


def test_duration_from_last_line_and_time_offset(tmp_path: Path) -> None:
    times = 100.0 + np.arange(3000) / 500.0
    path = write_csv(tmp_path / "r.csv", RNG.normal(size=(3000, 1)), times_s=times)
    with open_recording(path, ReplayConfig()) as reader:
        assert reader.duration_s == pytest.approx(6.0)
        first = next(iter(reader.items()))
    assert isinstance(first, Chunk)
    assert first.stream.fs_hz == 500.0
    assert first.stream.t0_s == 0.0


@pytest.mark.parametrize("block_bytes", [64, 333, 4096, 1 << 21])
def test_block_size_does_not_change_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    times = np.arange(1200) / 1000.0
    keep = np.ones(1200, dtype=bool)
    keep[[300, 301, 302, 700]] = False  # two gaps
    emg = RNG.normal(0, 30, (1200, 3))[keep]
    path = write_csv(tmp_path / "r.csv", emg, times_s=times[keep])
    monkeypatch.setattr(csv_reader, "_BLOCK_BYTES", block_bytes)
    items = _collect(path, ReplayConfig(chunk_ms=250))
    summary = [
        (i.start_index, i.n_missing) if isinstance(i, Gap) else (i.start_index, len(i.data))
        for i in items
    ]
    assert summary == [
        (0, 250),
        (250, 50),
        (300, 3),
        (303, 250),
        (553, 147),
        (700, 1),
        (701, 250),
        (951, 249),
    ]
    np.testing.assert_allclose(_stream(items, "emg"), emg, rtol=1e-8)


def test_gap_is_reported_and_never_joined(tmp_path: Path) -> None:
    times = np.r_[np.arange(100), np.arange(150, 300)] / 1000.0
    path = write_csv(tmp_path / "g.csv", RNG.normal(size=(250, 1)), times_s=times)
    items = _collect(path)
    gaps = [i for i in items if isinstance(i, Gap)]
    assert len(gaps) == 1
    gap = gaps[0]
    assert (gap.stream, gap.start_index, gap.n_missing) == ("emg", 100, 50)
    assert "0.099" in gap.reason
    after = items[items.index(gap) + 1]
    assert isinstance(after, Chunk)
    assert after.start_index == 150


def test_jitter_is_not_a_gap_and_tolerance_widens_it(tmp_path: Path) -> None:
    steps = np.full(999, 1e-3) * RNG.uniform(0.7, 1.3, 999)
    steps[500] = 3e-3  # two rows missing
    times = np.r_[0.0, np.cumsum(steps)]
    path = write_csv(tmp_path / "j.csv", RNG.normal(size=(1000, 1)), times_s=times)
    gaps = [i for i in _collect(path) if isinstance(i, Gap)]
    assert [(g.start_index, g.n_missing) for g in gaps] == [(501, 2)]
    tolerant = [i for i in _collect(path, ReplayConfig(max_gap_ms=5)) if isinstance(i, Gap)]
    assert tolerant == []


def test_tab_delimiter_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"time_s\temg_a\r\n0.0\t1.5\r\n0.001\t2.5\r\n0.002\t-3\r\n\r\n")
    items = _collect(path)
    np.testing.assert_allclose(_stream(items, "emg")[:, 0], [1.5, 2.5, -3.0])


HEADER = "time_s,emg_a,emg_b\n"
BAD_CASES = [
    ("empty", "", "empty file"),
    ("only comments", "# a\n# b\n", "empty file"),
    ("no header", "0.0,1,2\n0.001,1,2\n", "line 1: no header row"),
    ("no time", "t,emg_a\n0,1\n", "column time_s is missing"),
    ("time not first", "emg_a,time_s\n1,0\n", "time_s is not the first column"),
    ("no emg", "time_s,ecg\n0,1\n0.001,2\n", "no EMG column"),
    ("partial acc", "time_s,emg,acc_x\n0,1,2\n", "missing acc_y, acc_z"),
    ("duplicate column", "time_s,emg,EMG\n0,1,1\n", "duplicated column"),
    ("one row", HEADER + "0,1,2\n", "fewer than 2 data rows"),
    ("duplicated time", HEADER + "0,1,2\n0.001,1,2\n0.001,1,2\n", "line 4: time_s duplicated"),
    ("backwards time", HEADER + "0,1,2\n0.002,1,2\n0.001,1,2\n", "line 4: time_s goes backwards"),
    ("nan", HEADER + "0,1,2\n0.001,nan,2\n", "line 3, column emg_a: value is not finite"),
    ("inf", HEADER + "0,1,2\n0.001,1,inf\n", "line 3, column emg_b: value is not finite"),
    ("empty cell", HEADER + "0,1,2\n0.001,,2\n", "line 3, column emg_a: empty cell"),
    ("text cell", HEADER + "0,1,2\n0.001,1,abc\n", "line 3, column emg_b: not a number: 'abc'"),
    ("short row", HEADER + "0,1,2\n0.001,1\n", "line 3: expected 3 columns"),
    ("binary", None, "not a text CSV file"),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_csv_gives_one_line_naming_file(
    tmp_path: Path, case: str, text: str | None, message: str
) -> None:
    path = tmp_path / "bad.csv"
    if text is None:
        path.write_bytes(b"time_s,emg\n\xff\xfe\x00\x81\n")
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(RecordingError) as info:
        _collect(path)
    text_of_error = str(info.value)
    assert message in text_of_error, case
    assert text_of_error.startswith(str(path))
    assert "\n" not in text_of_error


def test_bad_cell_deep_in_file_names_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_reader, "_BLOCK_BYTES", 200)
    lines = [HEADER.strip()] + [f"{i / 1000:.3f},{i},{-i}" for i in range(500)]
    lines[400] = "0.399,7,oops"
    path = tmp_path / "deep.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open_recording(path, ReplayConfig()) as reader:
        items = reader.items()
        with pytest.raises(RecordingError, match="line 401, column emg_b: not a number"):
            for _ in items:
                pass


def test_reading_is_streamed_not_loaded_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_reader, "_BLOCK_BYTES", 8192)
    path = write_csv(tmp_path / "long.csv", RNG.normal(size=(10000, 2)))
    size = path.stat().st_size
    with open_recording(path, ReplayConfig(chunk_ms=100)) as reader:
        assert isinstance(reader, csv_reader.CsvReader)
        items = reader.items()
        next(items)
        assert reader._file.buffer.tell() < size / 10  # type: ignore[attr-defined]
        assert sum(1 for _ in items) == 100 - 1


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [("0.300,7,nan", "line 302, column emg_b: value is not finite"), ("0.1,7,7", "line 302")],
)
def test_bad_line_in_the_first_block_comes_after_the_rows_before_it(
    tmp_path: Path, bad_line: str, message: str
) -> None:
    lines = [HEADER.strip()] + [f"{i / 1000:.3f},{i},{-i}" for i in range(500)]
    lines[301] = bad_line  # row 300: well inside the first (2 MiB) block
    path = tmp_path / "early.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with csv_reader.CsvReader(path, ReplayConfig(chunk_ms=100)) as reader:  # opening succeeds
        delivered: list[Chunk | Gap] = []
        with pytest.raises(RecordingError, match=message):
            delivered.extend(reader.items())
    assert _stream(delivered, "emg").shape == (300, 2)
    assert reader.fs_hz == 1000.0
