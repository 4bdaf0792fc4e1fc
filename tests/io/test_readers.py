from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from processor.config.io import ReplayConfig
from processor.errors import InputError, RecordingError
from processor.io.readers import open_recording


@pytest.mark.parametrize("name", ["x.wav", "x", "x.csv.gz"])
def test_unknown_extension(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("time_s,emg\n", encoding="utf-8")
    with pytest.raises(RecordingError, match="unknown recording format") as info:
        open_recording(path, ReplayConfig())
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize("suffix", [".csv", ".edf", ".BDF", ".twrec"])
def test_missing_file_is_an_input_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"gone{suffix}"
    with pytest.raises(InputError, match="file not found"):
        open_recording(path, ReplayConfig())


def test_directory_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(RecordingError, match="is a directory"):
        open_recording(folder, ReplayConfig())


def test_twrec_goes_to_the_raw_reader(tmp_path: Path) -> None:
    path = tmp_path / "empty.twrec"
    path.write_bytes(b"")
    if importlib.util.find_spec("processor.io.rawrec") is None:
        with pytest.raises(RecordingError, match="not supported by this build"):
            open_recording(path, ReplayConfig())
        return
    with open_recording(path, ReplayConfig()) as reader:  # a file cut before its first record
        assert reader.path == path
        assert list(reader.items()) == []
