"""`twitchwatch devices` and `twitchwatch decode` (interfaces.md sections 1 and 4)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import devices
from processor.cli import main


def test_devices_lists_every_profile_with_streams(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    for key in ("myo", "ganglion", "polar_h10", "polar_verity_sense"):
        assert f"{key}:" in out
    assert "emg_0, emg_1, emg_2, emg_3, emg_4, emg_5, emg_6, emg_7" in out
    assert "counts" in out
    assert "130 Hz" in out


def test_devices_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    by_key = {d["key"]: d for d in described}
    assert set(by_key) == set(devices.REGISTRY)
    myo_streams = {s["name"]: s for s in by_key["myo"]["streams"]}
    assert myo_streams["emg"]["fs_hz"] == 200.0
    assert myo_streams["emg"]["unit"] == "counts"
    assert myo_streams["acc"]["derived_from"] == "imu"
    ganglion = {s["name"]: s for s in by_key["ganglion"]["streams"]}
    assert ganglion["emg"]["unit"] == "uV"
    assert ganglion["emg"]["sequence_counter_modulus"] == 100
    assert ganglion["acc"]["fs_hz"] == 10.0
    assert by_key["polar_h10"]["init_writes"][0] == "02 02 00 01 c8 00 01 01 10 00 02 01 08 00"


def test_decode_prints_one_json_object_per_payload(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "decode", "--device", "myo", "--stream", "emg",
            "090d01fefefefa0206e9fcfdfcfe0502", "fe 02 00 ff 00 00 ff 03 04 11 00 00 fe fe 03 04",
        ]
    )  # fmt: skip
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == {
        "stream": "emg",
        "samples": [[9, 13, 1, -2, -2, -2, -6, 2], [6, -23, -4, -3, -4, -2, 5, 2]],
        "seq": None,
        "device_time_ns": None,
    }
    assert lines[1]["samples"][1] == [4, 17, 0, 0, -2, -2, 3, 4]


def test_decode_seq_device_time_and_units(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "decode",
                "--device",
                "ganglion",
                "--stream",
                "emg",
                "650003dfff8407897f0ef00139ffd8cffff60001",
            ]
        )
        == 0
    )
    line = json.loads(capsys.readouterr().out)
    assert line["seq"] == 1
    assert line["samples"][0][0] == pytest.approx(960 * 0.0018699498629276496)
    acc = "02009435770000000001f7ffffffe703f8fffeffe503"
    assert main(["decode", "--device", "polar_h10", "--stream", "acc", acc]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["device_time_ns"] == 946_684_802_000_000_000
    assert line["samples"] == [[-0.009, -0.001, 0.999], [-0.008, -0.002, 0.997]]
    assert (
        main(
            [
                "decode",
                "--device",
                "myo",
                "--stream",
                "acc",
                "3e2eab2be5f824004e01bd0757000300f5fffcff",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["samples"] == [[334 / 2048, 1981 / 2048, 87 / 2048]]


def test_undecodable_payload_prints_error_line_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["decode", "--device", "myo", "--stream", "emg", "0102", "xyz", "00" * 16])
    assert code == 2
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3
    assert "expected 16 bytes, got 2" in lines[0]["error"]
    assert "not hex" in lines[1]["error"]
    assert lines[2]["samples"] == [[0] * 8, [0] * 8]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--device", "fitbit", "--stream", "emg", "00"], "unknown device profile 'fitbit'"),
        (["--device", "polar_h10", "--stream", "emg", "00"], "polar_h10 has no stream 'emg'"),
    ],
)
def test_unknown_profile_or_stream_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["decode", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


def test_console_script_exit_code() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "processor", "decode", "--device", "myo", "--stream", "emg", "00"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]


def test_decode_agrees_with_every_vector_file(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.devices._vectors import vectors

    for vec in vectors("vector"):
        assert (
            main(["decode", "--device", vec.profile, "--stream", vec.stream, vec.payload.hex()])
            == 0
        )
        line = json.loads(capsys.readouterr().out)
        assert line["stream"] == vec.stream
        assert line["seq"] == vec.entry.get("seq")
        assert line["device_time_ns"] == vec.entry.get("device_time_ns")
        if "raw" in vec.entry:
            expected = [v * vec.entry["scale"] for row in vec.entry["raw"] for v in row]
            got = [v for row in line["samples"] for v in row]
            assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
