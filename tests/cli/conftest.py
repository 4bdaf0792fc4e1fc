from __future__ import annotations

from pathlib import Path

import pytest

from processor import runtime
from tests.cli.fakes import FakePipeline


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the local history of CLI tests out of the user's real data directory."""
    data = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    return data


@pytest.fixture
def fake_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``replay`` use the deterministic stand-in pipeline."""

    def factory() -> tuple[runtime.PipelineFactory, str]:
        return FakePipeline, ""

    monkeypatch.setattr(runtime, "default_pipeline_factory", factory)
