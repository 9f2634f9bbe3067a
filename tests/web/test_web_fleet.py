"""The fleet page (/fleet) in a real headless Chromium, over a store of several pools: what it shows
is what GET /api/fleet says; filters; a hostile node name stays text; the empty store; and the
accessibility basics (labels, captions, header cells, headings, a skip link).

The axe-core checks of the main page are the web page area's; until they cover /fleet, these tests
check the same basics directly.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from webutil import LiveServer, PageRun, new_page_run

from rtadvisor.model import BenchMemory, BenchResult, BenchRun, BenchStats, NodeInfo, primary_runtime
from rtadvisor.store import ResultStore
from rtadvisor.web import create_app

pytestmark = pytest.mark.slow

HOSTILE = "<img src=x onerror=alert(1)>"


def _result(runtime: str, cold: float | None, reason: str | None = None) -> BenchResult:
    if cold is None:
        return BenchResult(runtime=runtime, available=False, reason=reason, kb_runtime=primary_runtime(runtime))
    return BenchResult(runtime=runtime, available=True, kb_runtime=primary_runtime(runtime),
                       cold_start_ms=BenchStats(n=10, p50=cold), memory=BenchMemory(pss_mb=cold / 10))


def _run(i: int, node: str, pool: str, results: tuple[BenchResult, ...], age_h: float = 1.0, **facts: Any) -> BenchRun:
    started = datetime.now(UTC) - timedelta(hours=age_h)
    info = {"hostname": node, "node_name": node, "pool": pool, "kernel": "6.1", "kvm": "kvm_intel",
            "kvm_linux_guests": True, **facts}
    return BenchRun(run_id=f"{started.strftime('%Y%m%dT%H%M%SZ')}-{i:012x}", started=started.isoformat(),
                    node=NodeInfo(**info), results=results)


@pytest.fixture(scope="module")
def fleet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Any]]:
    db = str(tmp_path_factory.mktemp("fleet") / "fleet.db")
    runs = [
        _run(1, "edge-1", "edge-arm", (_result("runc", 30.0), _result("runsc", 140.0)), kvm="kvm_pvm",
             kvm_linux_guests=False),
        _run(2, "edge-2", "edge-arm", (_result("runc", 32.0), _result("runsc", None, "runsc not installed")),
             kvm="kvm_pvm", kvm_linux_guests=False),
        _run(3, HOSTILE, "edge-arm", (_result("runc", 31.0), _result("runsc", 150.0)), kvm="kvm_pvm",
             kvm_linux_guests=False),
        _run(4, "gpu-1", "gpu", (_result("runc", 40.0),)),
        _run(5, "gpu-2", "gpu", (_result("runc", 42.0),), age_h=72),
    ]
    with ResultStore.open(db) as store:
        for run in runs:
            store.save(run)
    app = create_app(db=db)
    server = LiveServer(app).start()
    try:
        from fastapi.testclient import TestClient

        with TestClient(app, base_url="http://127.0.0.1") as client:
            yield server, client.get("/api/fleet").json()
    finally:
        server.stop()


@pytest.fixture
def fleet_page(browser: Any, fleet_server: tuple[LiveServer, Any]) -> Iterator[PageRun]:
    context, run = new_page_run(browser, fleet_server[0].url)
    try:
        yield run
    finally:
        context.close()


def test_the_page_shows_what_the_api_says(fleet_page: PageRun, fleet_server: tuple[LiveServer, Any]) -> None:
    report = fleet_server[1]
    page = fleet_page.open("/fleet")
    page.wait_for_selector(".fl-pool")
    sections = page.locator(".fl-pool")
    assert sections.count() == len(report["pools"]) == 2
    for i, pool in enumerate(report["pools"]):
        section = sections.nth(i)
        assert section.locator("h2").inner_text() == f"Pool {pool['pool']}"
        rows = section.locator("table.fl-runtimes tbody tr")
        assert [rows.nth(j).get_attribute("data-runtime") for j in range(rows.count())] == \
            [r["runtime"] for r in pool["runtimes"]]
        unusable = section.locator(".fl-unusable li")
        assert unusable.count() == len(pool["unusable"])
        for j, (runtime, why) in enumerate(pool["unusable"].items()):
            assert unusable.nth(j).inner_text() == f"{runtime}: {why}"
    edge = sections.nth(0)
    runc = edge.locator("tr[data-runtime=runc] td").nth(1).inner_text()
    assert runc.startswith("31.0 (") and "usable on every node" in edge.locator("tr[data-runtime=runc]").inner_text()
    assert "usable on some nodes" in edge.locator("tr[data-runtime=runsc]").inner_text()
    assert "no /dev/kvm with hardware virtualization on pool edge-arm" in edge.locator(".fl-unusable").inner_text()
    gpu = sections.nth(1)
    assert "Stale nodes (1)" in gpu.inner_text() and "gpu-2" in gpu.locator(".fl-stale").inner_text()
    nodes = page.locator("#fl-nodes tbody tr")
    assert nodes.count() == len(report["nodes"]) == 5
    # the hostile node name is text, never markup
    assert page.locator("img[src=x]").count() == 0
    assert page.locator(f'#fl-nodes tr[data-node="{HOSTILE}"] th').inner_text() == HOSTILE
    outside = [u for u in fleet_page.requests if not u.startswith(fleet_server[0].url + "/")]
    assert outside == [] and fleet_page.errors == []
    fleet_page.screenshot("fleet-page")


def test_filters(fleet_page: PageRun) -> None:
    page = fleet_page.open("/fleet")
    page.wait_for_selector(".fl-pool")
    page.select_option("#fl-pool", "gpu")
    assert page.locator(".fl-pool").count() == 1 and page.locator(".fl-pool h2").inner_text() == "Pool gpu"
    assert page.locator("#fl-nodes tbody tr").count() == 2
    page.fill("#fl-node-filter", "gpu-2")
    assert page.locator("#fl-nodes tbody tr").count() == 1
    page.select_option("#fl-pool", "")
    page.fill("#fl-node-filter", "")
    with page.expect_response(lambda r: "/api/fleet?stale_after=7d" in r.url):
        page.select_option("#fl-stale", "7d")
    page.wait_for_function("document.querySelector('#fl-status').textContent.includes('5 nodes')")
    assert "Stale nodes" not in page.locator(".fl-pool").nth(1).inner_text()
    assert fleet_page.errors == []


def test_accessibility_basics(fleet_page: PageRun) -> None:
    page = fleet_page.open("/fleet")
    page.wait_for_selector(".fl-pool")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("h1").count() == 1
    levels = page.eval_on_selector_all("h1, h2, h3", "els => els.filter(e => e.offsetParent !== null)"
                                       ".map(e => Number(e.tagName[1]))")
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    unlabeled = page.eval_on_selector_all(
        "input, select, textarea",
        "els => els.filter(e => !(e.id && document.querySelector(`label[for='${e.id}']`)) && !e.getAttribute('aria-label'))"
        ".map(e => e.outerHTML)")
    assert unlabeled == []
    tables = page.eval_on_selector_all("table", "els => els.map(t => [!!t.querySelector('caption'), "
                                       "t.querySelectorAll('th[scope]').length === t.querySelectorAll('th').length])")
    assert tables and all(caption and scoped for caption, scoped in tables)
    assert page.eval_on_selector_all("img", "els => els.every(i => i.hasAttribute('alt'))")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#fleet-main"


def test_an_empty_store_says_so(browser: Any, tmp_path: Path) -> None:
    server = LiveServer(create_app(db=str(tmp_path / "none.db"))).start()
    context, run = new_page_run(browser, server.url)
    try:
        page = run.open("/fleet")
        status = page.locator("#fl-status")
        assert status.inner_text().startswith("No fleet report: no stored bench results")
        assert "fl-error" in (status.get_attribute("class") or "")
        assert page.locator(".fl-pool").count() == 0 and run.errors == []
    finally:
        context.close()
        server.stop()
