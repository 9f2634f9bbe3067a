"""``recommend``: a rulebook's decision, written up as a verdict a person can act on.

1. The profile's unknowns are filled the way the chosen rulebook reads them (``facts.resolve``);
2. the rulebook decides (``practice.decide`` or the sources' engine in ``engine``);
3. every assumption is tested: the decision is re-run with the other answer(s) and, where the
   runtime changes, the assumption "matters" and says which answer would change it;
4. the other rulebook decides too, and ``other_rulebook`` says where and why it differs;
5. the SLO is checked among the eligible runtimes only (measured figures where the node has them;
   a stand-in such as the emulated micro-VM is never taken for the runtime it stands in for);
6. summary, reasons and next steps (RuntimeClass, node set-up, what changes in the workload);
7. with evidence, the node's measured isolation and overhead figures, and the facts they contradict
   (``measured``: io_uring not supported, a sandbox's system calls reaching the host kernel).

Pure: no I/O (the caller passes measurements in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from rtadvisor.errors import InputError
from rtadvisor.kb import KnowledgeBase, load
from rtadvisor.model import (
    Citation,
    Decision,
    Evidence,
    Gpu,
    NextStep,
    OtherRulebook,
    Reason,
    RulebookId,
    SloCheck,
    Workload,
)

from . import engine, measured, practice
from .facts import Facts, as_workload, assumption, resolve
from .score import ScoreTable

RULEBOOKS: tuple[RulebookId, ...] = ("practice", "sources")


def _ignored(rulebook: str, facts: Facts) -> tuple[str, ...]:
    """Criteria a rulebook does not weigh for these facts (practice: GPU support without a GPU need)."""
    return ("gpu",) if rulebook == "practice" and facts.gpu is Gpu.none else ()


def _table(ctx: engine._Ctx, facts: Facts, rulebook: str = "practice") -> ScoreTable:
    return engine._score_table(ctx, facts.scenario.value, _ignored(rulebook, facts))


def _slo_table(ctx: engine._Ctx, slo_evidence: Evidence | None, facts: Facts, rulebook: str) -> ScoreTable:
    """The score table whose start-time cells the SLO check reads: measured where the node has them."""
    if ctx.evidence is not None or slo_evidence is None:
        return _table(ctx, facts, rulebook)
    sub = engine._Ctx(ctx.kb, slo_evidence, ctx.preferences, ctx.fast)
    return _table(sub, facts, rulebook)


def _run(ctx: engine._Ctx, rulebook: str, facts: Facts, lite: bool = False) -> practice.Outcome:
    key = ("outcome", rulebook, facts, lite)
    if key in ctx.memo:
        return ctx.memo[key]  # type: ignore[no-any-return]
    if rulebook == "practice":
        table = _table(ctx, facts)
        out = practice.decide(ctx.kb, facts, table, lambda st: engine._trace_scores(st, table, ctx.evidence), lite=lite)
    else:
        d, run = engine.sources_decision(ctx, facts)
        out = practice.Outcome(decision=d, eligible=frozenset(a.runtime for a in d.alternatives if a.excluded is None),
                               reasons=_sources_reasons(run, d), steps=[], decided_by=run.decided_by[0])
    ctx.memo[key] = out
    return out


def _runtime(ctx: engine._Ctx, rulebook: str, facts: Facts) -> str:
    key = ("runtime-only", rulebook, facts)
    if key not in ctx.memo:
        if rulebook == "practice":
            ctx.memo[key] = practice.runtime_only(ctx.kb, facts, _table(ctx, facts))
        else:
            ctx.memo[key] = engine.sources_runtime(ctx, facts)
    return ctx.memo[key]  # type: ignore[no-any-return]


def _decide(ctx: engine._Ctx, rulebook: str, facts: Facts, *, lite: bool = False) -> tuple[practice.Outcome, Facts]:
    """One rulebook's outcome on ``facts`` and the facts it decided on: under practice, the runtimes
    this node's measurements rule out are excluded first, and when that displaced what the rules
    would have chosen, the measurement is the first reason (a new Outcome: ``_run``'s are memoized)."""
    unmeasured = facts
    if rulebook == "practice":
        facts = measured.with_measured_exclusions(ctx.kb, facts, ctx.evidence)
    out = _run(ctx, rulebook, facts, lite=lite)
    if facts is not unmeasured:
        displaced = _runtime(ctx, rulebook, unmeasured)
        why = dict(facts.unusable).get(displaced)
        if displaced != out.decision.runtime and why is not None:
            out = replace(out, reasons=measured.displaced_first(list(out.reasons), displaced, why))
    return out, facts


def _sources_reasons(run: Any, d: Decision) -> list[Reason]:
    """The sources' own reasons: the hard constraints that narrowed the choice, then what chose."""
    out: list[Reason] = []
    rule, src, text = run.decided_by
    if text:
        out.append(Reason(text=text, rule=rule, cite=(Citation(source=src, title=f"{src}: {rule}"),)))
    for h in d.constraints:
        if h.id == "HC-mesh":
            continue
        out.append(Reason(text=h.because, rule=h.id, cite=(Citation(source=h.source, title=f"{h.source} rule {h.id}: {h.rule}"),)))
    return out[:3]


# --------------------------------------------------------------------------- pieces of the verdict


def _slo(kb: KnowledgeBase, facts: Facts, table: ScoreTable, chosen: str, eligible: frozenset[str],
         base: ScoreTable) -> SloCheck | None:
    slo = facts.cold_start_slo_ms
    if slo is None:
        return None

    def cell(r: str) -> Any:
        c = table.cells[r]["S"]
        # A stand-in's figure (the emulated micro-VM for Kata) is not the runtime's own: use the claim.
        if c.measurement is not None and c.note:
            return base.cells[r]["S"]
        return c

    c = cell(chosen)
    if c.measurement is not None:
        m = c.measurement
        origin, text = "measured", f"measured by {m.runtime} on {m.host}, n={m.n}, {(m.date or '?')[:10]}" + (
            ", emulated" if m.emulated else "")
    elif c.claim is not None:
        origin, text = "claim", f"claim {c.claim.id} [{c.claim.source}]"
    else:
        origin, text = "derived", f"derived: {c.basis}"
    stand_in = table.cells[chosen]["S"]
    if stand_in.measurement is not None and stand_in.note:
        text += f"; {stand_in.note}: its {stand_in.value:g} ms is not used"
    meeting = {r: cell(r).value for r in sorted(eligible) if cell(r).value < slo}
    return SloCheck(slo_ms=slo, runtime=chosen, value_ms=c.value, met=c.value < slo, origin=origin,  # type: ignore[arg-type]
                    origin_text=text, emulated=bool(c.measurement is not None and c.measurement.emulated),
                    meeting=meeting)


def _adoption_steps(kb: KnowledgeBase, runtime: str, route: str | None) -> list[NextStep]:
    rt = kb.runtime(runtime)
    ad = rt.adopt
    cite = practice.cites(ad.cite)
    out: list[NextStep] = []
    if ad.runtime_class is None and ad.handler:
        out.append(NextStep(kind="runtimeclass", text=f"no RuntimeClass needed: {ad.handler} is containerd's default handler",
                            cite=cite))
    elif ad.runtime_class is not None:
        out.append(NextStep(kind="runtimeclass", text=(
            f"RuntimeClass {ad.runtime_class} (handler {ad.handler}) and pods with runtimeClassName: {ad.runtime_class}; "
            f"`rtadvisor generate --runtime {runtime}" + (f" --route {route}" if route else "") + " -o DIR` writes them"),
            cite=cite))
    if ad.node:
        out.append(NextStep(kind="node", text=ad.node, cite=cite))
    if ad.workload:
        out.append(NextStep(kind="workload", text=ad.workload, cite=cite))
    return out


def _sources_route_steps(kb: KnowledgeBase, route: str | None) -> list[NextStep]:
    if route is None:
        return []
    r = kb.route(route)
    return [NextStep(kind="migration", text=f"route {route} ({r.name}): " + "; ".join(r.artifacts),
                     cite=(Citation(source="S-wasm", title=f"S-wasm route {route}"),))]


def _slo_steps(kb: KnowledgeBase, facts: Facts, check: SloCheck | None, table: ScoreTable) -> list[NextStep]:
    if check is None or check.met:
        return []
    text = f"the cold-start SLO of {check.slo_ms:g} ms is missed: {check.runtime} starts in {check.value_ms:g} ms ({check.origin_text})"
    if check.meeting:
        text += "; eligible runtimes that meet it: " + ", ".join(f"{r} ({v:g} ms)" for r, v in check.meeting.items())
    else:
        wasm = sorted((r for r, rt in kb.runtimes.items() if rt.family == "wasm" and "wasm" in rt.executes
                       and table.cells[r]["S"].value < check.slo_ms), key=lambda r: table.cells[r]["S"].value)
        if wasm and not facts.wasm_artifact:
            best = wasm[0]
            cost = practice.wasm_cost(kb, facts)
            would = f"a Wasm build on {best} would start in {table.cells[best]['S'].value:g} ms"
            if "; not possible for: " in cost:
                text += f"; no eligible runtime meets it. {would}, but it is ruled out here: {cost.split('; not possible for: ')[1]}"
            else:
                text += f"; no eligible runtime meets it. {would}: {cost}"
        else:
            text += "; no eligible runtime meets it: relax the SLO or keep instances warm (minimum replicas, pre-started pods)"
    return [NextStep(kind="slo", text=text)]


def _scope(kb: KnowledgeBase, rule: str) -> str | None:
    """How practice reads a sources rule (empty in the data: practice applies it as written)."""
    scope = kb.practice.sources_scope
    if rule in scope:
        return scope[rule] or None
    for prefix, key in (("tree:", "tree"), ("tree", "tree"), ("case-", "case"), ("matrix:", "matrix")):
        if rule.startswith(prefix):
            return scope.get(key) or None
    return None


def _other(kb: KnowledgeBase, rulebook: str, mine: practice.Outcome, other: practice.Outcome,
           other_id: RulebookId) -> OtherRulebook:
    d, o = mine.decision, other.decision
    # Architecture strings are worded per rulebook; what differs is the runtime, route or mesh.
    differs = (d.runtime, d.route, bool(d.service_mesh)) != (o.runtime, o.route, bool(o.service_mesh))
    name = kb.runtime(o.runtime).name
    top = other.reasons[0].text if other.reasons else "its rules"
    if not differs:
        why = f"the {other_id} rulebook also chooses {name} ({o.architecture})"
        if d.route != o.route:
            why += f", with route {o.route or 'none'} instead of {d.route or 'none'}"
    elif other_id == "sources":
        why = f"the sources would choose {name} ({o.architecture}) because {top}"
        same_family = kb.runtime(o.runtime).family == kb.runtime(d.runtime).family
        if same_family and mine.reasons:
            why += (f"; both run it on a {kb.runtime(d.runtime).family} runtime, and practice picks {d.runtime}: "
                    f"{mine.reasons[0].text}")
        else:
            # The most telling scope: that of the sources' rule that ruled out practice's choice, else
            # that of what chose the sources' runtime (a case row, the tree, the guidance).
            mine_there = next((a for a in o.alternatives if a.runtime == d.runtime), None)
            excluded_by = (mine_there.excluded or "").split(":", 1)[0] if mine_there and mine_there.excluded else ""
            for rid in (excluded_by, other.decided_by, *(h.id for h in o.constraints)):
                text = _scope(kb, rid) if rid else None
                if text:
                    why += f"; the practice rulebook reads {rid} within its scope: {text}"
                    break
    else:
        why = f"current practice would choose {name} ({o.architecture}) because {top}"
    return OtherRulebook(rulebook=other_id, runtime=o.runtime, architecture=o.architecture, route=o.route,  # type: ignore[arg-type]
                         differs=differs, why=why)


def _summary(kb: KnowledgeBase, d: Decision, reasons: list[Reason], check: SloCheck | None,
             conflicts_need: bool) -> str:
    name = kb.runtime(d.runtime).name
    head = f"Run it on {name}: {d.architecture}" + (f", Wasm route {d.route}" if d.route else "") + "."
    if reasons:
        head += f" Because {reasons[0].text}."
    if check is not None:
        if check.met:
            head += f" Cold-start SLO {check.slo_ms:g} ms met ({check.value_ms:g} ms, {check.origin})."
        else:
            head += f" Cold-start SLO {check.slo_ms:g} ms MISSED ({check.value_ms:g} ms, {check.origin})."
    if conflicts_need:
        head += " Some needs conflict: see the next steps."
    return head


def _evidence_from(evidence: Evidence | None) -> str | None:
    if evidence is None:
        return None
    host = evidence.host if isinstance(evidence.host, Mapping) else {}
    if host.get("pool"):
        nodes = host.get("nodes")
        return f"pool {host['pool']}" + (f" ({nodes} node{'' if nodes == 1 else 's'})" if nodes else "")
    return f"node {host.get('node_name') or host.get('hostname') or 'unknown'}"


# --------------------------------------------------------------------------- the entry point


def _recommend(ctx: engine._Ctx, workload: Workload, rulebook: str, slo_evidence: Evidence | None,
               explain: bool = True) -> Decision:
    if rulebook not in RULEBOOKS:
        raise InputError(f"rulebook: expected one of {', '.join(RULEBOOKS)}, got {rulebook!r}")
    kb = ctx.kb
    evidence_for_facts = ctx.evidence or slo_evidence
    facts, unknowns = resolve(workload, rulebook, kb.practice.assumptions, evidence_for_facts)
    out, facts = _decide(ctx, rulebook, facts, lite=not explain)
    d = out.decision
    reasons = list(out.reasons)

    assumptions = []
    for u in unknowns if explain else ():
        changes_to, if_value = None, None
        for value in u.try_values:
            alt = _runtime(ctx, rulebook, facts.with_(**{u.field: value}))
            if alt != d.runtime:
                changes_to, if_value = alt, value
                break
        assumptions.append(assumption(u, changes_to, if_value))
    assumptions.sort(key=lambda a: not a.matters)

    other_id: RulebookId = "sources" if rulebook == "practice" else "practice"
    other = None
    if explain:
        o_facts, _ = resolve(workload, other_id, kb.practice.assumptions, evidence_for_facts)
        other, _ = _decide(ctx, other_id, o_facts)

    table = _slo_table(ctx, slo_evidence, facts, rulebook)
    check = _slo(kb, facts, table, d.runtime, out.eligible, _table(engine._Ctx(kb, None, ctx.preferences, ctx.fast), facts, rulebook))
    steps = [*_adoption_steps(kb, d.runtime, d.route), *out.steps] if explain else []
    if rulebook == "sources" and explain:
        steps += _sources_route_steps(kb, d.route)
    if explain:
        steps += _slo_steps(kb, facts, check, table)

    claim_ids = [c.id for c in d.claims] if d.claims else []
    if rulebook == "practice":
        rt = kb.runtime(d.runtime)
        for m in ("image_size", "cold_start", "memory", "density"):
            ref = getattr(rt.criteria, m).claim
            if ref and ref not in claim_ids:
                claim_ids.append(ref)
    conflicts_need = any("~" in c.id for c in d.conflicts)  # a practice rule could not hold with an earlier one
    summary = _summary(kb, d, reasons, check, conflicts_need)
    decision = Decision(
        workload=workload, runtime=d.runtime, architecture=d.architecture, route=d.route, service_mesh=d.service_mesh,
        alternatives=d.alternatives, trace=d.trace, constraints=d.constraints, conflicts=d.conflicts,
        claims=tuple(kb.claim(c) for c in claim_ids), evidence_used=d.evidence_used,
        evidence_from=_evidence_from(ctx.evidence),
        rulebook=rulebook,  # type: ignore[arg-type]
        runtime_name=kb.runtime(d.runtime).name, summary=summary, reasons=tuple(reasons),
        assumptions=tuple(assumptions), next_steps=tuple(steps), slo=check,
        other_rulebook=_other(kb, rulebook, out, other, other_id) if other is not None else None)
    # With evidence: the node's isolation and overhead figures, and the facts they contradict.
    return measured.annotate(kb, decision, facts, ctx.evidence)


def recommend(workload: Workload, kb: KnowledgeBase | None = None, evidence: Evidence | None = None,
              preferences: Mapping[str, Any] | None = None, rulebook: str = "practice",
              slo_evidence: Evidence | None = None, explain: bool = True) -> Decision:
    """Choose the runtime for ``workload``, explain it and say what to do next. Pure: no I/O.

    ``rulebook`` is ``practice`` (current upstream practice, the default) or ``sources`` (the source
    documents' rules as written). ``evidence`` (this node's measurements) replaces claimed V/S/M/D
    values in the score; ``slo_evidence`` is used only for the cold-start SLO check (measured figures
    where the node has them, without changing the score); ``preferences`` may hold ``weights``,
    ``pairwise`` (AHP) and ``method`` ("wsm" or "topsis"). ``explain=False`` leaves out what only a
    person reading one decision needs (the test of every assumption, the other rulebook's answer):
    ``assumptions`` is then empty and ``other_rulebook`` None (``rtadvisor scan`` decides thousands).

    >>> from rtadvisor.model import Workload
    >>> recommend(Workload(name="api", scenario="serverless")).runtime
    'runc'
    >>> recommend(Workload(name="gw", scenario="edge", memory_mb=64, cpu_cores=0.5), rulebook="sources").runtime
    'wasmedge'
    """
    return _recommend(engine._Ctx(kb or load(), evidence, preferences), workload, rulebook, slo_evidence, explain)


def recommend_reference(workload: Workload, kb: KnowledgeBase | None = None, evidence: Evidence | None = None,
                        preferences: Mapping[str, Any] | None = None, rulebook: str = "practice",
                        slo_evidence: Evidence | None = None) -> Decision:
    """:func:`recommend` without the fast path's shortcuts (no cached score table, every weaker-need
    decision built in full). Slower; the tests use it to show the fast path gives identical decisions."""
    return _recommend(engine._Ctx(kb or load(), evidence, preferences, fast=False), workload, rulebook, slo_evidence)


__all__ = ["RULEBOOKS", "as_workload", "recommend", "recommend_reference"]
