"""``recommend --evidence`` uses the node's measured isolation and overhead figures (decide/measured.py).

The evidence is built as the store builds it: one Measurement per backend and metric (units from
``EVIDENCE_METRICS``), then ``file_under_runtimes`` files a copy under the knowledge-base runtime a
backend measures itself; the micro-VM's figures are emulated and stay under ``microvm``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rtadvisor.decide import load_profile, parse_profile, recommend, verdict
from rtadvisor.model import EVIDENCE_METRICS, Decision, Evidence, Measurement
from rtadvisor.store.records import file_under_runtimes

ROOT = Path(__file__).resolve().parents[2]
HOST = "node-a"
DATE = "2026-11-26T12:00:00+00:00"
EXAMPLES = ("general-api.yaml", "microservices-shop.yaml", "edge-gateway.yaml", "enterprise-saas.yaml",
            "ci-plugin.toml")


def _m(backend: str, metric: str, value: float, n: int = 1, emulated: bool = False) -> Measurement:
    unit = EVIDENCE_METRICS.get(metric, "ms")
    return Measurement(runtime=backend, metric=metric, value=value, unit=unit, n=n,
                       method=f"backend {backend}: test figure for {metric}", run_id="run-1", host=HOST, date=DATE,
                       emulated=emulated)


def _backend(backend: str, *, passthrough: float, uring: float, distinct: float = 30, null_call: float = 1.0,
             emulated: bool = False) -> list[Measurement]:
    return [
        _m(backend, "isolation.host_syscalls", 100 + distinct, emulated=emulated),
        _m(backend, "isolation.host_syscalls_distinct", distinct, emulated=emulated),
        _m(backend, "isolation.startup_syscalls_distinct", 80, emulated=emulated),
        _m(backend, "isolation.syscall_passthrough", passthrough, emulated=emulated),
        _m(backend, "isolation.unconfined_processes", 1, emulated=emulated),
        _m(backend, "io_uring_supported", uring, emulated=emulated),
        _m(backend, "overhead.null_call_ratio", null_call, n=24, emulated=emulated),
        _m(backend, "overhead.file_write_fsync_ratio", 1.25, n=24, emulated=emulated),
    ]


def _evidence(*groups: list[Measurement]) -> Evidence:
    return Evidence(measurements=file_under_runtimes([m for g in groups for m in g]),
                    host={"hostname": HOST, "node_name": HOST})


def _w(**fields: Any) -> Any:
    return parse_profile({"name": "w", "artifact": "oci-image", **fields})


def _figs(d: Decision, runtime: str) -> dict[str, Any]:
    return {f.metric: f for f in d.measured if f.runtime == runtime}


# ------------------------------------------------------------------ the figures and their provenance


def test_figures_of_chosen_and_eligible_runtimes_carry_their_provenance() -> None:
    ev = _evidence(_backend("runc", passthrough=1, uring=1, distinct=31),
                   _backend("runsc", passthrough=0, uring=1, distinct=27, null_call=207.0),
                   _backend("microvm", passthrough=0, uring=1, distinct=12, emulated=True))
    d = recommend(_w(untrusted_code=True), evidence=ev)
    assert d.runtime == "gvisor"
    assert d.measured[0].runtime == "gvisor"  # the chosen runtime first
    g = _figs(d, "gvisor")
    assert set(g) == {"isolation.host_syscalls", "isolation.host_syscalls_distinct",
                      "isolation.startup_syscalls_distinct", "isolation.syscall_passthrough",
                      "isolation.unconfined_processes", "io_uring_supported", "overhead.null_call_ratio",
                      "overhead.file_write_fsync_ratio"}
    f = g["overhead.null_call_ratio"]
    assert (f.value, f.unit, f.n, f.host, f.date, f.backend, f.relation, f.stand_in, f.emulated) == (
        207.0, "x native", 24, HOST, DATE, "runsc", "itself", False, False)
    assert f.method.startswith("backend runsc:") and "runsc itself" in f.sense
    # kata and vm are eligible alternatives: the micro-VM's figures appear under them, labelled
    eligible = {a.runtime for a in d.alternatives if a.excluded is None}
    assert {"kata", "vm"} <= eligible
    for rid in ("kata", "vm"):
        k = _figs(d, rid)["isolation.host_syscalls_distinct"]
        assert (k.value, k.backend, k.relation, k.stand_in, k.emulated) == (12, "microvm", "stand-in", True, True)
        assert k.sense.startswith(("same VMM class", "a minimal QEMU micro-VM")) and "not " in k.sense
    # runc was excluded by a rule, not by a measurement: its figures are not shown
    assert not _figs(d, "runc")


def test_reason_line_for_the_chosen_runtime_cites_the_measurement() -> None:
    ev = _evidence(_backend("runsc", passthrough=0, uring=1, distinct=27, null_call=207.0))
    d = recommend(_w(untrusted_code=True), evidence=ev)
    r = next(r for r in d.reasons if r.rule == "measured")
    assert [c.source for c in r.cite] == ["measured"]
    assert r.text.startswith(f"measured on {HOST} (2026-11-26) by runsc:")
    assert "do not reach the host kernel" in r.text and "27 distinct host system calls" in r.text
    assert "syscall loop 207x" in r.text and "write+fsync 1.25x" in r.text and "n=24" in r.text
    assert d.reasons[0].rule != "measured"  # the rules' reasons still come first; the summary is theirs
    assert any(t.kind == "evidence" and t.rule == "measured" and t.source == "measured" for t in d.trace)


def test_figures_filed_only_under_the_runtime_name_keep_their_backend() -> None:
    ev = _evidence(_backend("runsc", passthrough=0, uring=1))
    only_filed = Evidence(measurements=tuple(m for m in ev.measurements if m.runtime == "gvisor"), host=ev.host)
    d = recommend(_w(untrusted_code=True), evidence=only_filed)
    f = _figs(d, "gvisor")["isolation.syscall_passthrough"]
    assert (f.backend, f.relation, f.stand_in) == ("runsc", "itself", False)


def test_decision_json_with_figures_validates_back() -> None:
    ev = _evidence(_backend("runsc", passthrough=0, uring=1))
    d = recommend(_w(untrusted_code=True), evidence=ev)
    again = Decision.model_validate(d.model_dump(mode="json"))
    assert again.measured == d.measured and again.measured


# ------------------------------------------------------------------ (a) io_uring measured unsupported


def test_io_uring_unsupported_excludes_the_runtime_under_practice() -> None:
    w = _w(kernel_features=["io_uring"])
    assert recommend(w).runtime == "runc"
    ev = _evidence(_backend("runc", passthrough=1, uring=0), _backend("crun", passthrough=1, uring=1))
    d = recommend(w, evidence=ev)
    assert d.runtime != "runc"
    assert d.runtime in {a.runtime for a in d.alternatives if a.excluded is None}
    runc = next(a for a in d.alternatives if a.runtime == "runc")
    assert runc.excluded is not None and runc.excluded.startswith("P-node-usable: measured on node-a")
    assert "io_uring is not supported in runc" in runc.excluded and "backend runc" in runc.excluded
    assert _figs(d, "runc")["io_uring_supported"].value == 0  # the excluded runtime's figures are shown
    # the measurement, not the rule that names runc, heads the verdict
    assert d.reasons[0].rule == "P-node-usable" and d.reasons[0].text.startswith("runc, which the rules would choose")
    assert "Because runc, which the rules would choose, is ruled out on this node: measured on node-a" in d.summary
    assert not any(c.id == "measured-io_uring" for c in d.conflicts)


def test_io_uring_unsupported_is_a_conflict_under_sources_and_the_choice_stays() -> None:
    w = _w(kernel_features=["io_uring"])
    supported = _evidence(_backend("runc", passthrough=1, uring=1), _backend("crun", passthrough=1, uring=1))
    base = recommend(w, evidence=supported, rulebook="sources")
    assert base.runtime == "runc" and not any(c.id == "measured-io_uring" for c in base.conflicts)
    ev = _evidence(_backend("runc", passthrough=1, uring=0), _backend("crun", passthrough=1, uring=1))
    d = recommend(w, evidence=ev, rulebook="sources")
    assert d.runtime == "runc"
    c = next(c for c in d.conflicts if c.id == "measured-io_uring")
    assert c.winner == "sources" and "io_uring_supported = 0 in runc" in c.positions["measured"]
    assert "node-a" in c.why and "backend runc" in c.why
    assert any(s.kind == "node" and "io_uring" in s.text for s in d.next_steps)
    # the practice answer differs, and the other-rulebook line says so, with the measurement as its why
    assert d.other_rulebook is not None and d.other_rulebook.runtime != "runc"
    assert "because runc, which the rules would choose, is ruled out on this node: measured on node-a" \
        in d.other_rulebook.why, d.other_rulebook.why


def test_io_uring_figure_does_nothing_when_the_workload_does_not_need_it() -> None:
    ev = _evidence(_backend("runc", passthrough=1, uring=0))
    d = recommend(_w(kernel_features=["epoll"]), evidence=ev)
    assert d.runtime == "runc" and not any(c.id.startswith("measured") for c in d.conflicts)


# ------------------------------------------------------------------ (b) a sandbox that passes syscalls through


@pytest.mark.parametrize("rulebook", ["practice", "sources"])
def test_passthrough_in_a_rated_sandbox_is_a_conflict_not_a_change(rulebook: str) -> None:
    w = _w(untrusted_code=True)
    ok = recommend(w, evidence=_evidence(_backend("runsc", passthrough=0, uring=1)), rulebook=rulebook)
    assert ok.runtime == "gvisor" and not any(c.id == "measured-passthrough" for c in ok.conflicts)
    d = recommend(w, evidence=_evidence(_backend("runsc", passthrough=1, uring=1)), rulebook=rulebook)
    assert d.runtime == "gvisor"
    c = next(c for c in d.conflicts if c.id == "measured-passthrough")
    assert "does not give the claimed isolation" in c.why and "runsc" in c.why and "node-a" in c.why
    assert "syscall pass-through = 1" in c.positions["measured"]
    assert any(s.kind == "node" and "isolation" in s.text for s in d.next_steps)
    assert "reach the host kernel" in next(r.text for r in d.reasons if r.rule == "measured")


def test_passthrough_of_a_plain_container_is_no_conflict() -> None:
    # runc is not rated a sandbox: its syscalls reaching the host is what a container is
    d = recommend(_w(), evidence=_evidence(_backend("runc", passthrough=1, uring=1)))
    assert d.runtime == "runc" and not any(c.id.startswith("measured") for c in d.conflicts)


# ------------------------------------------------------------------ stand-ins never trigger


@pytest.mark.parametrize("rulebook", ["practice", "sources"])
def test_emulated_stand_in_is_labelled_and_never_triggers(rulebook: str) -> None:
    w = _w(untrusted_code=True, isolation="strong", hardware_virtualization=True, kernel_features=["io_uring"])
    plain = recommend(w, rulebook=rulebook)
    assert plain.runtime == "kata"
    ev = _evidence(_backend("microvm", passthrough=1, uring=0, emulated=True))
    d = recommend(w, evidence=ev, rulebook=rulebook)
    assert d.runtime == "kata"
    assert not any(c.id.startswith("measured") for c in d.conflicts)
    assert not any(a.excluded and "measured on" in a.excluded for a in d.alternatives)
    k = _figs(d, "kata")
    assert k and all(f.stand_in and f.emulated and f.backend == "microvm" and f.relation == "stand-in"
                     for f in k.values())
    r = next(r for r in d.reasons if r.rule == "measured")
    assert "a stand-in, NOT Kata" in r.text and "emulated" in r.text
    # the store never files the micro-VM's figures as Kata's
    assert ev.get("kata", "isolation.syscall_passthrough") is None


# ------------------------------------------------------------------ no evidence: no change


def _without_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verdict.measured, "annotate", lambda kb, d, facts, evidence: d)
    monkeypatch.setattr(verdict.measured, "with_measured_exclusions", lambda kb, facts, evidence: facts)


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("rulebook", ["practice", "sources"])
def test_no_evidence_no_change(name: str, rulebook: str, monkeypatch: pytest.MonkeyPatch) -> None:
    w = load_profile(ROOT / "examples" / name)
    after = recommend(w, rulebook=rulebook).model_dump(mode="json")
    assert after["measured"] == []
    _without_measured(monkeypatch)
    assert recommend(w, rulebook=rulebook).model_dump(mode="json") == after


@pytest.mark.parametrize("name", EXAMPLES)
def test_figures_that_contradict_nothing_only_add(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    w = load_profile(ROOT / "examples" / name)
    ev = _evidence(_backend("runc", passthrough=1, uring=1), _backend("runsc", passthrough=0, uring=1),
                   _backend("wasmtime", passthrough=0, uring=0), _backend("microvm", passthrough=0, uring=0,
                                                                           emulated=True))
    after = recommend(w, evidence=ev).model_dump(mode="json")
    _without_measured(monkeypatch)
    before = recommend(w, evidence=ev).model_dump(mode="json")
    added = ("measured", "reasons", "trace")
    assert {k: v for k, v in after.items() if k not in added} == {k: v for k, v in before.items() if k not in added}
    for key in ("reasons", "trace"):
        assert after[key][:len(before[key])] == before[key]
        assert all(x.get("rule") == "measured" for x in after[key][len(before[key]):])
    shown = {f["runtime"] for f in after["measured"]}
    eligible = {a["runtime"] for a in after["alternatives"] if a["excluded"] is None}
    assert shown <= eligible | {after["runtime"]}


def test_reason_line_says_when_figures_come_from_several_runs() -> None:
    figs = _backend("runsc", passthrough=0, uring=1)
    older = [m.model_copy(update={"date": "2026-11-20T08:00:00+00:00", "run_id": "run-0"}) if m.metric.startswith("overhead.")
             else m for m in figs]
    d = recommend(_w(untrusted_code=True), evidence=_evidence(older))
    r = next(r for r in d.reasons if r.rule == "measured")
    assert r.text.startswith(f"measured on {HOST} (2026-11-20 to 2026-11-26) by runsc:")
    assert {f.run_id for f in d.measured if f.runtime == "gvisor"} == {"run-0", "run-1"}
