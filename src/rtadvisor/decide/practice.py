"""The practice rulebook's engine: current upstream practice, as the data in ``kb/data/practice.yaml``.

Order of reasoning (each step lands in the trace, with the rule's citation in ``detail``):

1. filters, top to bottom: every rule whose ``when`` holds narrows the candidates (``require`` /
   ``exclude`` / ``require_executes_artifact``); a rule that would leave nothing is reported as a
   conflict and the earlier rules win;
2. the first rule with a ``prefer`` list that names a remaining candidate chooses (``by_score``
   lets the score order that list); with none, the best score among the candidates;
3. the cold-start SLO: a choice that misses it is swapped for an eligible runtime of the same
   isolation tier that meets it (never for weaker isolation);
4. the service mesh (the sources' rule, as written), the Wasm route, the architecture.

Nothing here names a rule id: rules, their texts and their order are data. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rtadvisor.kb import KnowledgeBase
from rtadvisor.kb import schema as s
from rtadvisor.model import (
    Alternative,
    Citation,
    Conflict,
    ConstraintHit,
    Decision,
    Gpu,
    Isolation,
    NextStep,
    Reason,
    Scenario,
    Stage,
    TraceStep,
)

from .facts import Facts, holds, plain
from .score import CRITERIA, ScoreTable, ranking_key

_FAMILY_LABEL = {"container": "container", "sandbox": "gVisor", "microvm": "Kata", "vm": "VM (KubeVirt)"}
_TENANT_WORDS = {"untrusted": "untrusted code", "tenant": "code of tenants that must be isolated from each other",
                 "strong": "a strong-isolation requirement"}


def shim_of(runtime_type: str | None) -> str:
    """containerd's naming rule: ``io.containerd.<name>.<v>`` is run by ``containerd-shim-<name>-<v>``."""
    parts = (runtime_type or "").split(".")
    return "containerd-shim-" + "-".join(parts[2:]) if len(parts) >= 4 and parts[:2] == ["io", "containerd"] else str(runtime_type)


@dataclass
class Fired:
    """A rule whose ``when`` held, and what it did."""

    rule: s.Rule
    removed: frozenset[str] = frozenset()
    conflicted: bool = False
    allowed: frozenset[str] = frozenset()  # what the rule alone allows (filters only)


@dataclass
class Outcome:
    """What a rulebook decided, before the verdict (summary, assumptions, other rulebook) is written."""

    decision: Decision
    eligible: frozenset[str]
    reasons: list[Reason] = field(default_factory=list)
    steps: list[NextStep] = field(default_factory=list)
    decided_by: str = ""  # the rule (or step) that chose the runtime


def cites(items: tuple[s.Citation, ...]) -> tuple[Citation, ...]:
    return tuple(Citation(source=c.source, title=c.title, url=c.url) for c in items)


# --------------------------------------------------------------------------- text


def tenant_text(f: Facts) -> str:
    parts = []
    if f.untrusted_code:
        parts.append(_TENANT_WORDS["untrusted"])
    if f.multi_tenant:
        parts.append(_TENANT_WORDS["tenant"])
    if not parts and f.isolation is Isolation.strong:
        parts.append(_TENANT_WORDS["strong"])
    return " and ".join(parts) or "this workload"


def render(kb: KnowledgeBase, text: str, f: Facts, rule: s.Rule | None = None, **extra: Any) -> str:
    """Fill a rule text's placeholders from the facts (unknown placeholders are left as written);
    with ``rule``, ``{devices}`` names only the devices the rule's condition is about."""
    pb = kb.practice
    devices = [d.value for d in f.devices]
    wanted = rule.when.get("devices") if rule is not None else None
    if isinstance(wanted, dict) and isinstance(wanted.get("any"), list):
        devices = [d for d in devices if d in wanted["any"]] or devices
    one = len(devices) == 1
    art = f.artifact.value if f.artifact is not None else "oci-image"
    values: dict[str, Any] = {
        "devices": ", ".join(devices) or "no",
        "devices_s": "" if one else "s",
        "devices_verb": "s" if one else "",
        "devices_verb_reach": "reaches" if one else "reach",
        "device_plugins": "; ".join(f"{d}: {pb.device_plugins.get(d, 'a vendor device plugin')}" for d in devices),
        "tenant_text": tenant_text(f),
        "kernel_features": ", ".join(k.value for k in f.kernel_features) or "no kernel features",
        "gpu_sharing_text": "; a shared GPU is split with MIG or time-slicing" if f.gpu is Gpu.shared else "",
        "scenario_text": pb.scenario_notes.get(f.scenario.value, ""),
        "artifact_reason": pb.artifact_reasons.get(art, ""),
        "unusable_reason": "; ".join(f"{r}: {why}" for r, why in f.unusable) or "every runtime is usable there",
        **extra,
    }

    class _Keep(dict[str, Any]):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    return text.format_map(_Keep(values))


# --------------------------------------------------------------------------- filters and choice


def _allowed_by(kb: KnowledgeBase, rule: s.Rule, f: Facts) -> set[str]:
    ids = set(kb.runtimes)
    out = set(ids)
    if rule.require_executes_artifact:
        art = f.artifact.value if f.artifact is not None else "oci-image"
        out &= {r for r in ids if art in kb.runtime(r).executes}
    if rule.require is not None:
        out &= {r for r in ids if r in rule.require.runtimes or kb.runtime(r).family in rule.require.families}
    if rule.exclude is not None:
        out -= {r for r in ids if r in rule.exclude.runtimes or kb.runtime(r).family in rule.exclude.families}
    if rule.exclude_unusable:
        out -= {r for r, _ in f.unusable}
    return out


def _filters(kb: KnowledgeBase, rule: s.Rule) -> bool:
    return rule.require is not None or rule.exclude is not None or rule.require_executes_artifact or rule.exclude_unusable


@dataclass
class _State:
    kb: KnowledgeBase
    f: Facts
    trace: list[TraceStep] = field(default_factory=list)
    fired: list[Fired] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    hits: list[ConstraintHit] = field(default_factory=list)
    skip: frozenset[str] = frozenset()  # rules left out (to see whether a rule made the difference)
    quiet: bool = False  # only the runtime matters (counterfactual runs): no trace, texts or conflicts
    trace_off: bool = False  # no trace steps (a decision for a scan: no one reads its path)

    def step(self, kind: str, rule: str, question: str, answer: str, threshold: str | None = None,
             source: str | None = "practice", **detail: Any) -> None:
        if self.quiet or self.trace_off:
            return
        # Built from values the engine made itself: no need to validate them again (hot path of scan).
        self.trace.append(TraceStep.model_construct(step=len(self.trace) + 1, kind=kind, rule=rule, question=question,
                                                    answer=answer, threshold=threshold, source=source, detail=detail))


def _cite_detail(rule: s.Rule) -> dict[str, Any]:
    # A fresh dict each time (a Decision owns its trace), built from JSON-ready parts computed once.
    return {"cite": [dict(c) for c in _cites_json(rule)], "narrows": list(rule.narrows), "scope": rule.scope or ""}


_CITES: dict[int, tuple[dict[str, Any], ...]] = {}


def _cites_json(rule: s.Rule) -> tuple[dict[str, Any], ...]:
    key = id(rule)
    hit = _CITES.get(key)
    if hit is None or len(_CITES) > 10_000:
        hit = tuple(c.model_dump(mode="json") for c in rule.cite)
        _CITES[key] = hit
    return hit


def apply_filters(st: _State) -> set[str]:
    """Step 1: narrow the candidates rule by rule; report rules that cannot hold together."""
    kb, f = st.kb, st.f
    cands = set(kb.runtimes)
    narrowing: list[tuple[s.Rule, set[str]]] = []
    for rule in kb.practice.rules:
        if rule.id in st.skip:
            continue
        if not holds(rule.when, f):
            if _filters(kb, rule) and not (st.quiet or st.trace_off):
                st.step("guard", rule.id, rule.title + "?", "no (does not apply to these facts)", **_cite_detail(rule))
            continue
        if not _filters(kb, rule):
            st.fired.append(Fired(rule))
            continue
        if rule.exclude_unusable and not f.unusable and rule.require is None and rule.exclude is None:
            # no measured node says a runtime is unusable (no evidence, or every runtime ran there):
            # the rule has nothing to say, and must not cite a measurement that was not made
            if not (st.quiet or st.trace_off):
                st.step("guard", rule.id, rule.title + "?", "no (no measured node reports a runtime it cannot run)",
                        **_cite_detail(rule))
            continue
        allowed = _allowed_by(kb, rule, f)
        remaining = cands & allowed
        if not remaining:
            winner = next((r for r, a in narrowing if not (a & allowed)), narrowing[-1][0] if narrowing else rule)
            st.fired.append(Fired(rule, conflicted=True))
            if st.quiet:
                continue
            needed = " or ".join(kb.runtime(r).name for r in sorted(cands))
            why = render(kb, rule.conflict or "the earlier rule wins", f, runtime_needed=needed)
            st.conflicts.append(Conflict(id=f"{rule.id}~{winner.id}", topic=rule.title,
                                         positions={winner.id: winner.title, rule.id: rule.title},
                                         winner=winner.id, why=why))
            st.step("conflict", rule.id, rule.title + "?", f"yes, but {winner.id} wins: {why}",
                    source="practice", winner=winner.id, **_cite_detail(rule))
            continue
        removed = frozenset(cands - remaining)
        cands = remaining
        st.fired.append(Fired(rule, removed=removed, allowed=frozenset(allowed)))
        if st.quiet:
            continue
        narrowing.append((rule, allowed))
        reason = render(kb, rule.reason or "", f, rule=rule)
        for r in sorted(removed):
            why = reason
            if rule.exclude_unusable and r in dict(f.unusable):
                why = dict(f.unusable)[r]
            st.excluded.setdefault(r, f"{rule.id}: {why}")
        if removed:
            st.hits.append(ConstraintHit(id=rule.id, rule=rule.title, requires=", ".join(sorted(remaining)),
                                         because=reason, source="practice"))
        st.step("constraint", rule.id, rule.title + "?",
                f"yes -> candidates: {', '.join(sorted(cands))}" + (f" (rules out {', '.join(sorted(removed))})" if removed else ""),
                **_cite_detail(rule))
    return cands


def choose(st: _State, table: ScoreTable, cands: set[str]) -> tuple[str, s.Rule | None]:
    """Step 2: the first applicable preference names the runtime; otherwise the score."""
    for fired in st.fired:
        rule = fired.rule
        if fired.conflicted or not rule.prefer:
            continue
        options = [r for r in rule.prefer if r in cands]
        if not options:
            continue
        if rule.by_score:
            # Among engines of one kind, the performance model P(W) = {V, S, M, D} decides: a
            # criterion the workload does not need (GPU support) must not tip the choice.
            order = {r: i for i, r in enumerate(rule.prefer)}
            best = max(options, key=lambda r: (round(performance(table, r), 9), -order[r]))
            how = "best V/S/M/D score among " + ", ".join(f"{r} {performance(table, r):.3f}" for r in options)
        else:
            best = options[0]
            how = f"first of {', '.join(rule.prefer)} still a candidate"
        if not (st.quiet or st.trace_off):
            st.step("score", rule.id, f"{rule.title}: which runtime?", f"{best} ({how})", **_cite_detail(rule))
        return best, rule
    best = max(cands, key=lambda r: (ranking_key(table, r), -len(r)))
    st.step("score", "score", "No rule prefers a runtime here: best score among the candidates?",
            f"{best} (score {ranking_key(table, best):.3f} among {', '.join(sorted(cands))})", source="derived")
    return best, None


def performance(table: ScoreTable, runtime: str) -> float:
    """The part of the score from the performance model P(W) = {V, S, M, D} (S-wasm)."""
    return sum(table.contributions[runtime].get(c, 0.0) for c in ("V", "S", "M", "D"))


def slo_value(table: ScoreTable, runtime: str) -> float:
    return table.cells[runtime]["S"].value


def switch_for_slo(st: _State, table: ScoreTable, cands: set[str], chosen: str) -> tuple[str, str | None]:
    """Step 3: keep the SLO within the same isolation tier; returns (runtime, reason if switched)."""
    kb, f = st.kb, st.f
    slo = f.cold_start_slo_ms
    pol = kb.practice.slo
    if slo is None or not pol.switch_within_tier or slo_value(table, chosen) < slo:
        return chosen, None
    tier = kb.practice.tiers[kb.runtime(chosen).family]
    meeting = [r for r in cands if kb.practice.tiers[kb.runtime(r).family] == tier and slo_value(table, r) < slo]
    if not meeting:
        return chosen, None
    best = max(meeting, key=lambda r: (ranking_key(table, r), -slo_value(table, r)))
    cell = table.cells[best]["S"]
    origin = _origin_text(cell)
    reason = render(kb, pol.reason, f, slo=slo, value=cell.value, origin=origin, previous=chosen,
                    previous_value=slo_value(table, chosen))
    st.step("guard", "slo-tier", f"Does {chosen} meet the cold-start SLO of {slo:g} ms?",
            f"no ({slo_value(table, chosen):g} ms) -> {best}, same isolation tier ({tier}), {cell.value:g} ms ({origin})",
            threshold=f"cold start < {slo:g} ms", cite=[c.model_dump(mode="json") for c in pol.cite])
    return best, reason


def _origin_text(cell: Any) -> str:
    if cell.measurement is not None:
        m = cell.measurement
        return f"measured by {m.runtime} on {m.host}, n={m.n}" + (", emulated" if m.emulated else "")
    if cell.claim is not None:
        return f"claim {cell.claim.id} [{cell.claim.source}]"
    return f"derived: {cell.basis}"


# --------------------------------------------------------------------------- route, architecture


def orchestrator(f: Facts) -> str:
    return "K3s" if (f.scenario is Scenario.edge or f.stage is Stage.edge or f.offline) else "K8s"


def route_for(st: _State, engine: str) -> tuple[str, str]:
    kb, f = st.kb, st.f
    rt = kb.runtime(engine)
    for r in kb.practice.routes:
        if holds(r.when, f):
            text = render(kb, r.reason, f, shim=shim_of(rt.containerd_runtime_type), runtime_type=rt.containerd_runtime_type,
                          engine=engine)
            st.step("route", f"route:{r.route}", "Which Wasm integration route?", f"{r.route}: {text}",
                    cite=[c.model_dump(mode="json") for c in r.cite], engine=engine)
            return r.route, text
    raise AssertionError("practice.yaml routes need a catch-all rule")  # the last route has when: {}


def label(kb: KnowledgeBase, runtime: str) -> str:
    rt = kb.runtime(runtime)
    if rt.family == "wasm":
        return "SpinKube" if "spin" in rt.executes else f"{rt.name} (runwasi)"
    return _FAMILY_LABEL[rt.family]


def architecture(kb: KnowledgeBase, f: Facts, runtime: str, adds: list[str], mesh: tuple[str, ...] | None) -> str:
    parts = [label(kb, runtime), orchestrator(f), *adds]
    if mesh:
        parts.append(f"service mesh ({' / '.join(mesh)})")
    return " + ".join(parts)


# --------------------------------------------------------------------------- the whole decision


def decide(kb: KnowledgeBase, f: Facts, table: ScoreTable, trace_scores: Any, lite: bool = False) -> Outcome:
    """The practice rulebook's decision for ``f`` (``trace_scores(st_step)`` writes the score step).

    ``lite``: no trace and no alternatives (what a scan of thousands of workloads needs is the
    runtime, route, architecture, reasons and conflicts)."""
    st = _State(kb, f, trace_off=lite)
    cands = apply_filters(st)
    if not lite:
        st.step("score", f"mcdm:{table.method}", "Multi-criteria score (ties and order among preferences)",
                "weights " + ", ".join(f"{c}={table.weights[c]:.3f}" for c in CRITERIA), threshold=table.weights_basis,
                source="derived")
        trace_scores(st)
    chosen, by = choose(st, table, cands)
    chosen, slo_reason = switch_for_slo(st, table, cands, chosen)

    # service mesh: the sources' rule, as written
    mesh: tuple[str, ...] | None = None
    mesh_rule = next(c for c in kb.constraints.constraints if c.id == kb.practice.mesh.rule)
    threshold = mesh_rule.threshold or 50
    gov = f.governance if f.governance is not None else True
    if f.services is not None and f.services > threshold and gov:
        mesh = mesh_rule.meshes
        st.hits.append(ConstraintHit(id=mesh_rule.id, rule=mesh_rule.question, requires=mesh_rule.requires,
                                     because=mesh_rule.because, source=mesh_rule.source))
        st.step("mesh", mesh_rule.id, mesh_rule.question,
                f"yes ({f.services} services, governance {'needed' if f.governance else 'assumed'}) -> {', '.join(mesh)}; "
                + kb.practice.mesh.note, threshold=f"services > {threshold:g}", source=mesh_rule.source)
    else:
        why = "number of services not given" if f.services is None else (
            f"{f.services} services" + ("" if gov else ", no governance needs"))
        st.step("mesh", mesh_rule.id, mesh_rule.question, f"no ({why})", threshold=f"services > {threshold:g}",
                source=mesh_rule.source)

    rt = kb.runtime(chosen)
    route = route_for(st, chosen)[0] if rt.family == "wasm" else None
    adds = []
    for fired in st.fired:
        add = fired.rule.architecture_adds
        if add and not fired.conflicted and add not in adds and chosen not in fired.removed:
            adds.append(add)
    arch = architecture(kb, f, chosen, adds, mesh)

    reasons = _reasons(st, table, chosen, by, slo_reason, limit=1 if lite else 3)
    steps = [] if lite else _rule_steps(st, chosen)
    eligible = frozenset(cands)
    alternatives = [] if lite else _alternatives(kb, f, table, eligible, chosen, st.excluded, adds, mesh)
    conflicts = list(st.conflicts)
    for cdef in kb.conflicts.conflicts:  # the sources' claim-level disagreements touching the choice
        if chosen in cdef.touches:
            conflicts.append(Conflict(id=cdef.id, topic=cdef.topic, positions=dict(cdef.positions),
                                      winner=cdef.winner or "", why=cdef.why or ""))
    decision = Decision.model_construct(
        runtime=chosen, architecture=arch, route=route, service_mesh=mesh, alternatives=tuple(alternatives),
        trace=tuple(st.trace), constraints=tuple(st.hits), conflicts=tuple(conflicts), claims=(),
        evidence_used=bool(table.measured))
    return Outcome(decision=decision, eligible=eligible, reasons=reasons, steps=steps,
                   decided_by=by.id if by is not None else "score")


def runtime_only(kb: KnowledgeBase, f: Facts, table: ScoreTable) -> str:
    """Just the runtime (for "which answer would change the decision"): filters, choice, SLO."""
    st = _State(kb, f, quiet=True)
    cands = apply_filters(st)
    chosen, _ = choose(st, table, cands)
    return switch_for_slo(st, table, cands, chosen)[0]


def _choice(kb: KnowledgeBase, f: Facts, table: ScoreTable, skip: frozenset[str]) -> str:
    st = _State(kb, f, skip=skip, quiet=True)
    cands = apply_filters(st)
    chosen, _ = choose(st, table, cands)
    return switch_for_slo(st, table, cands, chosen)[0]


def _reasons(st: _State, table: ScoreTable, chosen: str, by: s.Rule | None, slo_reason: str | None,
             limit: int = 3) -> list[Reason]:
    """The 1-3 reasons a person needs, most specific first: the preference that chose (when it is
    not itself a filter), then the filters that applied, narrowest first (a rule allowing one
    runtime says more than one allowing five; two rules allowing the same set say it once).
    Rules marked ``reason_if: decisive`` count only when leaving them out changes the answer."""
    kb, f = st.kb, st.f
    picked: list[s.Rule] = []
    if by is not None and not _filters(kb, by):
        picked.append(by)
    filters = [] if len(picked) >= limit else [
        fr for fr in st.fired if _filters(kb, fr.rule) and not fr.conflicted and chosen in fr.allowed]
    order = {fr.rule.id: i for i, fr in enumerate(filters)}
    for fr in sorted(filters, key=lambda fr: (len(fr.allowed), order[fr.rule.id])):
        rule = fr.rule
        if rule in picked or not rule.reason:
            continue
        if rule.reason_if == "decisive" and _choice(kb, f, table, frozenset({rule.id})) == chosen:
            continue
        picked.append(rule)
        if len(picked) >= limit:
            break
    out = [Reason(text=render(kb, r.reason or "", f, rule=r), rule=r.id, cite=cites(r.cite)) for r in picked]
    if slo_reason:
        out.insert(1 if out else 0, Reason(text=slo_reason, rule="slo-tier", cite=cites(kb.practice.slo.cite)))
    if not out:
        out.append(Reason(text=f"{chosen} scores best among the candidates ({ranking_key(table, chosen):.3f})",
                          rule="score", cite=()))
    return out[:3]


def _rule_steps(st: _State, chosen: str) -> list[NextStep]:
    kb, f = st.kb, st.f
    fam = kb.runtime(chosen).family
    out: list[NextStep] = []
    for fired in st.fired:
        if fired.conflicted or chosen in fired.removed:
            continue
        for step in fired.rule.steps:
            if step.when_runtime and chosen not in step.when_runtime:
                continue
            if step.when_family and fam not in step.when_family:
                continue
            if step.when_gpu and f.gpu.value not in step.when_gpu:
                continue
            out.append(NextStep(kind=step.kind, text=render(kb, step.text, f, rule=fired.rule), cite=cites(fired.rule.cite)))
    for c in st.conflicts:
        out.append(NextStep(kind="requirement", text=f"{c.topic}: {c.why}", cite=()))
    return out


def wasm_cost(kb: KnowledgeBase, f: Facts) -> str:
    """What moving a Linux workload onto a Wasm engine would take, and what rules it out."""
    wc = kb.practice.wasm_cost
    blockers = [wc.blockers[k.value] for k in f.kernel_features if k.value in wc.blockers]
    if f.devices:
        blockers.append(wc.blockers["devices"])
    if f.host_access:
        blockers.append(wc.blockers["host_access"])
    if f.gpu in (Gpu.passthrough, Gpu.vgpu, Gpu.sriov):
        blockers.append(wc.blockers["gpu_device"])
    if f.multi_os:
        blockers.append(wc.blockers["multi_os"])
    return wc.base + (f"; not possible for: {', '.join(blockers)}" if blockers else "")


def _alternatives(kb: KnowledgeBase, f: Facts, table: ScoreTable, eligible: frozenset[str], chosen: str,
                  excluded: dict[str, str], adds: list[str], mesh: tuple[str, ...] | None) -> list[Alternative]:
    def key(r: str) -> tuple[int, int, float]:
        return (0 if r == chosen else 1, 0 if r in eligible else 1, -ranking_key(table, r))

    art = f.artifact.value if f.artifact is not None else "oci-image"
    out = []
    for rank, rid in enumerate(sorted(kb.runtimes, key=key), start=1):
        rt = kb.runtime(rid)
        cost = None
        if art not in rt.executes:
            if rt.family == "wasm" and art == "oci-image":
                cost = wasm_cost(kb, f) if "wasm" in rt.executes else "rebuild it as a Spin app (spin.toml + Wasm components)"
            elif rt.family != "wasm":
                cost = "rebuild it as a Linux container image"
            else:
                cost = f"it runs {', '.join(rt.executes)} artifacts only"
        out.append(Alternative(
            runtime=rid, score=table.scores[rid], rank=rank, contributions=table.contributions[rid],
            architecture=architecture(kb, f, rid, adds, mesh),
            excluded=None if rid in eligible else excluded.get(rid, "excluded by a rule"),
            topsis=None if table.topsis[rid] != table.topsis[rid] else table.topsis[rid],
            values={c: dict(table.described[rid][c]) for c in CRITERIA}, cost=cost))
    return out


__all__ = ["Outcome", "cites", "decide", "label", "plain", "render", "runtime_only", "shim_of", "wasm_cost"]
