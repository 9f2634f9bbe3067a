"""The isolation/overhead view: ``GET /api/isolation``, ``GET /api/verdicts/orders`` and the page's card,
over an empty store and over a stored real bench of the nine backends.

The stored run (``tests/data/bench-run-9-backends.json``) is the JSON of one default ``rtadvisor bench`` on
this machine kind, kept as a file so that the page is tested on every row kind (measured, emulated, not
expressible, not comparable, CI target missed) without a 90-second bench; the measurements themselves are
tested for real in ``tests/bench``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from webutil import REPO_ROOT, LiveServer, new_page_run

from rtadvisor.web import create_app

RUN = REPO_ROOT / "tests" / "data" / "bench-run-9-backends.json"
NINE = ["native", "runc", "crun", "runsc", "containerd", "containerd-runsc", "microvm", "wasmtime", "node-wasi"]


@pytest.fixture(scope="module")
def stored_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    from rtadvisor.store import ResultStore

    path = str(tmp_path_factory.mktemp("isolation") / "results.db")
    ResultStore.open(path).save(json.loads(RUN.read_text()))
    return path


@pytest.fixture(scope="module")
def sclient(stored_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(db=stored_db), base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


def test_the_view_on_an_empty_store_says_why(client: TestClient, empty_db: str) -> None:
    body = client.get("/api/isolation")
    assert body.status_code == 200
    view = body.json()
    assert view["available"] is False and view["runtimes"] == [] and view["verdicts"] == []
    assert view["reason"].startswith("no stored bench results in empty.db") and empty_db not in view["reason"]
    orders = client.get("/api/verdicts/orders")
    assert orders.status_code == 503 and "rtadvisor bench" in orders.json()["error"]


def test_the_view_lists_every_measured_runtime_in_bench_order(sclient: TestClient) -> None:
    view = sclient.get("/api/isolation").json()
    assert view["available"] is True and [r["runtime"] for r in view["runtimes"]] == NINE
    assert "locked down" in view["kernel_functions"]  # the function tracer is refused here, and said so
    by_name = {r["runtime"]: r for r in view["runtimes"]}
    assert by_name["microvm"]["emulated"] is True
    assert any(s["runtime"] == "kata" and s["relation"] == "stand-in" for s in by_name["microvm"]["stands_for"])
    assert by_name["runc"]["isolation"]["pass_through"]["outcome"] == "passed through"
    assert by_name["wasmtime"]["isolation"]["pass_through"]["outcome"] == "not expressible"
    ids = [v["id"] for v in view["verdicts"]]
    assert ids[:4] == ["isolation-ratings", "isolation-order", "overhead-order", "kernel-io-speedup"]
    assert view["verdicts"] == sclient.get("/api/verdicts/orders").json()


def test_orders_are_what_rtadvisor_claims_prints(sclient: TestClient, stored_db: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from rtadvisor.cli import main

    capsys.readouterr()
    assert main(["claims", "--json", "--db", stored_db]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["orders"] == sclient.get("/api/verdicts/orders").json()
    assert printed["claims"] == sclient.get("/api/verdicts").json()
    speedup = next(c for c in printed["claims"] if c["claim"]["id"] == "kernel-io-speedup")
    assert speedup["verdict"] != "not measurable here" and speedup["measurement"]["unit"] == "x"


def test_evidence_carries_the_isolation_and_overhead_figures(sclient: TestClient) -> None:
    evidence = sclient.get("/api/evidence").json()["measurements"]
    metrics = {(m["runtime"], m["metric"]): m for m in evidence}
    assert metrics[("runc", "isolation.syscall_passthrough")]["value"] == 1.0
    assert metrics[("runsc", "isolation.syscall_passthrough")]["value"] == 0.0
    assert metrics[("gvisor", "isolation.syscall_passthrough")]["value"] == 0.0  # runsc IS gVisor: filed under it
    assert ("kata", "isolation.syscall_passthrough") not in metrics  # the micro-VM only stands in for Kata
    ratio = metrics[("runsc", "overhead.null_call_ratio")]
    assert ratio["value"] > 5 and ratio["unit"] == "x native" and "95% CI" in ratio["method"]
    assert metrics[("runc", "io_uring_supported")]["value"] == 1.0


def _page(browser: Any, db: str) -> tuple[Any, Any, LiveServer]:
    server = LiveServer(create_app(db=db)).start()
    context, run = new_page_run(browser, server.url)
    return context, run, server


def test_page_view_with_measurements(browser: Any, stored_db: str, sclient: TestClient) -> None:
    context, run, server = _page(browser, stored_db)
    try:
        page = run.open()
        page.wait_for_selector("#isolation-orders table")
        view = sclient.get("/api/isolation").json()
        rows = page.eval_on_selector_all("#isolation-orders tbody tr", "rs => rs.map(r => [r.dataset.id, r.dataset.verdict])")
        assert rows == [[v["id"], v["verdict"]] for v in view["verdicts"]]
        page.click("#isolation-exposure-box summary")
        page.click("#isolation-overhead-box summary")
        exposure = page.eval_on_selector_all("#isolation-exposure tbody tr", "rs => rs.map(r => r.dataset.runtime)")
        assert exposure == NINE
        assert "emulated (TCG)" in page.inner_text("#isolation-exposure tr[data-runtime=microvm]")
        overhead = page.inner_text("#isolation-overhead tr[data-runtime=runsc]")
        assert "\N{MULTIPLICATION SIGN}" in overhead and "n=" in overhead
        assert "not expressible" in page.inner_text("#isolation-overhead tr[data-runtime=wasmtime]")
        assert "not comparable" in page.inner_text("#isolation-overhead tr[data-runtime=microvm]")
        assert "Latest measurement" in page.inner_text("#isolation-status")
        run.screenshot("page-isolation-overhead")
        assert run.errors == []
    finally:
        context.close()
        server.stop()


def test_page_view_on_an_empty_store(browser: Any, empty_db: str) -> None:
    context, run, server = _page(browser, empty_db)
    try:
        page = run.open()
        page.wait_for_selector("#isolation-status .unavailable")
        assert "rtadvisor bench" in page.inner_text("#isolation-status")
        assert page.locator("#isolation-orders table").count() == 0
        assert run.errors == []
    finally:
        context.close()
        server.stop()


def test_the_fixture_is_a_current_document() -> None:
    """The stored run is a real bench document of the current schema (re-record it when that changes:
    ``rtadvisor bench --json``)."""
    from rtadvisor.model import BENCH_SCHEMA_VERSION
    from rtadvisor.store import read_bench_run

    run = read_bench_run(RUN.read_text(), source=str(RUN))
    assert run.schema_version == BENCH_SCHEMA_VERSION and [r.runtime for r in run.results][:9] == NINE
    assert all(r.isolation is not None and r.overhead is not None for r in run.results[:9])
    assert Path(RUN).stat().st_size < 400_000
