"""Fixtures for the web tests: the app over a scratch store, a live uvicorn server, headless Chromium.

The browser is Debian's chromium driven by Playwright (never ``playwright install``: no download at
test time). Screenshots go to ``test-artifacts/`` in the repository root (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from rtadvisor.web import create_app

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = os.environ.get("RTADVISOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
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
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@dataclass
class LiveServer:
    """A uvicorn server running an app in a background thread on a free loopback port."""

    app: Any
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    url: str = ""
    sock: socket.socket | None = field(default=None, repr=False)

    def start(self) -> LiveServer:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
        if self.sock is not None:
            self.sock.close()


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


@dataclass
class PageRun:
    """A browser page plus everything it requested and every console error it logged."""

    page: Any
    base_url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: str = "/") -> Any:
        self.page.goto(self.base_url + path)
        self.page.wait_for_selector("body[data-ready=true]", timeout=20000)
        return self.page

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


def new_page_run(browser: Any, base_url: str) -> tuple[Any, PageRun]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    origin = base_url
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = context.new_page()
    run = PageRun(page=page, base_url=base_url)
    page.on("request", lambda req: run.requests.append(req.url))
    page.on("console", lambda msg: run.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: run.errors.append(str(exc)))
    return context, run


@pytest.fixture
def page_run(browser: Any, live_server: LiveServer) -> Iterator[PageRun]:
    context, run = new_page_run(browser, live_server.url)
    try:
        yield run
    finally:
        context.close()
