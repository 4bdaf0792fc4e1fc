from __future__ import annotations

from pathlib import Path

import pytest

from processor.config import AppConfig, load_config
from processor.config.schema import describe
from processor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_defaults() -> None:
    assert load_config(None) == AppConfig()


def test_bundled_default_config_equals_builtin_defaults() -> None:
    assert load_config(ROOT / "configs" / "default.toml") == AppConfig()


def test_default_toml_lists_every_key() -> None:
    text = (ROOT / "configs" / "default.toml").read_text(encoding="utf-8")
    for key, _default, _unit, _doc in describe(AppConfig):
        leaf = key.rsplit(".", 1)[-1]
        assert f"{leaf} =" in text, f"configs/default.toml does not show {key}"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[replay]\nchunk_mss = 5\n", "unknown key 'replay.chunk_mss'"),
        ("[nonsense]\n", "unknown key 'nonsense'"),
        ("[replay]\nchunk_ms = 'fast'\n", "replay.chunk_ms: expected a number"),
        ("[replay]\nchunk_ms = 0\n", "replay.chunk_ms: expected a number >= 1"),
        ("[history]\nenabled = 1\n", "history.enabled: expected true/false"),
        ("[replay\n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_line_naming_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert needle in message
    assert "\n" not in message


def test_range_error_names_unit(tmp_path: Path) -> None:
    path = _write(tmp_path, "[replay]\nchunk_ms = 0\n")
    with pytest.raises(ConfigError, match=r"ms, got 0 ms"):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_default_toml_is_the_rendered_defaults() -> None:
    from processor.config.render import render_toml

    text = (ROOT / "configs" / "default.toml").read_text(encoding="utf-8")
    assert text == render_toml(AppConfig), (
        "configs/default.toml is stale: python -m processor.config.render > configs/default.toml"
    )
