"""The fast path of ``recommend`` (cached score tables, runtime-only floor decisions, skipped
floor decisions that cannot matter) gives exactly the decisions of the reference computation."""

from __future__ import annotations

from typing import Any

import pytest
import workload_strategies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtadvisor import kb
from rtadvisor.decide import engine, recommend
from rtadvisor.decide.verdict import recommend_reference
from rtadvisor.errors import ProfileError
from rtadvisor.model import (
    Evidence,
    Measurement,
    Workload,
)

KB = kb.load()


def _m(runtime: str, metric: str, value: float, unit: str) -> Measurement:
    return Measurement(runtime=runtime, metric=metric, value=value, unit=unit, n=3, host="node-a", date="2026-11-22",
                       method="test")


EVIDENCE = Evidence(measurements=(
    _m("runc", "cold_start_ms", 80.0, "ms"),
    _m("crun", "cold_start_ms", 40.0, "ms"),
    _m("runsc", "pss_mb", 30.0, "MB"),
    _m("wasmtime", "artifact_bytes", 120_000.0, "B"),
    _m("microvm", "cold_start_ms", 900.0, "ms"),
), host={"hostname": "node-a"})

workloads = workload_strategies.workloads(st.text(min_size=1, max_size=8))
preferences = st.sampled_from([
    None,
    {"method": "topsis"},
    {"weights": {"S": 0.6, "isolation": 0.3}},
    {"pairwise": {"S:M": 3, "M:V": 2, "S:V": 6}, "method": "wsm"},
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads, st.sampled_from([None, EVIDENCE]), preferences, st.sampled_from(["practice", "sources"]))
def test_fast_path_equals_the_reference_computation(w: Workload, evidence: Evidence | None,
                                                    prefs: dict[str, Any] | None, rulebook: str) -> None:
    fast = recommend(w, evidence=evidence, preferences=prefs, rulebook=rulebook)
    again = recommend(w, evidence=evidence, preferences=prefs, rulebook=rulebook)  # from the warm cache
    ref = recommend_reference(w, evidence=evidence, preferences=prefs, rulebook=rulebook)
    assert fast == ref
    assert again == ref
    assert fast.model_dump(mode="json") == ref.model_dump(mode="json")


def test_reference_path_uses_no_cache(workload: Any) -> None:
    engine.clear_caches(KB)
    recommend_reference(workload(scenario="edge", isolation="strong", untrusted_code=True))
    assert "decide.score" not in KB.derived
    recommend(workload(scenario="edge", gpu="none"))
    # one table per rulebook's weighting: the sources weigh GPU support, practice only for a GPU need
    assert len(KB.derived["decide.score"]) == 2


def test_score_cache_is_keyed_by_evidence_identity_and_preferences(workload: Any) -> None:
    engine.clear_caches(KB)
    w = workload(scenario="microservices", memory_mb=512, cpu_cores=2, gpu="none")
    # The sources choose within the container family by score, so the evidence shows in the choice.
    assert recommend(w, evidence=EVIDENCE, rulebook="sources").runtime == "crun"  # measured crun beats runc
    assert recommend(w, rulebook="sources").runtime == "runc"  # claims again: not the evidence's table
    other = Evidence(measurements=(_m("runc", "cold_start_ms", 10.0, "ms"), _m("crun", "cold_start_ms", 90.0, "ms")))
    assert recommend(w, evidence=other, rulebook="sources").runtime == "runc"
    assert recommend(w, preferences={"method": "topsis"}, rulebook="sources").alternatives[0].topsis is not None
    # 4 (evidence, preferences) combinations x 2 weightings (each decision also asks the other rulebook)
    assert len(KB.derived["decide.score"]) == 8


def test_bad_preferences_fail_every_time(workload: Any) -> None:
    w = workload(scenario="general")
    bad = {"pairwise": {"S:M": 9, "M:V": 9, "V:S": 9}}
    for _ in range(2):
        with pytest.raises(ProfileError, match="consistency ratio"):
            recommend(w, preferences=bad)
