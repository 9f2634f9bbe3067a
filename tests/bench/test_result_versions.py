"""The bench result's schema version 3 (isolation/overhead sections in the measurement's own shape):
version-2 documents are upgraded on read, the evidence figures come from the sections, and the
pod-overhead table reads the registry."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from rtadvisor.errors import StoreError
from rtadvisor.model import (
    BENCH_SCHEMA_VERSION,
    EVIDENCE_METRICS,
    OVERHEAD_SUITE,
    STAND_INS,
    BenchRun,
    isolation_overhead_figures,
)
from rtadvisor.store import ResultStore, read_bench_run

RUN = Path(__file__).resolve().parents[1] / "data" / "bench-run-9-backends.json"


def _v2_document() -> dict[str, object]:
    """A version-2 document as rtadvisor 2 wrote it: the reserved sections as generic metric maps."""
    doc = json.loads(RUN.read_text())
    doc["schema_version"] = 2
    for key in ("isolation", "overhead", "overhead_suite", "overhead_sample_ms", "overhead_min_rounds",
                "overhead_max_rounds"):
        doc["options"].pop(key, None)
    for r in doc["results"]:
        r["isolation"] = None
        r["overhead"] = None
    runc = next(r for r in doc["results"] if r["runtime"] == "runc")
    runc["overhead"] = {"method": "a hand-made v2 phase", "status": "measured", "reason": None,
                        "metrics": {"hello_ms": {"status": "measured", "value": 3.0, "unit": "ms", "n": 1}},
                        "facts": {}}
    runc["isolation"] = {"method": "no tracefs", "status": "not measurable", "reason": "no tracefs in that test",
                         "metrics": {}, "facts": {}}
    return doc


def test_version_3_is_the_current_shape() -> None:
    assert BENCH_SCHEMA_VERSION == 3
    run = read_bench_run(RUN.read_text())
    runc = run.result("runc")
    assert runc is not None and runc.isolation is not None and runc.overhead is not None
    assert runc.isolation.window("workload") is not None and runc.overhead.metric("epoll_pingpong") is not None
    assert run.options.isolation and run.options.overhead and run.options.overhead_suite == OVERHEAD_SUITE


def test_a_version_2_document_is_upgraded_without_making_figures_up() -> None:
    run = read_bench_run(_v2_document(), source="v2.json")
    assert run.schema_version == BENCH_SCHEMA_VERSION
    assert run.options.isolation is True and run.options.overhead is True  # the run had such sections
    runc = run.result("runc")
    assert runc is not None and runc.overhead is not None and runc.isolation is not None
    assert (runc.overhead.runtime, runc.overhead.status, runc.overhead.method) == ("runc", "measured",
                                                                                  "a hand-made v2 phase")
    assert runc.overhead.metrics == () and "hello_ms" in runc.overhead.notes[0]  # named, not carried over
    assert runc.isolation.status == "not measurable" and runc.isolation.reason == "no tracefs in that test"
    native = run.result("native")
    assert native is not None and native.isolation is None and native.cold_start_ms is not None
    # a version-2 document without any section says the run measured neither
    bare = _v2_document()
    for r in bare["results"]:  # type: ignore[union-attr]
        r["isolation"] = r["overhead"] = None  # type: ignore[index]
    upgraded = read_bench_run(bare)
    assert upgraded.options.isolation is False and upgraded.options.overhead is False


def test_a_stored_version_2_run_reads_as_version_3(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    db = tmp_path / "results.db"
    store = ResultStore.open(str(db))
    run = read_bench_run(RUN.read_text())
    store.save(run)
    v2 = _v2_document()
    with create_engine(f"sqlite:///{db}").begin() as conn:  # what a version-2 rtadvisor left in the store
        conn.execute(text("UPDATE runs SET document_version = 2"))
        for r in v2["results"]:  # type: ignore[union-attr]
            conn.execute(text("UPDATE results SET data = :d WHERE runtime = :rt"),
                         {"d": json.dumps(r), "rt": r["runtime"]})  # type: ignore[index]
    loaded = ResultStore.open(str(db), create=False).load_run("latest")
    assert loaded.schema_version == BENCH_SCHEMA_VERSION
    assert loaded.result("runc").overhead.status == "measured"  # type: ignore[union-attr]
    assert ResultStore.open(str(db), create=False).latest_results()["runc"].result.overhead is not None


def test_newer_documents_are_refused() -> None:
    doc = json.loads(RUN.read_text()) | {"schema_version": BENCH_SCHEMA_VERSION + 1}
    with pytest.raises(StoreError, match="newer than this rtadvisor understands"):
        read_bench_run(doc, source="run.json")


def test_evidence_figures_are_the_documented_metrics() -> None:
    run = BenchRun.model_validate_json(RUN.read_text())
    names = set()
    for result in run.results:
        figures = isolation_overhead_figures(result)
        names |= {f.metric for f in figures}
        for figure in figures:
            assert figure.metric in EVIDENCE_METRICS and figure.unit == EVIDENCE_METRICS[figure.metric]
            assert figure.method.startswith(f"backend {result.runtime}: ")
    assert {"isolation.host_syscalls", "isolation.syscall_passthrough", "io_uring_supported",
            "overhead.epoll_pingpong_ratio"} <= names
    # WASI cannot express io_uring: no io_uring_supported figure for a Wasm engine (unknown, not "no")
    wasmtime = run.result("wasmtime")
    assert wasmtime is not None
    assert "io_uring_supported" not in {f.metric for f in isolation_overhead_figures(wasmtime)}
    # an unmeasured section gives nothing
    blank = copy.deepcopy(wasmtime).model_copy(update={"isolation": None, "overhead": None})
    assert isolation_overhead_figures(blank) == ()


def test_evidence_metric_names_are_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "bench.md").read_text()
    for name in EVIDENCE_METRICS:
        if not name.startswith("overhead."):
            assert f"`{name}`" in doc, name
    assert "`overhead.<benchmark>_ratio`" in doc


def test_pod_overhead_reads_the_registry() -> None:
    from rtadvisor.k8s.overhead import MEASURED_AS, OVERHEAD_RUNTIMES

    for runtime in OVERHEAD_RUNTIMES:
        own = [s.backend for s in STAND_INS if s.runtime == runtime and s.relation in ("itself", "through",
                                                                                       "same-engine")]
        assert [n for n in MEASURED_AS[runtime] if n != runtime] == own
        stand_ins = {s.backend for s in STAND_INS if s.runtime == runtime and s.relation == "stand-in"}
        assert not stand_ins & set(MEASURED_AS[runtime])  # a stand-in's figure is never a pod overhead
    assert MEASURED_AS["gvisor"][0] == "runsc" and MEASURED_AS["kata"] == ()
