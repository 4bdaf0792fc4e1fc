from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from processor.config.io import ReplayConfig
from processor.errors import RecordingError
from processor.io.edf_reader import emg_channel_name
from processor.io.readers import open_recording
from processor.model import Chunk, Gap
from tests.io.writers import write_edf

RNG = np.random.default_rng(11)


def _collect(path: Path, chunk_ms: float = 1000.0) -> list[Chunk | Gap]:
    with open_recording(path, ReplayConfig(chunk_ms=chunk_ms)) as reader:
        return list(reader.items())


def _stream(items: list[Chunk | Gap], name: str) -> np.ndarray:
    return np.concatenate([i.data for i in items if isinstance(i, Chunk) and i.stream.name == name])


@pytest.mark.parametrize("bdf", [False, True], ids=["edf", "bdf"])
def test_emg_and_acc_keep_their_own_rates(tmp_path: Path, bdf: bool) -> None:
    emg_a = RNG.normal(0, 40, 3000)
    emg_b_mv = RNG.normal(0, 0.04, 3000)
    acc = RNG.normal(0, 0.2, (300, 3))
    path = write_edf(
        tmp_path / ("r.bdf" if bdf else "r.edf"),
        [
            ("EMG calf", 1000, "uV", emg_a),
            ("ECG", 250, "mV", RNG.normal(size=750)),
            ("EMG", 1000, "mV", emg_b_mv),
            ("Accel X", 100, "g", acc[:, 0]),
            ("ACC Y", 100, "mg", acc[:, 1] * 1000),
            ("acc z", 100, "m/s^2", acc[:, 2] * 9.80665),
        ],
        bdf=bdf,
    )
    with open_recording(path, ReplayConfig(chunk_ms=500)) as reader:
        assert reader.duration_s == pytest.approx(3.0)
        items = list(reader.items())
    chunks = [i for i in items if isinstance(i, Chunk)]
    emg_info = next(c.stream for c in chunks if c.stream.name == "emg")
    acc_info = next(c.stream for c in chunks if c.stream.name == "acc")
    assert (emg_info.fs_hz, emg_info.channels, emg_info.unit) == (1000.0, ("emg_calf", "emg"), "uV")
    assert (acc_info.fs_hz, acc_info.channels, acc_info.unit) == (
        100.0,
        ("acc_x", "acc_y", "acc_z"),
        "g",
    )
    starts = [c.stream.t0_s + c.start_index / c.stream.fs_hz for c in chunks]
    assert starts == sorted(starts)
    assert [c.stream.name for c in chunks[:4]] == ["emg", "acc", "emg", "acc"]
    assert all(len(c.data) == (500 if c.stream.name == "emg" else 50) for c in chunks)
    emg = _stream(items, "emg")
    resolution = 1e-3 if bdf else 0.05
    np.testing.assert_allclose(emg[:, 0], emg_a, atol=resolution * 40)
    np.testing.assert_allclose(emg[:, 1], emg_b_mv * 1000, atol=resolution * 40)
    np.testing.assert_allclose(_stream(items, "acc"), acc, atol=1e-3)


def test_emg_only_file(tmp_path: Path) -> None:
    path = write_edf(tmp_path / "e.edf", [("EMG-left", 500, "uV", RNG.normal(0, 5, 1000))])
    items = _collect(path, chunk_ms=300)
    assert [(i.start_index, len(i.data)) for i in items if isinstance(i, Chunk)] == [
        (0, 150),
        (150, 150),
        (300, 150),
        (450, 150),
        (600, 150),
        (750, 150),
        (900, 100),
    ]
    first = items[0]
    assert isinstance(first, Chunk)
    assert first.stream.channels == ("emg_left",)


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("EMG calf", "emg_calf"),
        ("EMG", "emg"),
        ("emg1", "emg_1"),
        ("EMG left calf", "emg_left_calf"),
    ],
)
def test_channel_names(label: str, name: str) -> None:
    assert emg_channel_name(label) == name


def _bad_edf(tmp_path: Path, case: str) -> Path:
    path = tmp_path / "bad.edf"
    one_s = RNG.normal(0, 5, 1000)
    if case == "no emg":
        write_edf(path, [("ECG", 1000, "mV", one_s), ("ACC X", 1000, "g", one_s)])
    elif case == "unknown emg unit":
        write_edf(path, [("EMG a", 1000, "furlong", one_s)])
    elif case == "unknown acc unit":
        write_edf(
            path, [("EMG", 1000, "uV", one_s), *[(f"ACC {a}", 1000, "ft", one_s) for a in "XYZ"]]
        )
    elif case == "mixed emg rates":
        write_edf(path, [("EMG a", 1000, "uV", one_s), ("EMG b", 500, "uV", one_s[:500])])
    elif case == "incomplete acc":
        write_edf(path, [("EMG", 1000, "uV", one_s), ("ACC X", 100, "g", one_s[:100])])
    elif case == "duplicate channel":
        write_edf(path, [("EMG a", 1000, "uV", one_s), ("EMG_a", 1000, "uV", one_s)])
    elif case == "garbage":
        path.write_bytes(b"not an edf file at all" * 50)
    elif case == "truncated":
        write_edf(tmp_path / "good.edf", [("EMG", 1000, "uV", np.r_[one_s, one_s])])
        data = (tmp_path / "good.edf").read_bytes()
        path.write_bytes(data[: len(data) - 1500])
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no emg", "no EMG signal"),
        ("unknown emg unit", "signal 'EMG a': unknown physical dimension 'furlong'"),
        ("unknown acc unit", "signal 'ACC X': unknown physical dimension 'ft'"),
        ("mixed emg rates", "EMG signals have different sample rates"),
        ("incomplete acc", "accelerometer incomplete (missing ACC Y, ACC Z)"),
        ("duplicate channel", "two EMG signals map to channel 'emg_a'"),
        ("garbage", "not a readable EDF+/BDF+ file"),
        ("truncated", "not a readable EDF+/BDF+ file"),
    ],
)
def test_bad_edf_gives_one_line_naming_file(tmp_path: Path, case: str, message: str) -> None:
    path = _bad_edf(tmp_path, case)
    with pytest.raises(RecordingError) as info:
        _collect(path)
    text = str(info.value)
    assert message in text
    assert text.startswith(str(path))
    assert "\n" not in text


def test_pyedflib_locale_hint_becomes_a_plain_unreadable_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyedflib

    path = tmp_path / "night.edf"
    path.write_bytes(b"\x00" * 512)

    def refuse(name: str) -> None:
        raise OSError(
            f"File {name} was found but can't be accessed. Make sure it contains no special "
            "characters or change your locale to use UTF8."
        )

    monkeypatch.setattr(pyedflib, "EdfReader", refuse)
    with pytest.raises(RecordingError) as info:
        _collect(path)
    assert str(info.value) == f"{path}: not a readable EDF+/BDF+ file"
