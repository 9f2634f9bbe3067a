"""Fixtures for the scan tests: the corpus and a copy of it to fix."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from rtadvisor.model import Decision, TraceStep, Workload

CORPUS = Path(__file__).resolve().parents[1] / "data" / "scan"


@pytest.fixture
def corpus() -> Path:
    return CORPUS


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the corpus (``--fix`` tests edit it)."""
    dst = tmp_path / "corpus"
    shutil.copytree(CORPUS, dst, ignore=shutil.ignore_patterns("*.json"))
    return dst


@pytest.fixture
def fixed_engine() -> Callable[[str, str | None], Callable[[Workload], Decision]]:
    """An engine that always answers ``runtime``/``route``: isolates --fix and report mechanics
    from the engine's current rules (end-to-end tests use the real engine)."""

    def make(runtime: str, route: str | None = None) -> Callable[[Workload], Decision]:
        def recommend(workload: Workload) -> Decision:
            step = TraceStep(step=1, kind="tree", rule="test", question="fixed answer?", answer=runtime)
            return Decision(workload=workload, runtime=runtime, architecture="test", route=route, trace=(step,))  # type: ignore[arg-type]

        return recommend

    return make
