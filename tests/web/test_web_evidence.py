"""The API and page over a store with real measurements of this node (a small real bench run)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from webutil import LiveServer, new_page_run

from rtadvisor.web import create_app

# native (fork/exec) and wasmtime (in process) are usable wherever the suite runs; tiny run counts
# keep this to a few seconds. The figures are whatever this node measures: tests check plumbing,
# never values.
BACKENDS = ["native", "wasmtime"]


@pytest.fixture(scope="module")
def measured_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    from rtadvisor.bench import BenchOptions, run_bench
    from rtadvisor.store import ResultStore

    report = run_bench(BACKENDS, BenchOptions(runs=3, warmups=1, sweep=(1, 2), pack_sweep=(1, 10)))
    for result in report.results:
        assert result.available, f"{result.runtime}: {result.reason}"
    path = str(tmp_path_factory.mktemp("measured") / "results.db")
    ResultStore.open(path).save(report.to_dict())
    return path


@pytest.fixture(scope="module")
def mclient(measured_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(db=measured_db), base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


pytestmark = pytest.mark.runtime("native", "wasmtime")


def test_evidence_and_runs(mclient: TestClient, measured_db: str) -> None:
    from rtadvisor.store import load_evidence

    evidence = mclient.get("/api/evidence").json()
    assert evidence == load_evidence(measured_db).model_dump(mode="json")
    wasm = next(m for m in evidence["measurements"] if m["runtime"] == "wasmtime" and m["metric"] == "cold_start_ms")
    assert wasm["n"] == 3 and wasm["host"] and wasm["date"]
    runs = mclient.get("/api/runs").json()
    assert len(runs) == 1 and set(runs[0]["runtimes"]) == set(BACKENDS)
    run = mclient.get(f"/api/runs/{runs[0]['id']}").json()
    assert run["run_id"] == runs[0]["id"]
    assert {r["runtime"] for r in run["results"]} == set(BACKENDS)
    assert mclient.get("/api/runs/latest").json()["run_id"] == runs[0]["id"]
    missing = mclient.get("/api/runs/nosuchrun")
    assert missing.status_code == 404 and missing.json()["field"] == "run_id"


def test_compare_puts_measurements_next_to_claims(mclient: TestClient) -> None:
    cmp = mclient.get("/api/compare").json()
    assert cmp["measured_available"] is True and cmp["reason"] is None
    evidence = mclient.get("/api/evidence").json()["measurements"]
    for backend in BACKENDS:
        measured = next(m for m in evidence if m["runtime"] == backend and m["metric"] == "cold_start_ms")
        point = next(p for p in cmp["points"] if p["runtime"] == backend and p["metric"] == "cold_start")
        assert point["measured_value"] == pytest.approx(measured["value"])
    # claims stay on their own rows, with no measurement where nothing measures them here
    wasmedge = next(p for p in cmp["points"] if p["runtime"] == "wasmedge" and p["metric"] == "cold_start")
    assert wasmedge["measured"] is None and wasmedge["claims"]


def test_verdicts_are_what_rtadvisor_claims_prints(mclient: TestClient) -> None:
    verdicts = mclient.get("/api/verdicts").json()
    assert verdicts
    assert {v["verdict"] for v in verdicts} <= {"holds", "does not hold", "not measurable here"}
    wasmedge = next(v for v in verdicts if v["claim"]["id"] == "wasmedge-cold-start-typical")
    assert wasmedge["verdict"] == "not measurable here"  # WasmEdge cannot be installed here
    assert "wasmtime" in wasmedge["why"]  # the nearest measured relative is named


def test_recommend_with_evidence(mclient: TestClient) -> None:
    profile = {"name": "fn", "scenario": "serverless", "memory_mb": 64, "cpu_cores": 0.5, "cold_start_slo_ms": 10}
    with_evidence = mclient.post("/api/recommend", params={"evidence": "true"}, json=profile).json()
    without = mclient.post("/api/recommend", json=profile).json()
    assert with_evidence["evidence_used"] is True and without["evidence_used"] is False
    steps = [s for s in with_evidence["trace"] if s["kind"] == "evidence"]
    assert steps and "wasmtime" in steps[0]["answer"]


def test_page_charts_show_measurements(browser: Any, measured_db: str, mclient: TestClient) -> None:
    server = LiveServer(create_app(db=measured_db)).start()
    context, run = new_page_run(browser, server.url)
    try:
        page = run.open()
        page.wait_for_selector("#charts circle.measured")
        cmp = mclient.get("/api/compare").json()
        for metric in ("cold_start", "memory"):
            measured = [p for p in cmp["points"] if p["metric"] == metric and p["measured_value"]]
            dots = page.eval_on_selector_all(f"#charts .chart[data-metric={metric}] .row",
                                             "rows => rows.filter(r => r.querySelector('circle.measured'))"
                                             ".map(r => r.dataset.runtime)")
            assert sorted(dots) == sorted(p["runtime"] for p in measured)
        # hovering a dot says where the number came from
        title = page.eval_on_selector("#charts .chart[data-metric=cold_start] .row[data-runtime=wasmtime] circle title",
                                      "t => t.textContent")
        assert "n=3" in title and "wasmtime" in title
        assert "Measured on" in page.inner_text("#evidence-status")
        # the claim verdicts table
        page.click("#verdicts-box summary")
        assert page.locator("#verdicts tbody tr").count() == len(mclient.get("/api/verdicts").json())
        # recommend with this node's measurements
        page.select_option("#f-preset", "serverless")
        page.check("#f-evidence")
        page.click("#submit")
        page.wait_for_selector("#rec-badges .badge.evidence")
        run.screenshot("page-with-measurements")
        assert run.errors == []
    finally:
        context.close()
        server.stop()


# ---------------------------------------------------------------------------- CLI/API pairs on real data


def _cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    import json

    from rtadvisor.cli import main

    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_pairs_on_a_measured_store(mclient: TestClient, measured_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each evidence route answers what its CLI command prints for the same store."""
    assert _cli_json(capsys, "bench", "history", "--json", "--db", measured_db) == mclient.get("/api/runs").json()
    run_id = mclient.get("/api/runs").json()[0]["id"]
    assert _cli_json(capsys, "bench", "show", run_id, "--json", "--db", measured_db) == \
        mclient.get(f"/api/runs/{run_id}").json()
    assert _cli_json(capsys, "claims", "--json", "--db", measured_db)["claims"] == mclient.get("/api/verdicts").json()
    profile = {"name": "fn", "scenario": "serverless", "memory_mb": 64, "cpu_cores": 0.5, "cold_start_slo_ms": 10}
    cli = _cli_json(capsys, "recommend", "--name", "fn", "--scenario", "serverless", "--memory-mb", "64",
                    "--cpu-cores", "0.5", "--cold-start-slo-ms", "10", "--evidence", "--db", measured_db, "--json")
    assert cli == mclient.post("/api/recommend", params={"evidence": "true"}, json=profile).json()
    # bench compare: the application layer's comparison is what the CLI prints
    from rtadvisor import app

    compared = _cli_json(capsys, "bench", "compare", run_id, "latest", "--json", "--db", measured_db)
    assert compared == app.compare_runs(measured_db, run_id, "latest").model_dump(mode="json")
    assert {r["runtime"] for r in compared["rows"]} == set(BACKENDS)
    assert all(r["ratio"] == pytest.approx(1.0) for r in compared["rows"] if r["a"])  # a run against itself
