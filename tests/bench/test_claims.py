"""The claim-check verdict logic (pure: stored result documents in, verdicts out)."""

from __future__ import annotations

from typing import Any

import pytest

from rtadvisor import kb
from rtadvisor.bench.claims import TOLERANCE, check_claim, check_claims
from rtadvisor.model import BenchDensity, BenchMemory, BenchResult, BenchStats, Claim, NodeInfo
from rtadvisor.store import StoredResult


def claim(**overrides: Any) -> Claim:
    fields: dict[str, Any] = {"id": "c", "subject": "runc", "metric": "cold_start", "unit": "ms", "source": "S-select"}
    fields.update(overrides)
    return Claim(**fields)


NODE = NodeInfo(hostname="h", node_name="h")


def result(runtime: str = "runc", *, cold_p50: float = 30.0, emulated: bool = False) -> StoredResult:
    """A stored, measured result of one backend (what ``ResultStore.latest_results`` returns)."""
    r = BenchResult(
        runtime=runtime, available=True, emulated=emulated,
        cold_start_ms=BenchStats(n=30, p50=cold_p50), cpu_ms=BenchStats(n=30, p50=cold_p50 / 2),
        memory=BenchMemory(pss_mb=0.7, per_instance_mb=0.05), artifact_bytes=2 * 2**20,
        density=BenchDensity(value=110, bound_by="max_pods", memory=9000, max_pods=110),
    )
    return StoredResult(result=r, run_id="r1", started="2026-01-01T00:00:00+00:00", node=NODE)


def test_point_claim_holds_within_tolerance_and_not_beyond() -> None:
    inside = check_claim(claim(value=30 * (1 + TOLERANCE * 0.9)), {"runc": result()})
    assert inside.verdict == "holds" and inside.measured is not None and inside.measured.value == 30.0
    outside = check_claim(claim(value=1200), {"runc": result()})
    assert outside.verdict == "does not hold"
    assert "lower" in outside.why and "30" in outside.why


def test_range_and_bound_claims() -> None:
    latest = {"runc": result()}
    assert check_claim(claim(low=20, high=40), latest).verdict == "holds"
    assert check_claim(claim(low=1000, high=5000), latest).verdict == "does not hold"
    assert check_claim(claim(high=10), latest).verdict == "does not hold"
    assert check_claim(claim(high=100), latest).verdict == "holds"
    assert check_claim(claim(low=24), latest).verdict == "holds"  # 30 >= 24 * (1 - 25%)


def test_metric_mapping() -> None:
    latest = {"runc": result()}
    assert check_claim(claim(metric="memory", unit="MB", value=0.7), latest).verdict == "holds"
    assert check_claim(claim(metric="image_size", unit="MB", value=2), latest).verdict == "holds"
    dens = check_claim(claim(metric="density", unit="pods/node", value=300), latest)
    assert dens.verdict == "does not hold" and dens.measured is not None and "max_pods" in dens.measured.detail
    spike = check_claim(claim(metric="cpu_spike", unit="%", value=50), latest)  # 15 ms CPU / 30 ms wall
    assert spike.verdict == "holds" and spike.measured is not None and spike.measured.value == pytest.approx(50)


def test_subjects_map_to_their_backends_and_stand_ins() -> None:
    gv = check_claim(claim(subject="gvisor", low=2000, high=5000), {"runsc": result(runtime="runsc")})
    assert gv.measured is not None and gv.measured.runtime == "runsc"
    alpine = check_claim(claim(subject="alpine-container", value=1200), {"runc": result()})
    assert alpine.verdict == "does not hold" and alpine.stand_in
    vm = check_claim(claim(subject="vm", low=1000, high=3000),
                     {"microvm": result(runtime="microvm", emulated=True, cold_p50=2100)})
    assert vm.verdict == "holds" and "emulated" in vm.why
    # the micro-VM is a stand-in for Kata, and the verdict says in what sense (not Kata itself)
    kata = check_claim(claim(subject="kata", low=1000, high=3000),
                       {"microvm": result(runtime="microvm", emulated=True, cold_p50=2100)})
    assert kata.stand_in and "kata <- microvm" in kata.stand_in and "not Kata" in kata.stand_in
    # runc itself beats runc through containerd; through containerd is said so
    both = {"runc": result(cold_p50=30.0), "containerd": result(runtime="containerd", cold_p50=140.0)}
    direct = check_claim(claim(value=30), both)
    assert direct.measured is not None and direct.measured.runtime == "runc" and direct.stand_in is None
    via = check_claim(claim(value=140), {"containerd": both["containerd"]})
    assert via.verdict == "holds" and via.stand_in and "through containerd" in via.stand_in


def test_not_measurable_here_says_why() -> None:
    rating = check_claim(claim(metric="isolation_rating", unit="/5", value=3), {"runc": result()})
    assert rating.verdict == "not measurable here" and "rating" in rating.why
    fleet = check_claim(claim(subject="wasmedge", metric="fleet_nodes", unit="nodes", low=1000), {})
    assert fleet.verdict == "not measurable here" and "one node" in fleet.why
    wasmedge = check_claim(claim(subject="wasmedge", value=6), {"wasmtime": result(runtime="wasmtime")},
                           {"wasmedge": "wasmedge not installed on this node"})
    assert wasmedge.verdict == "not measurable here" and "not installed" in wasmedge.why
    assert wasmedge.measured is not None and wasmedge.measured.runtime == "wasmtime"  # a reference, no verdict
    alpine_image = check_claim(claim(subject="alpine-container", metric="image_size", unit="MB", value=13),
                               {"runc": result()})
    assert alpine_image.verdict == "not measurable here"
    nothing = check_claim(claim(value=1200), {})
    assert nothing.verdict == "not measurable here" and "rtadvisor bench" in nothing.why


def test_every_numeric_kb_claim_gets_a_verdict() -> None:
    claims = kb.load().claims
    checks = check_claims(claims, {"runc": result()}, {})
    numeric = [c for c in claims if c.value is not None or c.low is not None or c.high is not None]
    assert len(checks) == len(numeric) > 20
    assert {c.verdict for c in checks} >= {"holds", "does not hold", "not measurable here"} - {"holds"}
    for c in checks:
        assert c.why
        assert c.as_dict()["tolerance"] == f"±{TOLERANCE:.0%}"
