from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from processor.cli import main


def test_check_accepts_a_good_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[replay]\nchunk_ms = 250\n[history]\nenabled = false\n", encoding="utf-8")
    assert main(["config", "check", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: OK\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[replay]\nchunk_ms = 0.5\n", "replay.chunk_ms: expected a number >= 1 and <= 600000 ms"),
        ("[replay]\nmax_gap_ms = -1\n", "replay.max_gap_ms: expected a number >= 0 ms"),
        ("[nonsense]\nx = 1\n", "unknown key 'nonsense'"),
        ("[history]\npath = 5\n", "history.path: expected a string, got 5"),
    ],
)
def test_check_rejects_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert str(bad) in err
    assert message in err


def test_unreadable_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert main(["config", "check", str(binary)]) == 2
    assert "cannot read config file" in capsys.readouterr().err


def test_show_prints_the_effective_values_as_valid_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[replay]\nchunk_ms = 250.0\n", encoding="utf-8")
    assert main(["config", "show", "--config", str(cfg)]) == 0
    shown = tomllib.loads(capsys.readouterr().out)
    assert shown["replay"]["chunk_ms"] == 250.0
    assert shown["history"]["enabled"] is True
