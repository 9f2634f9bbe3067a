"""Helpers of the web tests: a live uvicorn server in a thread, and a browser page that records requests.

(A module of its own, not conftest.py, so the tests can import it by a unique name.)
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
# axe-core from npm (package.json / package-lock.json; scripts/setup.sh runs `npm ci`), injected into
# the page from this file: never from a CDN.
AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
# The two viewports the page is tested at: a laptop and a phone (iPhone 12-15 class, CSS pixels).
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = [DESKTOP, PHONE]
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
    viewport: dict[str, int] | None = None
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
        """Save ``test-artifacts/NAME[-WxH].png`` (the viewport is in the name when the run has one)."""
        ARTIFACTS.mkdir(exist_ok=True)
        suffix = f"-{viewport_name(self.viewport)}" if self.viewport else ""
        path = ARTIFACTS / f"{name}{suffix}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


def new_page_run(browser: Any, base_url: str, viewport: dict[str, int] | None = None) -> tuple[Any, PageRun]:
    phone = viewport is not None and viewport["width"] < 600
    context = browser.new_context(viewport=viewport or {"width": 1400, "height": 1000}, accept_downloads=True,
                                  is_mobile=phone, has_touch=phone, device_scale_factor=1)
    origin = base_url
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = context.new_page()
    run = PageRun(page=page, base_url=base_url, viewport=viewport)
    page.on("request", lambda req: run.requests.append(req.url))
    page.on("console", lambda msg: run.record_console(msg.type, msg.text))
    page.on("pageerror", lambda exc: run.errors.append(str(exc)))
    return context, run


@contextmanager
def page_at(browser: Any, base_url: str, viewport: dict[str, int]) -> Iterator[PageRun]:
    """A fresh browser context (no cookies, no cache) at ``viewport``, closed afterwards."""
    context, run = new_page_run(browser, base_url, viewport)
    try:
        yield run
    finally:
        context.close()


def viewport_name(viewport: dict[str, int]) -> str:
    return f"{viewport['width']}x{viewport['height']}"


# WCAG 2.0/2.1 A and AA success criteria, and axe's best practices (skip link target, landmarks, ...).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; every violation as ``{id, impact, help, nodes: [target]}``."""
    if not AXE_JS.exists():
        raise AssertionError(f"{AXE_JS} is missing: run scripts/setup.sh (it runs `npm ci`)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))})); }", AXE_TAGS)
    return list(result)


def save_json(name: str, data: Any) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path



# ---------------------------------------------------------------------- driving the page


@dataclass
class Submitted:
    """One press of Recommend: the request the page sent and the answer it got."""

    url: str
    body: dict[str, Any]
    status: int
    answer: dict[str, Any]


def submit(page: Any, click: str = "#submit") -> Submitted:
    """Press Recommend (or another control that submits) and wait until the page has shown the answer."""
    with page.expect_response(lambda r: "/api/recommend" in r.url, timeout=60000) as info:
        page.click(click)
    resp = info.value
    body = json.loads(resp.request.post_data or "{}")
    answer = resp.json()
    if resp.ok:
        page.wait_for_function("(name) => { const d = window.RT.page.state.decision;"
                               " return d && d.workload.name === name && !document.querySelector('#result-body').hidden; }",
                               arg=answer["workload"]["name"], timeout=20000)
    else:
        page.wait_for_selector("#form-error:not([hidden])", timeout=20000)
    page.wait_for_selector("#submit:not([disabled])")
    return Submitted(url=resp.url, body=body, status=resp.status, answer=answer)


def choose_preset(page: Any, preset_id: str) -> None:
    page.select_option("#f-preset", preset_id)


# Elements that stick out of the viewport to the right, or scroll sideways inside it: either is
# horizontal scrolling for a person on a phone. (Visually hidden helpers are 1px and clipped.)
OVERFLOW_JS = """() => {
  const vw = document.documentElement.clientWidth;
  const out = [];
  const all = [...document.querySelectorAll('body *')];
  // boxes clipped to nothing (visually hidden headers and helpers) are not seen, so cannot overflow
  const clipped = all.filter(el => { const cs = getComputedStyle(el); return cs.clip !== 'auto' && cs.position === 'absolute'; });
  if (document.documentElement.scrollWidth > vw + 1) out.push('document scrollWidth ' + document.documentElement.scrollWidth + ' > ' + vw);
  for (const el of all) {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden' || el.closest('svg title')) continue;
    if (clipped.some(c => c.contains(el))) continue;
    const r = el.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    if (r.right > vw + 1 || r.left < -1) out.push(name + ' spans ' + Math.round(r.left) + '..' + Math.round(r.right));
    if (['auto', 'scroll'].includes(cs.overflowX) && el.scrollWidth > el.clientWidth + 1) out.push(name + ' scrolls sideways ' + el.scrollWidth + ' > ' + el.clientWidth);
  }
  return out.slice(0, 20);
}"""


def horizontal_overflow(page: Any) -> list[str]:
    return list(page.evaluate(OVERFLOW_JS))


def is_phone(run: PageRun) -> bool:
    return bool(run.viewport and run.viewport["width"] < 600)

