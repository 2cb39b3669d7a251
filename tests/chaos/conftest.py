"""The chaos suite's fixtures: the `chaos` marker, the kube-apiserver restarter, the figures summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from support.chaos import ApiServerRestarter
from support.cluster import Cluster

FIGURES: list[dict[str, Any]] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "chaos: the chaos run (small by default; TENDLC_CHAOS_CAMPAIGNS/TENDLC_CHAOS_KILLS for more)"
    )


@pytest.fixture(scope="session")
def apiserver(cluster: Cluster) -> Iterator[ApiServerRestarter]:
    restarter = ApiServerRestarter(cluster)
    try:
        yield restarter
    finally:
        restarter.stop()  # at session end only: the restarted process outlives the test that restarted it


@pytest.fixture
def figures() -> list[dict[str, Any]]:
    return FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for figures in FIGURES:
        terminalreporter.write_sep("-", "chaos figures")
        terminalreporter.write_line(json.dumps(figures, sort_keys=False))
