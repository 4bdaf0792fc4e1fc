"""Typed, frozen configuration loaded from TOML; each component receives only its own section.

``load_config(path)`` is the only config I/O. Without a path the built-in defaults apply (the
same values as ``configs/default.toml``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from processor.config.ble import BleConfig
from processor.config.detection import DetectionConfig
from processor.config.io import HistoryConfig, ReplayConfig
from processor.config.mqtt import MqttConfig
from processor.config.schema import build
from processor.errors import ConfigError


@dataclass(frozen=True, slots=True)
class AppConfig:
    """The whole configuration: one section per component."""

    detection: DetectionConfig = field(default_factory=DetectionConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    ble: BleConfig = field(default_factory=BleConfig)


def load_config(path: Path | str | None) -> AppConfig:
    """Read and validate a TOML config file; ``None`` gives the defaults.

    Raises:
        ConfigError: unreadable file, TOML syntax error, unknown key, wrong type or value out of
            range; the one-line message names the file and the key.
    """
    if path is None:
        return AppConfig()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read config file ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    return build(AppConfig, data, file=str(file))


__all__ = [
    "AppConfig",
    "BleConfig",
    "DetectionConfig",
    "HistoryConfig",
    "MqttConfig",
    "ReplayConfig",
    "load_config",
]
