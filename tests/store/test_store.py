"""The result store: typed round trip, evidence and the registry, versions (store and document),
the version-1 upgrade, idempotent saves, concurrent openers, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from rtadvisor.errors import StoreError
from rtadvisor.model import (
    BENCH_SCHEMA_VERSION,
    BenchDensity,
    BenchMemory,
    BenchResult,
    BenchRun,
    BenchStats,
    NodeInfo,
    primary_runtime,
    stand_ins,
)
from rtadvisor.store import SCHEMA_VERSION, ResultStore, load_evidence, read_bench_run, resolve_url


def measured(runtime: str, cold_p50: float, **overrides: Any) -> BenchResult:
    fields: dict[str, Any] = {
        "runtime": runtime, "available": True, "kb_runtime": primary_runtime(runtime),
        "stands_for": stand_ins(backend=runtime),
        "cold_start_ms": BenchStats(n=30, p50=cold_p50, min=cold_p50 * 0.9, ci_low=cold_p50 * 0.97,
                                    ci_high=cold_p50 * 1.02, ci_half_width_pct=3.0),
        "cpu_ms": BenchStats(n=30, p50=cold_p50 / 2), "artifact_bytes": 2_000_000,
        "memory": BenchMemory(pss_mb=10.5, per_instance_mb=9.8),
        "density": BenchDensity(value=110, bound_by="max_pods", max_pods=110),
        "method": {"cold_start": "timed"},
    }
    fields.update(overrides)
    return BenchResult(**fields)


def bench_run(run_id: str = "20260101T000000Z-aaaaaaaaaaaa", started: str = "2026-01-01T00:00:00+00:00",
              results: tuple[BenchResult, ...] | None = None, **node: Any) -> BenchRun:
    node_fields: dict[str, Any] = {"hostname": "node-a", "node_name": "node-a", "kernel": "6.1"}
    node_fields.update(node)
    if results is None:
        results = (measured("runsc", 140.0),
                   BenchResult(runtime="wasmedge", available=False, reason="wasmedge not installed on this node"))
    return BenchRun(run_id=run_id, started=started, node=NodeInfo(**node_fields), results=results)


def v1_document(**overrides: Any) -> dict[str, Any]:
    """A ``bench --json`` document as rtadvisor wrote it before the typed result (version 1)."""
    doc: dict[str, Any] = {
        "run_id": None,
        "host": {"hostname": "node-a", "kernel": "6.1", "cpu": "x", "date": "2026-01-01T00:00:00+00:00",
                 "versions": {"runsc": "runsc 20221219"}},
        "options": {"runs": 30, "warmups": 3},
        "results": [
            {"runtime": "runsc", "kb_runtime": "gvisor", "available": True, "error": None, "emulated": False,
             "cold_start_ms": {"p50": 140.0, "n": 30, "min": 120.0}, "cpu_ms": {"p50": 90.0, "n": 30},
             "pss_mb": 10.5, "per_instance_mb": 9.8, "artifact_bytes": 2_000_000,
             "density": {"value": 110, "bound_by": "max_pods"}, "memory_sweep": [{"n": 1}, {"n": 2}],
             "packed_sweep": [], "method": {"cold_start": "timed"}},
            {"runtime": "microvm", "kb_runtime": "kata", "available": True, "emulated": True,
             "cold_start_ms": {"p50": 4400.0, "n": 30}, "pss_mb": 230.0, "per_instance_mb": 150.0},
            {"runtime": "wasmedge", "available": False, "reason": "wasmedge not installed on this node"},
        ],
    }
    doc.update(overrides)
    return doc


def test_typed_round_trip_history_and_evidence(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    store = ResultStore.open(db)
    first = bench_run()
    assert store.save(first) == first.run_id
    later = bench_run(run_id="20260201T000000Z-bbbbbbbbbbbb", started="2026-02-01T00:00:00+00:00",
                      results=(measured("runsc", 150.0), measured("containerd", 160.0), measured("runc", 40.0),
                               measured("microvm", 4400.0, emulated=True)), pool="gpu-a", node_name="k8s-node-7")
    store.save(later)
    assert store.load_run(first.run_id) == first  # exactly what was saved, typed
    assert store.load_run("latest") == later and store.load_run("20260201") == later
    infos = store.runs()
    assert [r.id for r in infos] == [later.run_id, first.run_id]
    assert infos[0].runtimes == ("runsc", "containerd", "runc", "microvm")
    assert (infos[0].node_name, infos[0].pool) == ("k8s-node-7", "gpu-a")

    evidence = load_evidence(db)
    metrics = {m.metric for m in evidence.measurements if m.runtime == "runsc"}
    assert metrics == {"cold_start_ms", "cpu_ms", "pss_mb", "per_instance_mb", "artifact_bytes", "density"}
    cold = evidence.get("runsc", "cold_start_ms")
    assert cold is not None and cold.value == 150.0 and cold.n == 30 and cold.run_id == later.run_id
    assert cold.host == "node-a" and cold.date and "backend runsc" in cold.method and "95% CI" in cold.method
    # filed under the knowledge-base runtime it measures itself...
    gvisor = evidence.get("gvisor", "cold_start_ms")
    assert gvisor is not None and gvisor.value == 150.0 and "measured by backend runsc" in gvisor.method
    # ...runc itself beats runc through containerd...
    runc = evidence.get("runc", "cold_start_ms")
    assert runc is not None and runc.value == 40.0
    # ...and a stand-in stays under its own name: the micro-VM's figures are not Kata's
    assert evidence.get("microvm", "cold_start_ms") is not None
    assert evidence.get("kata", "cold_start_ms") is None and evidence.get("vm", "cold_start_ms") is None
    assert evidence.get("wasmedge", "cold_start_ms") is None  # never a made-up number


def test_latest_results_are_typed_with_their_run(tmp_path: Path) -> None:
    store = ResultStore.open(str(tmp_path / "r.db"))
    store.save(bench_run())
    failed = measured("runsc", 999.0, error="runsc exited with 1")
    store.save(bench_run(run_id="20260301T000000Z-cccccccccccc", started="2026-03-01T00:00:00+00:00",
                         results=(failed,)))
    latest = store.latest_results()
    assert set(latest) == {"runsc"}  # unavailable ones and failures are not "latest measurements"
    assert latest["runsc"].result.cold_start_ms is not None and latest["runsc"].result.cold_start_ms.p50 == 140.0
    assert latest["runsc"].run_id == "20260101T000000Z-aaaaaaaaaaaa" and latest["runsc"].node.hostname == "node-a"


def test_saving_is_idempotent_and_refuses_other_content_under_a_stored_id(tmp_path: Path) -> None:
    store = ResultStore.open(str(tmp_path / "r.db"))
    run = bench_run()
    store.save(run)
    store.save(run)  # an agent retrying an upload: no duplicate
    assert len(store.runs()) == 1 and len(store.load_run("latest").results) == 2
    other = bench_run(results=(measured("runsc", 1.0),))
    with pytest.raises(StoreError, match=r"run 20260101T000000Z-aaaaaaaaaaaa is already stored .* different content"):
        store.save(other)


def test_version_1_documents_are_upgraded_not_guessed(tmp_path: Path) -> None:
    run = read_bench_run(v1_document())
    assert run.schema_version == BENCH_SCHEMA_VERSION and run.node.cpu_model == "x"
    runsc = run.result("runsc")
    assert runsc is not None and runsc.memory is not None and runsc.memory.pss_mb == 10.5
    assert runsc.memory.sweep == ()  # the document's incomplete sweep points are dropped, not filled in
    assert runsc.cold_start_ms is not None and runsc.cold_start_ms.p95 is None  # not recorded: stays empty
    microvm = run.result("microvm")
    assert microvm is not None and microvm.kb_runtime == "kata"
    assert [s.relation for s in microvm.stands_for] == ["stand-in", "stand-in"]  # the registry, not the v1 field
    # content-derived id: the same version-1 document stored twice is one run
    store = ResultStore.open(str(tmp_path / "r.db"))
    assert store.save(v1_document()) == store.save(v1_document()) == run.run_id
    assert run.run_id.startswith("20260101T000000Z-")


def test_a_version_1_store_is_migrated_in_place(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE schema_version (version INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO schema_version VALUES (1)"))
        conn.execute(text("CREATE TABLE runs (id VARCHAR(64) PRIMARY KEY, created VARCHAR(40) NOT NULL, "
                          "hostname VARCHAR(255), host JSON NOT NULL, options JSON NOT NULL)"))
        conn.execute(text("CREATE TABLE results (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id VARCHAR(64) NOT NULL, "
                          "runtime VARCHAR(64) NOT NULL, available BOOLEAN NOT NULL, reason TEXT, data JSON NOT NULL)"))
        conn.execute(text("CREATE TABLE measurements (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id VARCHAR(64) NOT NULL, "
                          "runtime VARCHAR(64) NOT NULL, kb_runtime VARCHAR(64), metric VARCHAR(64) NOT NULL, "
                          "value FLOAT NOT NULL, unit VARCHAR(32) NOT NULL, n INTEGER NOT NULL, method TEXT NOT NULL, "
                          "emulated BOOLEAN NOT NULL)"))
        doc = v1_document()
        conn.execute(text("INSERT INTO runs VALUES ('old-run', '2026-01-01T00:00:00+00:00', 'node-a', :h, :o)"),
                     {"h": json.dumps(doc["host"]), "o": json.dumps(doc["options"])})
        for r in doc["results"]:
            conn.execute(text("INSERT INTO results (run_id, runtime, available, reason, data) "
                              "VALUES ('old-run', :rt, :av, :re, :d)"),
                         {"rt": r["runtime"], "av": r["available"], "re": r.get("reason"), "d": json.dumps(r)})
        conn.execute(text("INSERT INTO measurements (run_id, runtime, kb_runtime, metric, value, unit, n, method, "
                          "emulated) VALUES ('old-run', 'microvm', 'kata', 'cold_start_ms', 4400, 'ms', 30, 'x', 1)"))
    store = ResultStore.open(str(db), create=False)
    with create_engine(f"sqlite:///{db}").connect() as conn:
        assert conn.execute(text("SELECT version FROM schema_version")).scalars().all() == [SCHEMA_VERSION]
        assert conn.execute(text("SELECT document_version, node_name FROM runs")).one() == (BENCH_SCHEMA_VERSION, "node-a")
    run = store.load_run("old-run")
    assert run.result("runsc") is not None and run.node.runtime_versions == {"runsc": "runsc 20221219"}
    evidence = store.evidence()
    assert evidence.get("gvisor", "cold_start_ms") is not None
    assert evidence.get("kata", "cold_start_ms") is None  # version 1 filed the micro-VM as Kata; not any more


def test_newer_store_and_newer_documents_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    ResultStore.open(str(db)).save(bench_run())
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION + 1})
    with pytest.raises(StoreError, match=rf"schema version {SCHEMA_VERSION + 1}, newer than"):
        ResultStore.open(str(db))
    newer = bench_run().model_dump(mode="json") | {"schema_version": BENCH_SCHEMA_VERSION + 1}
    with pytest.raises(StoreError) as info:
        read_bench_run(json.dumps(newer), source="run.json")
    message = str(info.value)
    assert message == (f"run.json: bench result schema version {BENCH_SCHEMA_VERSION + 1} is newer than this "
                       f"rtadvisor understands ({BENCH_SCHEMA_VERSION}): upgrade rtadvisor to read it")


@pytest.mark.parametrize(("data", "expected"), [
    ("{not json", r"run.json: not JSON"),
    ("[1, 2]", r"run.json: expected a JSON object"),
    ('{"schema_version": "2"}', r"run.json: schema_version: expected a positive integer"),
    ('{"schema_version": 2, "run_id": "x", "started": "s", "node": {"hostname": "h"}}', r"run.json: node.node_name"),
    (('{"schema_version": 2, "run_id": "x", "started": "s", "node": {"hostname": "h", "node_name": "h"}, '
      '"results": [{"runtime": "r", "available": true, "cold_start_ms": {"n": 0, "p50": 1}}]}'),
     r"run.json: results.0.cold_start_ms.n"),
])
def test_bad_documents_are_one_line_errors(data: str, expected: str) -> None:
    with pytest.raises(StoreError, match=expected) as info:
        read_bench_run(data, source="run.json")
    assert "\n" not in str(info.value)


_OPEN_AND_SAVE = """
import sys
from rtadvisor.model import BenchResult, BenchRun, NodeInfo
from rtadvisor.store import ResultStore
run = BenchRun(run_id="run-" + sys.argv[2], started="2026-01-01T00:00:00+00:00",
               node=NodeInfo(hostname="h", node_name="h"),
               results=(BenchResult(runtime="native", available=False, reason="test"),))
ResultStore.open(sys.argv[1]).save(run)
"""


def test_benches_opening_a_fresh_store_at_once_all_succeed(tmp_path: Path) -> None:
    """Several processes creating the same fresh store at the same moment: no "table already exists"."""
    for attempt in range(3):
        db = str(tmp_path / f"fresh-{attempt}.db")
        procs = [subprocess.Popen([sys.executable, "-c", _OPEN_AND_SAVE, db, f"{attempt}-{i}"],
                                  stderr=subprocess.PIPE, text=True) for i in range(4)]
        errors = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
        for p in procs:
            if p.stderr:
                p.stderr.close()
        assert all(code == 0 for code, _ in errors), errors
        assert len(ResultStore.open(db).runs()) == 4


def test_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    with pytest.raises(StoreError, match=r"no stored bench results in .*none\.db: run `rtadvisor bench` first"):
        load_evidence(str(db))
    ResultStore.open(str(db))  # created, still empty
    with pytest.raises(StoreError, match="no stored bench results"):
        load_evidence(str(db))


def test_env_and_url_selection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTADVISOR_DB", str(tmp_path / "env.db"))
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'env.db'}"
    assert resolve_url("sqlite:///x.db") == "sqlite:///x.db"
    monkeypatch.delenv("RTADVISOR_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_url(None).endswith("/xdg/rtadvisor/results.db")
    store = ResultStore.open(f"sqlite:///{tmp_path / 'url.db'}")
    assert store.location.endswith("url.db")
    with pytest.raises(StoreError, match="cannot open result store nosuchdialect://host/db"):
        ResultStore.open("nosuchdialect://host/db")


def test_unknown_run_is_a_store_error(tmp_path: Path) -> None:
    store = ResultStore.open(str(tmp_path / "r.db"))
    with pytest.raises(StoreError, match="no run 'nope'"):
        store.load_run("nope")
