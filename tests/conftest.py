"""Shared fixtures and the ``runtime`` marker.

``@pytest.mark.runtime("runc")`` marks a test that needs a real runtime. When the runtime is not
usable on this node the test *fails* in CI (``CI=true``) — the set-up installs every runtime this
machine kind supports, so a missing one is a broken set-up, not a reason to skip. Outside CI the
test is skipped with the backend's own reason, so a developer sees what is missing.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers(name="runtime"):
        for name in marker.args:
            from rtadvisor.backends import probe

            availability = probe(name)
            if not availability.usable:
                message = f"runtime {name!r} is not usable on this node: {availability.reason}"
                if IN_CI:
                    pytest.fail(message, pytrace=False)
                pytest.skip(message)


# ---------------------------------------------------------------------------- a real PostgreSQL


@pytest.fixture(scope="session")
def postgres():  # type: ignore[no-untyped-def]
    """One private PostgreSQL server for the session (see tests/pgserver.py), always stopped and
    removed at the end. Missing PostgreSQL fails in CI (the set-up installs it), skips elsewhere."""
    from pgserver import PostgresServer, pg_bin

    if pg_bin() is None:
        message = "PostgreSQL is not installed (Debian package 'postgresql'; `make test` installs it)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres) -> str:  # type: ignore[no-untyped-def]
    """A fresh, empty database on the session's PostgreSQL server (its SQLAlchemy URL)."""
    return str(postgres.create_database())
