"""Shared test options: hardware tests are opt-in (``--hardware``); everything else always runs."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--hardware", action="store_true", default=False, help="run tests that need a real wearable"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--hardware"):
        return
    skip = pytest.mark.skip(reason="needs a real wearable: pass --hardware")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)
