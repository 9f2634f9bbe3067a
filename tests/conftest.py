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
