"""Invariants of the engine over generated workloads (hypothesis)."""

from __future__ import annotations

import functools

import workload_strategies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtadvisor import kb
from rtadvisor.decide import recommend as _recommend
from rtadvisor.model import Artifact, Device, Isolation, Workload

# These tests check the sources' rules as the sources state them (the `sources` rulebook).
recommend = functools.partial(_recommend, rulebook="sources")

KB = kb.load()
VIRTUALIZED = {r.id for r in KB.runtimes.values() if r.family in ("microvm", "vm")}
PLAIN_CONTAINERS = {r.id for r in KB.runtimes.values() if r.family == "container"}
WASM = {r.id for r in KB.runtimes.values() if r.family == "wasm"}

workloads = workload_strategies.workloads()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(workloads, st.sampled_from(Device))
def test_adding_a_device_never_yields_a_non_virtualized_runtime(w: Workload, device: Device) -> None:
    with_device = w.model_copy(update={"devices": tuple(dict.fromkeys((*(w.devices or ()), device)))})
    assert recommend(with_device).runtime in VIRTUALIZED


@SETTINGS
@given(workloads)
def test_raising_isolation_never_lowers_the_isolation_rating(w: Workload) -> None:
    standard = w.model_copy(update={"isolation": Isolation.standard})
    strong = w.model_copy(update={"isolation": Isolation.strong})
    assert KB.isolation_rank(recommend(strong).runtime) >= KB.isolation_rank(recommend(standard).runtime)


@SETTINGS
@given(workloads)
def test_untrusted_code_never_lowers_the_isolation_rating(w: Workload) -> None:
    trusted = w.model_copy(update={"untrusted_code": False})
    untrusted = w.model_copy(update={"untrusted_code": True})
    assert KB.isolation_rank(recommend(untrusted).runtime) >= KB.isolation_rank(recommend(trusted).runtime)


@SETTINGS
@given(workloads)
def test_every_decision_is_explained_and_consistent(w: Workload) -> None:
    d = recommend(w)
    assert d.trace and [t.step for t in d.trace] == list(range(1, len(d.trace) + 1))
    assert d.runtime in KB.runtimes
    assert d.alternatives[0].runtime == d.runtime and d.alternatives[0].excluded is None
    assert (d.route is not None) == KB.runtimes[d.runtime].wasm
    assert d.architecture
    if w.untrusted_code and w.isolation == Isolation.strong:
        assert d.runtime not in PLAIN_CONTAINERS
    if w.devices:
        assert d.runtime in VIRTUALIZED
    if w.artifact == Artifact.oci_image:
        assert d.runtime not in WASM  # a Linux image never goes to a Wasm engine
    if w.artifact == Artifact.wasm:
        if w.devices:
            assert "CF-devices-vs-artifact" in {c.id for c in d.conflicts}
        else:
            assert d.runtime in WASM and d.route is not None


@SETTINGS
@given(workloads, st.sampled_from(Artifact))
def test_the_artifact_rule_holds_with_every_other_need(w: Workload, artifact: Artifact) -> None:
    d = recommend(w.model_copy(update={"artifact": artifact}))
    rules = {t.rule for t in d.trace}
    assert {"HC-artifact-wasm", "G-artifact-oci"} <= rules  # both rules are always asked, and traced
    if artifact == Artifact.oci_image:
        assert d.runtime not in WASM and d.route is None
    elif w.devices:
        assert d.runtime in VIRTUALIZED  # the harder rule wins, and says so
        assert any(c.id == "CF-devices-vs-artifact" and c.winner == "HC-devices" for c in d.conflicts)
    else:
        assert d.runtime in WASM


@SETTINGS
@given(workloads)
def test_json_round_trip(w: Workload) -> None:
    d = recommend(w)
    doc = d.model_dump(mode="json")
    assert type(d).model_validate(doc) == d
