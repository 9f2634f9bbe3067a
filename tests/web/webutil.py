"""Helpers of the web tests: a live uvicorn server in a thread, and a browser page that records requests.

(A module of its own, not conftest.py, so the tests can import it by a unique name.)
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = os.environ.get("RTADVISOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


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


@dataclass
class PageRun:
    """A browser page plus everything it requested and every console error it logged."""

    page: Any
    base_url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def record_console(self, kind: str, text: str) -> None:
        # Chrome logs every non-2xx fetch; a 503 "not available" (empty store) or a 422 (bad input)
        # is an answer the page handles and shows, so only other errors count.
        if kind == "error" and not re.match(r"Failed to load resource: .* status of (503|422)\b", text):
            self.errors.append(text)

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
    page.on("console", lambda msg: run.record_console(msg.type, msg.text))
    page.on("pageerror", lambda exc: run.errors.append(str(exc)))
    return context, run


