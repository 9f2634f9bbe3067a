"""Fixtures for the web tests: the app over a scratch store, a live uvicorn server, headless Chromium.

The browser is Debian's chromium driven by Playwright (never ``playwright install``: no download at
test time). Screenshots go to ``test-artifacts/`` in the repository root (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from webutil import CHROMIUM, CHROMIUM_ARGS, LiveServer, PageRun, new_page_run

from rtadvisor.web import create_app

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A result store path with nothing in it (bench results "not available")."""
    return str(tmp_path_factory.mktemp("store") / "empty.db")


@pytest.fixture(scope="session")
def app(empty_db: str) -> Any:
    return create_app(db=empty_db)


@pytest.fixture(scope="session")
def client(app: Any) -> Iterator[TestClient]:
    # the app answers loopback Host names only (see rtadvisor.app.server.WebSettings)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def live_server(app: Any) -> Iterator[LiveServer]:
    server = LiveServer(app).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian chromium (a missing browser fails in CI, skips locally)."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"chromium not found at {CHROMIUM} (Debian package 'chromium')"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page_run(browser: Any, live_server: LiveServer) -> Iterator[PageRun]:
    context, run = new_page_run(browser, live_server.url)
    try:
        yield run
    finally:
        context.close()
