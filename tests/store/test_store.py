"""The result store: round trip, evidence, history, schema-version refusal, clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from rtadvisor.errors import StoreError
from rtadvisor.store import SCHEMA_VERSION, ResultStore, load_evidence, resolve_url


def document(**overrides: Any) -> dict[str, Any]:
    """A ``bench --json`` document shaped like the harness's output."""
    doc: dict[str, Any] = {
        "run_id": None,
        "host": {"hostname": "node-a", "kernel": "6.1", "cpu": "x", "date": "2026-01-01T00:00:00+00:00"},
        "options": {"runs": 30},
        "results": [
            {"runtime": "runsc", "kb_runtime": "gvisor", "available": True, "error": None, "emulated": False,
             "cold_start_ms": {"p50": 140.0, "n": 30, "min": 120.0}, "cpu_ms": {"p50": 90.0, "n": 30},
             "pss_mb": 10.5, "per_instance_mb": 9.8, "artifact_bytes": 2_000_000,
             "density": {"value": 110, "bound_by": "max_pods"}, "memory_sweep": [{"n": 1}, {"n": 2}],
             "packed_sweep": [], "method": {"cold_start": "timed"}},
            {"runtime": "wasmedge", "available": False, "reason": "wasmedge not installed on this node"},
        ],
    }
    doc.update(overrides)
    return doc


def test_round_trip_history_and_evidence(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    store = ResultStore.open(db)
    first = store.save(document())
    later = document(host={"hostname": "node-a", "date": "2026-02-01T00:00:00+00:00"})
    later["results"][0] = {**later["results"][0], "cold_start_ms": {"p50": 150.0, "n": 30}}
    second = store.save(later)
    assert [r.id for r in store.runs()] == [second, first]
    assert store.runs()[0].runtimes == ("runsc", "wasmedge")
    loaded = store.load_run(first)
    assert loaded["results"][0]["cold_start_ms"]["p50"] == 140.0
    assert loaded["results"][1]["reason"] == "wasmedge not installed on this node"
    assert store.load_run("latest")["run_id"] == second

    evidence = load_evidence(db)
    metrics = {m.metric for m in evidence.measurements if m.runtime == "runsc"}
    assert metrics == {"cold_start_ms", "cpu_ms", "pss_mb", "per_instance_mb", "artifact_bytes", "density"}
    cold = evidence.get("runsc", "cold_start_ms")
    assert cold is not None and cold.value == 150.0 and cold.n == 30 and cold.run_id == second
    assert cold.host == "node-a" and cold.date and "backend runsc" in cold.method
    # the same figure filed under the knowledge-base id it evidences
    gvisor = evidence.get("gvisor", "cold_start_ms")
    assert gvisor is not None and gvisor.value == 150.0
    assert evidence.get("wasmedge", "cold_start_ms") is None  # never a made-up number


def test_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    with pytest.raises(StoreError, match=r"no stored bench results in .*none\.db: run `rtadvisor bench` first"):
        load_evidence(str(db))
    ResultStore.open(str(db))  # created, still empty
    with pytest.raises(StoreError, match="no stored bench results"):
        load_evidence(str(db))


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    ResultStore.open(str(db)).save(document())
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION + 1})
    with pytest.raises(StoreError, match=rf"schema version {SCHEMA_VERSION + 1}, newer than"):
        ResultStore.open(str(db))


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
