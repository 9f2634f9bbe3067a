"""Fixtures shared by the backend tests."""

from __future__ import annotations

import pytest

from rtadvisor.backends import oci
from rtadvisor.backends.base import Assets


@pytest.fixture(scope="module")
def assets() -> Assets:
    """The node's real asset cache (what ``rtadvisor prepare`` builds), with the OCI assets prepared
    once per module (idempotent: a no-op when ``prepare`` already built them)."""
    cache = Assets()
    if oci.find_busybox() is not None:
        oci.prepare_oci_assets(cache)
    return cache
