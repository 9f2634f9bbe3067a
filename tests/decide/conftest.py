from __future__ import annotations

from typing import Any

import pytest

from rtadvisor.decide import parse_profile
from rtadvisor.model import Workload


@pytest.fixture()
def workload():  # type: ignore[no-untyped-def]
    """Factory: ``workload(scenario="edge", memory_mb=64)`` -> a validated Workload."""

    def make(**overrides: Any) -> Workload:
        return parse_profile({"name": "t", **overrides}, source="test")

    return make
