"""Fixtures of the fleet tests (helpers: fleethelpers.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def agent_env(tmp_path: Path) -> dict[str, str]:
    """Environment for agent processes: private data/state dirs, no inherited node identity."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("RTADVISOR_DB", "RTADVISOR_NODE_NAME", "NODE_NAME", "RTADVISOR_NODE_POOL",
                        "RTADVISOR_POOL_LABEL", "RTADVISOR_SPOOL", "KUBERNETES_SERVICE_HOST")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    return env



@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on SQLite and on the session's real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fleet.db'}"
    return str(request.getfixturevalue("pg_url"))
