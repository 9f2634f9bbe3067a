"""Scoring with evidence (measurements), user weights and AHP preferences."""

from __future__ import annotations

import functools

import pytest

from rtadvisor.decide import ahp_weights
from rtadvisor.decide import recommend as _recommend
from rtadvisor.errors import ProfileError
from rtadvisor.model import Evidence, Measurement

# These tests check the sources' rules as the sources state them (the `sources` rulebook).
recommend = functools.partial(_recommend, rulebook="sources")


def _m(runtime: str, metric: str, value: float, unit: str) -> Measurement:
    return Measurement(runtime=runtime, metric=metric, value=value, unit=unit, n=5, host="node-a", date="2026-11-22",
                       method="test")


def test_evidence_replaces_claims_and_is_traced(workload) -> None:  # type: ignore[no-untyped-def]
    ev = Evidence(measurements=(
        _m("runc", "cold_start_ms", 80.0, "ms"),
        _m("crun", "cold_start_ms", 40.0, "ms"),
        _m("runsc", "cold_start_ms", 300.0, "ms"),
        _m("microvm", "pss_mb", 90.0, "MB"),
        _m("wasmtime", "artifact_bytes", 120_000.0, "B"),
        _m("node-wasi", "cold_start_ms", 50.0, "ms"),
    ), host={"hostname": "node-a"})
    w = workload(scenario="microservices", memory_mb=512, cpu_cores=2)
    d = recommend(w, evidence=ev)
    assert d.evidence_used
    # crun measured faster than runc: within the container family the score now prefers crun
    assert d.runtime == "crun"
    assert recommend(w).runtime == "runc"
    step = next(t for t in d.trace if t.kind == "evidence")
    assert step.source == "measured"
    assert "host node-a" in step.answer and "n=5" in step.answer and "2026-11-22" in step.answer
    crun = next(a for a in d.alternatives if a.runtime == "crun")
    assert crun.values["S"]["origin"] == "measurement" and crun.values["S"]["value"] == 40.0
    assert crun.values["S"]["host"] == "node-a" and crun.values["S"]["n"] == 5
    gvisor = next(a for a in d.alternatives if a.runtime == "gvisor")
    assert gvisor.values["S"]["backend"] == "runsc"
    kata = next(a for a in d.alternatives if a.runtime == "kata")
    assert kata.values["M"]["value"] == 90.0 and "stand-in" in kata.values["M"]["note"]
    wasmtime = next(a for a in d.alternatives if a.runtime == "wasmtime")
    assert wasmtime.values["V"]["value"] == pytest.approx(0.12)
    runc = next(a for a in d.alternatives if a.runtime == "runc")
    assert runc.values["M"]["origin"] == "claim" and runc.values["M"]["claim"] == "runc-memory-alpine"
    assert "node-wasi" in " ".join(step.detail["notes"])


def test_evidence_without_usable_measurements(workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(), evidence=Evidence(measurements=(_m("node-wasi", "cold_start_ms", 5.0, "ms"),)))
    assert not d.evidence_used
    assert any(t.kind == "evidence" and "claims are used" in t.answer for t in d.trace)


def test_user_weights_change_the_ranking(workload) -> None:  # type: ignore[no-untyped-def]
    w = workload(devices=["pci"])
    base = {a.runtime: a.score for a in recommend(w).alternatives}
    heavy_s = {a.runtime: a.score for a in recommend(w, preferences={"weights": {"S": 10}}).alternatives}
    assert heavy_s["wasmedge"] - heavy_s["vm"] > base["wasmedge"] - base["vm"]


def test_ahp_weights_and_consistency() -> None:
    weights, cr = ahp_weights({"S:M": 3, "M:V": 2, "S:V": 6})
    assert cr <= 0.1
    assert weights["S"] > weights["M"] > weights["V"]
    assert sum(weights.values()) == pytest.approx(1.0)


def test_ahp_inconsistent_preferences_are_a_clear_error(workload) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProfileError, match=r"consistency ratio .* exceeds 0.1"):
        recommend(workload(), preferences={"pairwise": {"S:M": 9, "M:V": 9, "V:S": 9}})


@pytest.mark.parametrize(
    "prefs",
    [{"pairwise": {"S-M": 3}}, {"pairwise": {"S:Q": 3}}, {"pairwise": {"S:M": 20}}, {"weights": {"speed": 1}},
     {"method": "electre"}, {"colour": 1}],
)
def test_bad_preferences_rejected(prefs, workload) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProfileError, match=r"^preferences: "):
        recommend(workload(), preferences=prefs)


def test_ahp_preferences_are_traced(workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(), preferences={"pairwise": {"S:isolation": 3}})
    step = next(t for t in d.trace if t.kind == "score" and t.rule.startswith("mcdm"))
    assert "AHP over S, isolation" in (step.threshold or "")
    assert step.detail["ahp_consistency_ratio"] == pytest.approx(0.0)


def test_topsis_method(workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(devices=["usb"]), preferences={"method": "topsis"})
    assert d.runtime in ("kata", "vm")
    assert any(t.rule == "mcdm:topsis" for t in d.trace)
    assert all(a.topsis is not None and 0 <= a.topsis <= 1 for a in d.alternatives)


def test_emulated_measurements_are_not_scored(workload) -> None:  # type: ignore[no-untyped-def]
    m = Measurement(runtime="microvm", metric="cold_start_ms", value=900.0, unit="ms", n=3, host="h", date="d",
                    emulated=True)
    d = recommend(workload(devices=["pci"]), evidence=Evidence(measurements=(m,)))
    vm = next(a for a in d.alternatives if a.runtime == "vm")
    assert vm.values["S"]["origin"] != "measurement"
    step = next(t for t in d.trace if t.kind == "evidence")
    assert any("emulated" in n for n in step.detail["notes"])
