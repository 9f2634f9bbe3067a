"""The fleet's reading of the store (on SQLite and PostgreSQL): each node's newest run, a pool's
medians and spread, what a pool cannot run and why (the registry read honestly), stale nodes, nodes
unlike their pool, claims per pool, the pool's evidence in a decision; the CLI and API faces."""

from __future__ import annotations

import json
import statistics
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fleethelpers import NOW, RTADVISOR, failed, measured, node_run, unavailable

from rtadvisor import app
from rtadvisor.errors import NotFoundError, StoreError
from rtadvisor.model import STAND_INS, BenchRun
from rtadvisor.store import ResultStore, load_pool_evidence
from rtadvisor.store.fleet import NEEDS_HARDWARE_VIRTUALIZATION, node_states, summarize_pool

EDGE_COLD = {"edge-1": 30.0, "edge-2": 31.0, "edge-3": 33.0, "edge-4": 29.0, "edge-5": 95.0}


def edge_runs() -> list[BenchRun]:
    """Pool edge-arm: five nodes without usable KVM (one an outlier, one without runsc), one stale;
    pool gpu: two KVM nodes; one node without a pool; plus an older run that must not count."""
    out = []
    for i, (node, cold) in enumerate(EDGE_COLD.items()):
        runsc = (unavailable("runsc", "runsc not installed on this node") if node == "edge-3"
                 else measured("runsc", 140.0 + i, pss=12.0 + i))
        out.append(node_run(node, "edge-arm", (
            measured("runc", cold, pss=2.0 + i / 10), runsc,
            unavailable("containerd-runsc", "runsc not installed on this node") if node == "edge-3"
            else measured("containerd-runsc", 280.0),
            measured("microvm", 2700.0 + 10 * i, pss=230.0, emulated=True),
            measured("wasmtime", 0.4, pss=0.5),
            unavailable("wasmedge", "wasmedge not installed on this node"),
            failed("crun", "crun exited with 1") if node == "edge-2" else measured("crun", 12.0)),
            kvm="kvm_pvm", kvm_linux_guests=False, arch="aarch64", kernel="6.6.0" if node != "edge-4" else "6.1.0"))
    out.append(node_run("edge-6", "edge-arm", (measured("runc", 500.0),), age=timedelta(days=3), kvm="kvm_pvm",
                        kvm_linux_guests=False, arch="aarch64", kernel="6.6.0"))
    out.append(node_run("edge-1", "edge-arm", (measured("runc", 999.0),), age=timedelta(days=2), seq=1,
                        kvm="kvm_pvm", kvm_linux_guests=False))
    for node, cold in (("gpu-1", 40.0), ("gpu-2", 44.0)):
        out.append(node_run(node, "gpu", (measured("runc", cold), measured("microvm", 900.0, pss=200.0),
                                          unavailable("runsc", "runsc not installed on this node"),
                                          measured("containerd-runsc", 300.0))))
    out.append(node_run("lonely", None, (measured("runc", 50.0),), kvm="absent", kvm_linux_guests=None))
    return out


@pytest.fixture
def fleet_db(store_url: str) -> str:
    with ResultStore.open(store_url) as store:
        for run in edge_runs():
            store.save(run)
    return store_url


def test_each_node_is_its_newest_run(fleet_db: str) -> None:
    with ResultStore.open(fleet_db) as store:
        states = {s.node_name: s for s in node_states(store)}
        edge = node_states(store, "edge-arm", any_pool=False)
        nameless = node_states(store, None, any_pool=False)
    assert sorted(states) == ["edge-1", "edge-2", "edge-3", "edge-4", "edge-5", "edge-6", "gpu-1", "gpu-2", "lonely"]
    assert states["edge-1"].runtimes["runc"].figures["cold_start_ms"] == 30.0  # not the older 999
    assert states["edge-2"].runtimes["crun"].status == "failed"
    assert states["edge-2"].runtimes["crun"].reason == "crun exited with 1"
    assert states["edge-3"].runtimes["runsc"].status == "unavailable"
    assert states["edge-1"].runtimes["microvm"].emulated
    assert len(edge) == 6 and [s.node_name for s in nameless] == ["lonely"]


def test_a_pool_in_numbers(fleet_db: str) -> None:
    with ResultStore.open(fleet_db) as store:
        summary = summarize_pool("edge-arm", node_states(store, "edge-arm", any_pool=False), now=NOW,
                                 stale_after_s=24 * 3600)
    assert [s.node_name for s in summary.stale] == ["edge-6"]
    assert len(summary.counted) == 5 and "5 fresh nodes" in summary.basis and "1 stale" in summary.basis
    cold = summary.backends["runc"].figures["cold_start_ms"]
    values = list(EDGE_COLD.values())
    assert cold.median == statistics.median(values) and (cold.low, cold.high) == (min(values), max(values))
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    assert (cold.q1, cold.q3, cold.nodes) == (q1, q3, 5)
    assert summary.backends["crun"].failed == {"edge-2": "crun exited with 1"}
    assert len(summary.backends["crun"].measured) == 4
    assert summary.backends["microvm"].figures["cold_start_ms"].emulated


def test_what_a_pool_cannot_run_follows_the_registry_honestly(fleet_db: str) -> None:
    evidence = load_pool_evidence(fleet_db, "edge-arm", stale_after_s=24 * 3600)
    unusable = evidence.unusable
    # runsc itself AND runsc through containerd are missing on edge-3: gVisor cannot run on the pool
    assert unusable["gvisor"].startswith("not usable on 1 of 5 nodes of pool edge-arm: ")
    assert "edge-3" in unusable["gvisor"]
    # the micro-VM ran (emulated) on every node -- that makes neither Kata nor a VM usable
    for runtime in ("kata", "vm"):
        assert unusable[runtime].startswith("no /dev/kvm with hardware virtualization on pool edge-arm (5 of 5 nodes")
        assert "cannot boot a Linux guest" in unusable[runtime]
    assert "wasmedge" in unusable  # its own backend is not installed; wasmtime (a relative) does not count
    assert "runc" not in unusable and "crun" not in unusable and "wasmtime" not in unusable
    assert evidence.host["pool"] == "edge-arm" and evidence.host["kvm_linux_guests"] is False
    assert evidence.host["nodes"] == 6 and evidence.host["counted_nodes"] == 5

    gpu = load_pool_evidence(fleet_db, "gpu")
    # runsc missing but containerd-runsc usable on each node: gVisor runs there
    assert "gvisor" not in gpu.unusable
    # KVM boots Linux guests on both nodes: Kata is not excluded (nor claimed usable: it was not run)
    assert "kata" not in gpu.unusable and gpu.host["kvm_linux_guests"] is True


def test_pool_evidence_is_the_median_filed_like_a_nodes(fleet_db: str) -> None:
    evidence = load_pool_evidence(fleet_db, "edge-arm", stale_after_s=24 * 3600)
    runc = evidence.get("runc", "cold_start_ms")
    assert runc is not None and runc.value == statistics.median(EDGE_COLD.values()) and runc.n == 5
    assert runc.host == "pool edge-arm" and "median across 5 nodes of pool edge-arm" in runc.method
    gvisor = evidence.get("gvisor", "cold_start_ms")
    assert gvisor is not None and "measured by backend runsc" in gvisor.method
    microvm = evidence.get("microvm", "cold_start_ms")
    assert microvm is not None and microvm.emulated
    assert evidence.get("kata", "cold_start_ms") is None  # a stand-in stays under its own name


def test_only_the_vm_stand_in_speaks_for_hardware_virtualization() -> None:
    vm_stand_ins = {s.runtime for s in STAND_INS if s.backend == "microvm"}
    assert set(NEEDS_HARDWARE_VIRTUALIZATION) == vm_stand_ins


def test_unknown_pool_names_the_known_ones(fleet_db: str) -> None:
    with pytest.raises(NotFoundError, match=r"pool: no node of pool 'nope' in .* \(pools there: edge-arm, gpu\)"):
        load_pool_evidence(fleet_db, "nope")


def test_a_decision_for_a_pool_excludes_what_it_cannot_run(fleet_db: str) -> None:
    workload = app.parse_workload({"name": "tenant-fn", "scenario": "serverless", "untrusted_code": True,
                                   "multi_tenant": True, "isolation": "strong"}, source="test")
    decision = app.recommend(workload, db=fleet_db, pool="edge-arm")
    excluded = {a.runtime: a.excluded for a in decision.alternatives if a.excluded}
    assert "no /dev/kvm with hardware virtualization on pool edge-arm" in (excluded.get("kata") or "")
    assert "not usable on 1 of" in (excluded.get("gvisor") or "")
    assert decision.runtime not in ("kata", "vm", "gvisor")
    other = app.recommend(workload, db=fleet_db, pool="gpu")
    assert "kata" not in {a.runtime for a in other.alternatives if a.excluded and "pool" in a.excluded}


def test_the_report(fleet_db: str) -> None:
    report = app.fleet_report(fleet_db, "24h", now=NOW)
    assert [p.pool for p in report.pools] == ["edge-arm", "gpu", None]
    edge = report.pools[0]
    assert edge.nodes == 6 and edge.counted_nodes == 5 and edge.stale_nodes == ("edge-6",)
    assert edge.hardware_virtualization is False and edge.facts["kvm"] == "kvm_pvm"
    rows = {r.runtime: r for r in edge.runtimes}
    assert rows["runc"].status == "usable on every node" and rows["runc"].measured_nodes == 5
    assert rows["runsc"].status == "usable on some nodes" and rows["runsc"].unavailable_nodes == 1
    assert rows["wasmedge"].status == "not usable"
    assert rows["wasmedge"].reasons == ("not usable on 5 nodes: wasmedge not installed on this node",)
    assert rows["crun"].failed_nodes == 1 and "failed on 1 node: crun exited with 1" in rows["crun"].reasons
    assert any("not Kata" in s for s in rows["microvm"].stands_for)
    cold = next(f for f in rows["runc"].figures if f.metric == "cold_start_ms")
    assert (cold.median, cold.min, cold.max, cold.nodes) == (31.0, 29.0, 95.0, 5)
    kinds = {(d.node, d.kind, d.subject) for d in edge.disagreements}
    assert ("edge-5", "figure", "runc/cold_start_ms") in kinds  # 95 ms where the others take ~30
    assert ("edge-3", "usability", "runsc") in kinds
    assert ("edge-4", "fact", "kernel") in kinds
    assert not any(d.node in ("edge-1", "edge-2") and d.kind == "figure" for d in edge.disagreements)
    assert set(edge.unusable) >= {"kata", "vm", "gvisor", "wasmedge"}
    verdicts = {v.claim.id: v for v in edge.verdicts}
    assert verdicts, "the claims are checked per pool"
    judged = [v for v in edge.verdicts if v.verdict != "not measurable here"]
    assert judged and all(v.why.startswith("pool edge-arm, median of") for v in judged)
    gvisor = next(v for v in judged if v.claim.subject == "gvisor" and v.claim.metric == "cold_start")
    assert gvisor.measurement is not None and gvisor.measurement.value == statistics.median_low(
        [140.0, 141.0, 143.0, 144.0]) and gvisor.measurement.host in ("edge-1", "edge-2", "edge-4", "edge-5")
    nodes = {n.node_name: n for n in report.nodes}
    assert nodes["edge-6"].stale and not nodes["edge-1"].stale and nodes["lonely"].pool is None
    assert nodes["edge-3"].usable == ("runc", "microvm", "wasmtime", "crun")
    assert nodes["lonely"].kvm == "absent" and report.pools[2].unusable.get("kata", "").startswith("no /dev/kvm")


def test_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no stored bench results"):
        app.fleet_report(str(tmp_path / "none.db"))
    ResultStore.open(str(tmp_path / "empty.db")).close()
    with pytest.raises(StoreError, match="run `rtadvisor bench` or `rtadvisor agent` first"):
        app.fleet_report(str(tmp_path / "empty.db"))


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RTADVISOR, *args], capture_output=True, text=True, timeout=300, env=env, check=False)


def test_cli_fleet_and_recommend_with_a_pool(tmp_path: Path) -> None:
    db = str(tmp_path / "fleet.db")
    with ResultStore.open(db) as store:
        for run in edge_runs():
            store.save(run)
    out = _cli("fleet", "--db", db, "--json", "--stale-after", "7d")
    assert out.returncode == 0, out.stderr
    report = app.FleetReport.model_validate_json(out.stdout)
    assert [p.pool for p in report.pools] == ["edge-arm", "gpu", None]
    human = _cli("fleet", "--db", db, "--pool", "gpu")
    assert human.returncode == 0 and "pool gpu" in human.stdout and "edge-arm" not in human.stdout
    assert _cli("fleet", "--db", db, "--pool", "nope").returncode == 2
    empty = _cli("fleet", "--db", str(tmp_path / "none.db"))
    assert empty.returncode == 1 and empty.stderr.startswith("rtadvisor: error: no stored bench results")
    bad = _cli("fleet", "--db", db, "--stale-after", "soon")
    assert bad.returncode == 2 and "--stale-after" in bad.stderr

    decision = _cli("recommend", "--name", "fn", "--scenario", "serverless", "--untrusted-code", "--multi-tenant",
                    "--isolation", "strong", "--evidence", "--pool", "edge-arm", "--db", db, "--json")
    assert decision.returncode == 0, decision.stderr
    excluded = {a["runtime"]: a["excluded"] for a in json.loads(decision.stdout)["alternatives"] if a["excluded"]}
    assert "no /dev/kvm with hardware virtualization on pool edge-arm" in excluded["kata"]
    missing = _cli("recommend", "--name", "fn", "--scenario", "edge", "--pool", "nope", "--db", db)
    assert missing.returncode == 2 and "no node of pool 'nope'" in missing.stderr


def test_api_fleet_and_recommend_with_a_pool(fleet_db: str) -> None:
    from rtadvisor.web import create_app

    with TestClient(create_app(db=fleet_db), base_url="http://127.0.0.1") as client:
        resp = client.get("/api/fleet", params={"stale_after": "7d"})
        assert resp.status_code == 200
        report = app.FleetReport.model_validate(resp.json())
        assert {p.pool for p in report.pools} == {"edge-arm", "gpu", None}
        assert client.get("/api/fleet", params={"stale_after": "never"}).status_code == 422
        body = {"name": "fn", "scenario": "serverless", "untrusted_code": True, "multi_tenant": True,
                "isolation": "strong"}
        resp = client.post("/api/recommend", params={"pool": "edge-arm"}, json=body)
        assert resp.status_code == 200
        excluded = {a["runtime"]: a["excluded"] for a in resp.json()["alternatives"] if a["excluded"]}
        assert "pool edge-arm" in excluded["kata"]
        assert client.post("/api/recommend", params={"pool": "nope"}, json=body).status_code == 404
        schema = client.get("/openapi.json").json()
        ref = schema["paths"]["/api/fleet"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert ref == {"$ref": "#/components/schemas/FleetReport"}
        page = client.get("/fleet")
        assert page.status_code == 200 and '<script src="/static/fleet.js">' in page.text
        assert client.get("/static/fleet.css").status_code == 200


def test_a_pool_name_is_only_a_name(store_url: str) -> None:
    odd = "o'brien\"; DROP TABLE runs; --"
    with ResultStore.open(store_url) as store:
        store.save(node_run("n-odd", odd, (measured("runc", 10.0),)))
    evidence = load_pool_evidence(store_url, odd)
    assert evidence.host["pool"] == odd and evidence.get("runc", "cold_start_ms") is not None
    with pytest.raises(NotFoundError):
        load_pool_evidence(store_url, "x'; DROP TABLE runs; --")
    with ResultStore.open(store_url) as store:
        assert len(store.runs()) == 1


def test_pool_evidence_carries_isolation_and_overhead_yes_no_figures_conservatively() -> None:
    """Overhead ratios are medians across the nodes; io_uring counts as supported only when every node
    supports it, and the workload's calls reach the host kernel when they do on any node."""
    from rtadvisor.store.fleet import NodeRuntime, NodeState, evidence_of

    def node(name: str, ratio: float, uring: float, passthrough: float) -> NodeState:
        figures = {"cold_start_ms": 100.0, "overhead.null_call_ratio": ratio, "io_uring_supported": uring,
                   "isolation.syscall_passthrough": passthrough}
        return NodeState(node_name=name, pool="p", hostname=name, run_id=f"r-{name}", started=NOW.isoformat(),
                         facts={}, runtimes={"runsc": NodeRuntime("runsc", "measured", None, figures)})

    states = [node("a", 10.0, 1, 0), node("b", 30.0, 0, 0), node("c", 20.0, 1, 1)]
    evidence = evidence_of(summarize_pool("p", states, now=NOW, stale_after_s=24 * 3600))
    for runtime in ("runsc", "gvisor"):  # runsc measures gVisor itself: filed under both
        ratio = evidence.get(runtime, "overhead.null_call_ratio")
        assert ratio is not None and ratio.value == 20.0 and ratio.unit == "x native" and ratio.n == 3
        uring = evidence.get(runtime, "io_uring_supported")
        assert uring is not None and uring.value == 0 and "lowest across 3 nodes" in uring.method
        through = evidence.get(runtime, "isolation.syscall_passthrough")
        assert through is not None and through.value == 1 and "one node is enough" in through.method
