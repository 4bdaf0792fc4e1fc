"""Broker fixtures: each test gets its own Mosquitto on a free loopback port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from processor.config.mqtt import MqttConfig
from tests.broker import MOSQUITTO, Broker, Watcher


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed (scripts/system-deps.sh installs it)")
    b = Broker(tmp_path / "broker").start()
    yield b
    b.kill()


@pytest.fixture
def watchers() -> Iterator[Callable[..., Watcher]]:
    made: list[Watcher] = []

    def make(port: int, topics: list[str], **kw: Any) -> Watcher:
        w = Watcher(port, topics, **kw)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def fast_cfg(url: str, **overrides: Any) -> MqttConfig:
    """Test settings: no waits where production waits for Home Assistant."""
    values: dict[str, Any] = {
        "url": url,
        "instance": "test",
        "keepalive_s": 5,
        "reconnect_min_s": 1,
        "reconnect_max_s": 1,
        "discovery_settle_s": 0.0,
        "ha_birth_delay_s": 0.05,
        "ha_birth_jitter_s": 0.1,
        "flush_timeout_s": 5.0,
        "connect_timeout_s": 5.0,
    }
    values.update(overrides)
    return MqttConfig(**values)
