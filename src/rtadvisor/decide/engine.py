"""The explainable decision engine.

Order of reasoning (each step lands in the trace):

1. hard constraints and guards filter the candidates (devices -> VM, epoll/io_uring -> containers,
   untrusted code / strong isolation -> no plain container); colliding rules are resolved by the
   knowledge base's precedence and reported as conflicts; > 50 services with governance -> mesh;
2. the S-select decision tree (memory < 100 MB and CPU < 1 core; cold-start SLO < 100 ms; GPU),
   plus the 2025 guidance (strong isolation -> Kata, second gVisor);
3. the S-select scenario matrix and the S-cases case table (the case row wins over the matrix row,
   which wins over the tree; GPU disagreements are resolved by GPU kind, see CF-gpu);
4. a multi-criteria score (WSM, pymcdm's definition, see mcda.py) over V, S, M, D, isolation, compatibility, GPU with scenario
   weights ranks the alternatives, picks among runtimes of the chosen family, and picks the
   fallback when the rules' choice is excluded;
5. the Wasm route R*(S) when the choice is a Wasm runtime.

Invariants the tests check: adding a USB/PCI device never yields a non-virtualized runtime;
raising the isolation need never lowers the chosen runtime's isolation rating (enforced by
computing the decision for the relaxed needs first and using its rating as a floor); every
decision has a trace. The engine is pure: no I/O.

Speed (docs/core.md "Engine speed"): the score table depends only on the knowledge base, the
scenario's weights, the evidence and the preferences, so it is cached on the KnowledgeBase; the
weaker-need decisions of the isolation floor are computed only up to their runtime, and skipped when
no floor could exclude a candidate. ``recommend_reference`` is the same computation without these
shortcuts; the tests check both give identical decisions.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rtadvisor.kb import KnowledgeBase, load
from rtadvisor.kb import schema as s
from rtadvisor.model import (
    Alternative,
    Artifact,
    Claim,
    Conflict,
    ConstraintHit,
    Decision,
    Evidence,
    Gpu,
    Isolation,
    Scenario,
    SourceTag,
    Stage,
    TraceStep,
)

from .facts import WASM_ARTIFACTS, Facts, as_workload
from .score import CRITERIA, ScoreTable, ranking_key, score

DEVICE_GPU = (Gpu.passthrough, Gpu.vgpu, Gpu.sriov)
_FAMILY_LABEL = {"container": "container", "sandbox": "gVisor", "microvm": "Kata", "vm": "VM"}


@dataclass
class _Run:
    """Mutable working state of one decision (kept private; the result is the frozen Decision)."""

    kb: KnowledgeBase
    w: Facts
    trace: list[TraceStep] = field(default_factory=list)
    hits: list[ConstraintHit] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    claim_ids: list[str] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)
    fast: bool = True  # use the per-knowledge-base caches (False: the reference computation)
    # What chose the runtime, in words: (rule id, source tag, text) -- the verdict's main reason.
    decided_by: tuple[str, str, str] = ("", "derived", "")
    rule_texts: dict[str, tuple[str, str]] = field(default_factory=dict)  # rule id -> (source, text)

    def step(self, kind: str, rule: str, question: str, answer: str, threshold: str | None = None,
             source: SourceTag | None = None, **detail: Any) -> None:
        self.trace.append(TraceStep(step=len(self.trace) + 1, kind=kind, rule=rule, question=question,  # type: ignore[arg-type]
                                    answer=answer, threshold=threshold, source=source, detail=detail))

    def use_claims(self, *ids: str) -> None:
        for i in ids:
            if i not in self.claim_ids:
                self.claim_ids.append(i)

    def conflict(self, cid: str, winner: str, why: str, touched: str | None = None) -> None:
        if any(c.id == cid for c in self.conflicts):
            return
        d = self.kb.conflict(cid)
        self.conflicts.append(Conflict(id=cid, topic=d.topic, positions=dict(d.positions), winner=winner, why=why))
        self.step("conflict", cid, d.topic, f"{winner} wins: {why}", source=None, touched=touched or "")


# ---------------------------------------------------------------------------- 1. constraints


def _fires(w: Facts, when: str, threshold: float | None = None) -> tuple[bool, str]:
    if when == "devices":
        return bool(w.devices), ", ".join(d.value for d in w.devices) or "none"
    if when == "kernel_features":
        return bool(w.kernel_features), ", ".join(k.value for k in w.kernel_features) or "none"
    if when == "services_governance":
        if w.services is None:
            return False, "number of services not given"
        n = w.services
        gov = w.governance if w.governance is not None else True
        gov_text = "governance needed" if w.governance else ("governance assumed" if w.governance is None else "no governance needs")
        return n > (threshold or 50) and gov, f"{n} services, {gov_text}"
    if when == "untrusted_code":
        return w.untrusted_code, "untrusted code" if w.untrusted_code else "trusted code"
    if when == "strong_isolation":
        return w.isolation == Isolation.strong, f"isolation {w.isolation.value}"
    if when == "strong_untrusted":
        both = w.isolation == Isolation.strong and w.untrusted_code
        return both, f"isolation {w.isolation.value}, {'untrusted' if w.untrusted_code else 'trusted'} code"
    if when == "artifact_wasm":
        art = w.artifact.value if w.artifact is not None else "not given"
        return w.artifact in WASM_ARTIFACTS, f"artifact {art}" + (" (platform wasm32/wasi)" if w.artifact in WASM_ARTIFACTS else "")
    if when == "artifact_oci":
        art = w.artifact.value if w.artifact is not None else "not given"
        return w.artifact == Artifact.oci_image, f"artifact {art}" + (" (a Linux image, platform linux/amd64)" if w.artifact == Artifact.oci_image else "")
    if when == "artifact_executes":
        art = w.artifact.value if w.artifact is not None else "not given"
        return True, f"artifact {art}"
    if when == "node_unusable":
        return bool(w.unusable), "; ".join(f"{r}: {why}" for r, why in w.unusable) or "every runtime is usable"
    if when == "always":
        return True, "always"
    raise ValueError(when)


def _apply_constraints(run: _Run) -> tuple[set[str], tuple[str, ...] | None]:
    kb, w = run.kb, run.w
    allowed = set(kb.runtimes)
    rules: dict[str, s.HardConstraint | s.Guard] = {c.id: c for c in kb.constraints.constraints}
    rules.update({g.id: g for g in kb.constraints.guards})
    applied: list[str] = []
    mesh: tuple[str, ...] | None = None
    ordered = list(kb.constraints.precedence) + [r for r in rules if r not in kb.constraints.precedence]
    for rid in ordered:
        rule = rules[rid]
        fired, answer = _fires(w, rule.when, rule.threshold if isinstance(rule, s.HardConstraint) else None)
        if rule.when == "always":
            continue
        if not fired:
            run.step("constraint" if isinstance(rule, s.HardConstraint) else "guard", rid, rule.question,
                     f"no ({answer})", threshold=_threshold_text(rule), source=rule.source)
            continue
        if isinstance(rule, s.HardConstraint) and rule.meshes:
            mesh = rule.meshes
            run.hits.append(ConstraintHit(id=rid, rule=rule.question, requires=rule.requires, because=rule.because, source=rule.source))
            run.use_claims(*rule.claims)
            run.step("mesh", rid, rule.question, f"yes ({answer}) -> {', '.join(rule.meshes)}",
                     threshold=_threshold_text(rule), source=rule.source)
            continue
        if rule.when == "artifact_executes":
            ok = _executes(kb, w)
            if ok >= allowed:
                continue  # excludes nothing here: not worth a line of the trace
        elif rule.when == "node_unusable":
            ok = set(kb.runtimes) - {r for r, _ in w.unusable}
        else:
            ok = _rule_allows(kb, rule) if run.fast else _rule_allows_uncached(kb, rule)
        remaining = allowed & ok
        if not remaining:
            # Two rules collide: the earlier one (higher precedence) wins; say so.
            cid, prior = _find_conflict(kb, applied, rid)
            why = kb.conflict(cid).why if cid else "an earlier rule in the precedence list already decided"
            if cid:
                run.conflict(cid, prior or applied[-1], why or "", touched=rid)
            # The losing rule's need may still be served another way (a VM's guest kernel has io_uring).
            fallback = set(kb.conflict(cid).fallback_families) if cid else set()
            narrowed = {r for r in allowed if kb.runtime(r).family in fallback}
            if narrowed:
                for r in sorted(allowed - narrowed):
                    run.excluded.setdefault(r, f"{rid}: served by a guest kernel instead ({cid})")
                allowed = narrowed
            served = f"; served by {', '.join(sorted(fallback))} instead: candidates {', '.join(sorted(allowed))}" if narrowed else ""
            run.step("constraint" if isinstance(rule, s.HardConstraint) else "guard", rid, rule.question,
                     f"yes ({answer}) but overridden by {prior or applied[-1]}{served}", threshold=_threshold_text(rule),
                     source=rule.source, overridden=True)
            continue
        for r in sorted(allowed - remaining):
            run.excluded.setdefault(r, f"{rid}: {dict(w.unusable)[r]}" if rule.when == "node_unusable" else f"{rid}: {rule.because}")
        if rule.when == "artifact_executes":
            # Bookkeeping for runtimes the sources do not name: traced, not a constraint of theirs.
            run.step("guard", rid, rule.question, f"{', '.join(sorted(allowed - remaining))} cannot run it ({answer}); "
                     f"candidates: {', '.join(sorted(remaining))}", source=rule.source)
            allowed = remaining
            applied.append(rid)  # it wins any later collision: a runtime that cannot run the artifact is no option
            continue
        allowed = remaining
        applied.append(rid)
        run.hits.append(ConstraintHit(id=rid, rule=rule.question, requires=rule.requires, because=rule.because, source=rule.source))
        run.use_claims(*(rule.claims if isinstance(rule, s.HardConstraint) else ()))
        run.step("constraint" if isinstance(rule, s.HardConstraint) else "guard", rid, rule.question,
                 f"yes ({answer}) -> requires {rule.requires}; candidates: {', '.join(sorted(allowed))}",
                 threshold=_threshold_text(rule), source=rule.source)
    if not run.hits or all(h.id == "HC-mesh" for h in run.hits):
        bal = next((c for c in kb.constraints.constraints if c.when == "always"), None)
        if bal is not None:
            run.step("constraint", bal.id, bal.question, bal.because, source=bal.source)
    return allowed, mesh


def _executes(kb: KnowledgeBase, w: Facts) -> set[str]:
    """Runtimes that may run ``w``'s artifact under the sources: every runtime the sources name
    (their own rules decide), plus others only for an artifact they execute; a Spin app only on Spin."""
    art = w.artifact.value if w.artifact is not None else None
    out = set()
    for rid, rt in kb.runtimes.items():
        if art == "spin":
            if "spin" in rt.executes:
                out.add(rid)
        elif rt.in_sources or (art is not None and art in rt.executes) or (art is None and "wasm" in rt.executes):
            out.add(rid)
    return out


def _threshold_text(rule: s.HardConstraint | s.Guard) -> str | None:
    if isinstance(rule, s.HardConstraint) and rule.threshold is not None:
        return f"services > {rule.threshold:g}"
    if isinstance(rule, s.Guard) and rule.min_isolation is not None:
        return f"isolation rating >= {rule.min_isolation}"
    return None


def _rule_allows(kb: KnowledgeBase, rule: s.HardConstraint | s.Guard) -> set[str]:
    # Depends only on the knowledge base: computed once per rule (callers get a copy).
    cache = kb.derived.setdefault("decide.rule_allows", {})
    if rule.id not in cache:
        cache[rule.id] = frozenset(_rule_allows_uncached(kb, rule))
    return set(cache[rule.id])


def _rule_allows_uncached(kb: KnowledgeBase, rule: s.HardConstraint | s.Guard) -> set[str]:
    out = set()
    for rid, rt in kb.runtimes.items():
        if isinstance(rule, s.HardConstraint) and rule.allow_families and rt.family not in rule.allow_families:
            continue
        if isinstance(rule, s.Guard):
            if rt.family in rule.exclude_families:
                continue
            if rule.min_isolation is not None and rt.isolation < rule.min_isolation:
                continue
        out.add(rid)
    return out


def _find_conflict(kb: KnowledgeBase, applied: list[str], loser: str) -> tuple[str | None, str | None]:
    for prior in reversed(applied):
        for c in kb.conflicts.conflicts:
            if c.between and set(c.between) == {prior, loser}:
                return c.id, prior
    # G-strong-untrusted collides through G-untrusted's exclusion: report the family rule.
    for c in kb.conflicts.conflicts:
        if c.between and loser in c.between:
            other = next(x for x in c.between if x != loser)
            if other in applied:
                return c.id, other
    return None, None


# ---------------------------------------------------------------------------- 2. decision tree


def _tree_test(kb: KnowledgeBase, w: Facts, test: str) -> tuple[bool, str]:
    th = kb.tree.thresholds
    if test == "resource_constrained":
        mem, cpu = w.memory_mb, w.cpu_cores
        if mem is None or cpu is None:
            missing = " and ".join(n for n, v in (("memory_mb", mem), ("cpu_cores", cpu)) if v is None)
            return False, f"no ({missing} not given, treated as not constrained)"
        yes = mem < th.memory_mb and cpu < th.cpu_cores
        return yes, f"{'yes' if yes else 'no'} (memory {mem:g} MB {'<' if mem < th.memory_mb else '>='} {th.memory_mb:g}, CPU {cpu:g} {'<' if cpu < th.cpu_cores else '>='} {th.cpu_cores:g})"
    if test == "strong_isolation":
        yes = w.isolation == Isolation.strong or w.untrusted_code
        return yes, f"{'yes' if yes else 'no'} (isolation {w.isolation.value}, {'untrusted' if w.untrusted_code else 'trusted'} code)"
    if test == "fast_start":
        slo = w.cold_start_slo_ms
        if slo is None:
            return False, "no (no cold-start SLO given)"
        yes = slo < th.cold_start_slo_ms
        return yes, f"{'yes' if yes else 'no'} (SLO {slo:g} ms {'<' if yes else '>='} {th.cold_start_slo_ms:g})"
    if test == "gpu_needed":
        yes = w.gpu != Gpu.none
        return yes, f"{'yes' if yes else 'no'} (gpu {w.gpu.value})"
    raise ValueError(test)


def _walk_tree(run: _Run) -> tuple[str, list[str]]:
    kb = run.kb
    node = kb.tree.node(kb.tree.root)
    path: list[str] = []
    while True:
        yes, answer = _tree_test(kb, run.w, node.test)
        path.append(node.id)
        run.use_claims(*node.claims)
        target = node.yes if yes else node.no
        run.step("tree", f"tree:{node.id}", node.question, f"{answer} -> {target.removeprefix('leaf:')}",
                 threshold=node.threshold, source=kb.tree.source)
        if target.startswith("leaf:"):
            leaf = target[5:]
            path.append(f"leaf:{leaf}")
            return leaf, path
        node = kb.tree.node(target)


# ---------------------------------------------------------------------------- 3. scenario and cases


def _match_case(kb: KnowledgeBase, w: Facts) -> tuple[s.Case | None, str]:
    scen = w.scenario.value
    for c in kb.cases.cases:
        if c.scenario != scen:
            continue
        if c.match.gpu is not None and w.gpu.value not in c.match.gpu:
            return None, f"case row {c.id} is written for gpu {', '.join(c.match.gpu)}; this workload has gpu {w.gpu.value}"
        return c, f"scenario {scen}"
    for sig in kb.cases.signatures:
        if w.gpu.value in sig.gpu and (sig.multi_os is None or sig.multi_os == w.multi_os):
            return kb.case(sig.case), f"signature gpu {w.gpu.value}" + (", multi-OS" if sig.multi_os else "")
    return None, f"no case row for scenario {scen}"


# ---------------------------------------------------------------------------- 5. route


def _route(run: _Run, engine: str) -> str:
    kb, w = run.kb, run.w
    rt = kb.runtime(engine)
    skipped: list[str] = []
    for rule in kb.routes.selection:
        ok = all(
            (w.stage.value if key == "stage" else w.scenario.value if key == "scenario" else None) in values
            for key, values in rule.when.items()
        )
        if not ok:
            continue
        route = kb.route(rule.route)
        if route.engines and engine not in route.engines:
            skipped.append(f"{rule.id} ({rule.route}) cannot start {engine}")
            continue
        run.use_claims(route.claim)
        also = f" (also {', '.join(rule.also)})" if rule.also else ""
        # The decision's runtime stays the Wasm engine on every route; what starts the pod differs
        # (R1: runc with an image carrying the engine), and names the engine actually chosen.
        started_by = (route.oci_runtime or "").format(engine=rt.name, shim=_shim_of(rt.containerd_runtime_type),
                                                      runtime_type=rt.containerd_runtime_type)
        started = f"; the pod is started by {started_by}" if started_by else ""
        skip = f" ({'; '.join(skipped)})" if skipped else ""
        run.step("route", rule.id, "Which Wasm integration route R*(S)?",
                 f"{rule.route} {route.name}{also}: stage {w.stage.value}, scenario {w.scenario.value}; "
                 f"maturity {route.maturity}/5{started}{skip}",
                 threshold=rule.text, source=kb.routes.source, oci_runtime=started_by, engine=engine)
        return rule.route
    raise AssertionError("routes.yaml has no default rule")  # the schema requires RS-default


def _shim_of(runtime_type: str | None) -> str:
    from .practice import shim_of

    return shim_of(runtime_type)


def _cri_wasm_engine(kb: KnowledgeBase) -> str:
    """The Wasm engine S-wasm's CRI identification names for platform wasm32/wasi (WasmEdge)."""
    text = next((e.get("runtime", "") for e in kb.routes.cri_identification if e.get("platform") == "wasm32/wasi"), "")
    wasm = [r for r in kb.runtimes.values() if r.family == "wasm"]
    return next((r.id for r in wasm if r.name.lower() in text.lower()), wasm[0].id)


# ---------------------------------------------------------------------------- architecture


def _orchestrator(w: Facts) -> str:
    return "K3s" if (w.scenario is Scenario.edge or w.stage is Stage.edge or w.offline) else "K8s"


def architecture_for(kb: KnowledgeBase, w: Facts, rid: str, case: s.Case | None, mesh: bool) -> str:
    """Architecture string for a runtime choice: the case row's wording where it applies."""
    rt = kb.runtime(rid)
    text: str | None = None
    if case is not None and rid == case.runtime:
        text = case.architecture
    elif case is not None and rid == case.alternative_runtime:
        text = case.alternative
    if text is None:
        head = rt.name if rt.family == "wasm" else _FAMILY_LABEL[rt.family]
        text = f"{head} + {_orchestrator(w)}"
        if rt.family == "container" and w.gpu != Gpu.none:
            text += " + NVIDIA"
    if mesh and "service mesh" not in text:
        text += " + service mesh"
    return text


# ---------------------------------------------------------------------------- the engine


@dataclass
class _Ctx:
    """One ``recommend`` call: its inputs, the per-call memo, and whether the fast path is on.

    ``fast=False`` is the reference computation (every sub-decision built in full, the score table
    computed afresh); the tests compare the two on random profiles.
    """

    kb: KnowledgeBase
    evidence: Evidence | None
    preferences: Mapping[str, Any] | None
    fast: bool = True
    memo: dict[Any, Any] = field(default_factory=dict)


@dataclass
class _Chosen:
    """Everything the rules and the score decided, before the decision is explained in full."""

    run: _Run
    chosen: str
    allowed: set[str]
    eligible: set[str]
    mesh: tuple[str, ...] | None
    case: s.Case | None
    table: ScoreTable
    strong_need: bool
    floor: int


def _decide(ctx: _Ctx, w: Facts) -> Decision:
    if w in ctx.memo:
        return ctx.memo[w]  # type: ignore[no-any-return]
    chosen = _choose_runtime(ctx, w)
    decision = _explain(ctx, chosen)
    ctx.memo[w] = decision
    ctx.memo[("run", w)] = chosen.run
    return decision


def sources_decision(ctx: _Ctx, w: Facts) -> tuple[Decision, _Run]:
    """The sources' decision for ``w`` and its working state (what decided, which rules fired)."""
    d = _decide(ctx, w)
    return d, ctx.memo[("run", w)]


def sources_runtime(ctx: _Ctx, w: Facts) -> str:
    """Only the runtime the sources choose (the assumptions check needs no more)."""
    return _runtime_of(ctx, w)


def _runtime_of(ctx: _Ctx, w: Facts) -> str:
    """Only the runtime a workload gets (the isolation floor needs no more than that)."""
    if not ctx.fast:
        return _decide(ctx, w).runtime
    key = ("runtime", w)
    if key not in ctx.memo:
        ctx.memo[key] = _choose_runtime(ctx, w).chosen
    return ctx.memo[key]  # type: ignore[no-any-return]


def _score_table(ctx: _Ctx, scenario: str, ignore: tuple[str, ...] = ()) -> ScoreTable:
    """The scored decision matrix: it depends on the knowledge base, the scenario's weights, the
    evidence, the preferences and the criteria left out, never on the workload's own figures, so the
    fast path computes it once per knowledge base and reuses it (:func:`_cached_score`)."""
    key = ("score", scenario, ignore)
    table = ctx.memo.get(key)
    if table is None:
        table = _cached_score(ctx, scenario, ignore) if ctx.fast else score(ctx.kb, scenario, ctx.evidence, ctx.preferences, ignore)
        ctx.memo[key] = table
    return table  # type: ignore[no-any-return]


def _choose_runtime(ctx: _Ctx, w: Facts) -> _Chosen:
    kb, evidence = ctx.kb, ctx.evidence
    run = _Run(kb=kb, w=w, fast=ctx.fast)

    # 1. hard constraints and guards
    allowed, mesh = _apply_constraints(run)

    # 2. decision tree (+ 2025 guidance)
    tree_choice, _ = _walk_tree(run)
    strong_need = w.isolation == Isolation.strong or w.untrusted_code
    fast = w.cold_start_slo_ms is not None and w.cold_start_slo_ms < kb.tree.thresholds.cold_start_slo_ms
    # Strong isolation -> Kata, second gVisor (2025 guidance); untrusted code alone -> gVisor (it "suits
    # untrusted code"), second Kata. Applied when the tree's leaf has less isolation than that.
    need = "strong-isolation" if w.isolation == Isolation.strong else "untrusted-code" if w.untrusted_code else None
    g_strong = next((g for g in kb.tree.guidance_2025 if need and g.when.get("need") == need), None)
    rule_choice, rule_source, rule_name = tree_choice, "S-select", "tree"
    tree_answers = "; ".join(t.answer.split(" -> ")[0] for t in run.trace if t.kind == "tree")
    run.rule_texts["tree"] = ("S-select", f"the S-select decision tree ends at {tree_choice} ({tree_answers})")
    if strong_need and g_strong is not None:
        if kb.runtime(tree_choice).isolation < kb.runtime(g_strong.first).isolation:
            rule_choice, rule_name = g_strong.first, g_strong.id
            run.rule_texts[g_strong.id] = ("S-select", (
                f"S-select's 2025 guidance: strong isolation -> {g_strong.first} (second {g_strong.fallback})"
                if need == "strong-isolation" else
                f"S-select: {kb.runtime(g_strong.first).name} suits untrusted code (second {g_strong.fallback})"))
            question = ("2025 guidance: strong isolation needed?" if need == "strong-isolation"
                        else "Guidance: untrusted code (gVisor suits untrusted code)?")
            run.step("tree", g_strong.id, question,
                     f"yes -> {g_strong.first} (second choice {g_strong.fallback}) instead of the tree's {tree_choice}",
                     source="S-select")
        elif fast and need == "strong-isolation" and tree_choice != g_strong.first \
                and not (kb.runtime(tree_choice).family == "wasm" and any(h.id == "G-artifact-oci" for h in run.hits)):
            # (A Linux image never goes to the tree's WasmEdge, so that side of the conflict cannot win.)
            d = kb.conflict("CF-strong-vs-fast")
            run.use_claims("kata-cold-start")
            run.conflict("CF-strong-vs-fast", d.winner or "S-select-tree", d.why or "")

    tree_result = rule_choice  # the tree's leaf, or the 2025 guidance's choice when it stepped in

    # 3. scenario matrix and case table
    row = next((r for r in kb.scenarios.rows if r.scenario == w.scenario.value), None)
    if row is not None:
        run.step("scenario", f"matrix:{row.scenario}", f"Scenario matrix row '{row.label}'?",
                 f"recommended {row.recommended_label} (constrained {row.resource_constrained}, fast start {row.fast_start}, "
                 f"strong isolation {row.strong_isolation}, GPU {row.gpu})", source=kb.scenarios.source)
    case, why_case = _match_case(kb, w)
    if case is not None:
        run.use_claims(*case.claims)
        run.step("case", case.id, f"Case table row '{case.category}'?",
                 f"matches ({why_case}) -> {case.architecture} (alternative {case.alternative}); key factors: {', '.join(case.key_factors)}",
                 source=kb.cases.source, dimensions=list(case.dimensions))
    else:
        run.step("case", "case:none", "Case table row for this workload?", why_case, source=kb.cases.source)

    if case is not None:
        rule_choice, rule_source, rule_name = case.runtime, "S-cases", case.id
        run.rule_texts[case.id] = ("S-cases", f"the S-cases case table's '{case.category}' row recommends {case.architecture}")
    elif row is not None:
        rule_choice, rule_source, rule_name = row.recommended, "S-select", f"matrix:{row.scenario}"
        run.rule_texts[rule_name] = ("S-select", f"the S-select scenario matrix recommends {row.recommended_label} for '{row.label}'")

    fired = {h.id for h in run.hits}
    wasm_artifact = "HC-artifact-wasm" in fired  # applied, i.e. not overridden by HC-devices
    oci_artifact = "G-artifact-oci" in fired

    # The GPU conflict touches every GPU workload.
    if w.gpu != Gpu.none:
        d = kb.conflict("CF-gpu")
        if wasm_artifact and w.gpu in DEVICE_GPU:
            run.conflict("CF-gpu", "S-select (HC-artifact-wasm)", d.why_artifact or "", touched=f"gpu {w.gpu.value}, artifact wasm")
        elif oci_artifact and w.gpu not in DEVICE_GPU:
            run.conflict("CF-gpu", "S-cases (G-artifact-oci)", d.why_oci or "", touched=f"gpu {w.gpu.value}, artifact oci-image")
        elif w.gpu in DEVICE_GPU:
            run.conflict("CF-gpu", "S-cases", d.why_cases or "", touched=f"gpu {w.gpu.value}")
        else:
            run.conflict("CF-gpu", "S-select", d.why_select or "", touched=f"gpu {w.gpu.value}")
    scenario_choice = case.runtime if case is not None else (row.recommended if row is not None else None)
    if scenario_choice is not None and kb.runtime(scenario_choice).family != kb.runtime(tree_result).family \
            and not (w.gpu != Gpu.none and case is not None):
        d = kb.conflict("CF-matrix-vs-tree")
        run.conflict("CF-matrix-vs-tree", f"{rule_source} ({rule_name})",
                     f"{d.why} (tree: {tree_result}, scenario: {scenario_choice})", touched=w.scenario.value)

    # The artifact decides the family when it is a Wasm module (HC-artifact-wasm), and rules the Wasm
    # engines out when it is a Linux image (G-artifact-oci): say which rule's choice it replaces.
    if wasm_artifact and kb.runtime(rule_choice).family != "wasm":
        engine = _cri_wasm_engine(kb)
        run.step("constraint", "HC-artifact-wasm", "Which runtime executes the Wasm module?",
                 f"the Wasm family instead of {rule_choice} ({rule_name}): CRI identification sends wasm32/wasi "
                 f"to crun/runwasi -> {kb.runtime(engine).name}; the score picks among the Wasm engines",
                 threshold="artifact: wasm -> Wasm engine", source="S-wasm")
        rule_choice, rule_source, rule_name = engine, "S-wasm", "HC-artifact-wasm"
        run.rule_texts[rule_name] = ("S-wasm", "a Wasm module is executed by a Wasm engine (S-wasm CRI identification: wasm32/wasi -> crun/runwasi -> WasmEdge)")
    elif oci_artifact and kb.runtime(rule_choice).family == "wasm":
        run.step("guard", "G-artifact-oci", f"Can {rule_choice} ({rule_name}) run this workload?",
                 "no: the workload is a Linux image (linux/amd64 -> runc per S-wasm CRI identification) and a Wasm engine "
                 "is never chosen for it; a non-Wasm fallback follows", threshold="artifact: oci-image -> no Wasm engine",
                 source="S-wasm")

    # 4. multi-criteria score
    # The relaxed-need sub-decisions share the scenario, so score once per call.
    table = _score_table(ctx, w.scenario.value)
    _trace_scores(run, table, evidence)

    # Isolation floor: never less isolation than the same workload with a weaker need gets.
    floor = 0
    relaxed: list[Facts] = []
    if w.isolation == Isolation.strong:
        relaxed.append(w.with_(isolation=Isolation.standard))
    if w.untrusted_code:
        relaxed.append(w.with_(untrusted_code=False))
    floor_from = ""
    if ctx.fast and relaxed and min(kb.isolation_rank(r) for r in allowed) >= _max_rank(kb):
        # No floor can exclude a candidate (every one has the top rating), so the weaker needs'
        # decisions cannot change anything: skip them (the reference path computes them).
        relaxed = []
        floor = _max_rank(kb)
    for weaker in relaxed:
        runtime_r = _runtime_of(ctx, weaker)
        rank = kb.isolation_rank(runtime_r)
        if rank > floor:
            floor, floor_from = rank, runtime_r
    eligible = {r for r in allowed if kb.isolation_rank(r) >= floor}
    if not eligible:
        top = max(kb.isolation_rank(r) for r in allowed)
        eligible = {r for r in allowed if kb.isolation_rank(r) == top}
    if floor and eligible != allowed:
        for r in sorted(allowed - eligible):
            run.excluded.setdefault(r, f"G-monotone: isolation rating below {floor} ({floor_from} with the weaker need)")
        run.step("guard", "G-monotone", "Does the raised isolation need keep at least the isolation of the weaker need?",
                 f"floor isolation rating {floor} (the weaker need chooses {floor_from}); candidates: {', '.join(sorted(eligible))}",
                 threshold=f"isolation rating >= {floor}", source="derived")

    chosen = _choose(run, table, eligible, rule_choice, rule_name, case, g_strong if strong_need else None)
    return _Chosen(run=run, chosen=chosen, allowed=allowed, eligible=eligible, mesh=mesh, case=case, table=table,
                   strong_need=strong_need, floor=floor)


def _explain(ctx: _Ctx, c: _Chosen) -> Decision:
    """The rest of the decision: SLO check, conflicts, route, architecture, alternatives, claims."""
    kb, run, w, chosen, table, case, mesh = ctx.kb, c.run, c.run.w, c.chosen, c.table, c.case, c.mesh
    allowed, eligible, strong_need, floor = c.allowed, c.eligible, c.strong_need, c.floor
    _check_slo(run, table, chosen)

    # Claim-level disagreements that touch this choice.
    if strong_need or floor:
        d = kb.conflict("CF-isolation-order")
        run.conflict("CF-isolation-order", d.winner or "S-select", d.why or "", touched="isolation need")
    for cdef in kb.conflicts.conflicts:
        if chosen in cdef.touches:
            run.use_claims(*cdef.claims)
            run.conflict(cdef.id, cdef.winner or "", cdef.why or "", touched=chosen)

    # 5. route and architecture
    rt = kb.runtime(chosen)
    route = _route(run, chosen) if rt.wasm else None
    if mesh and rt.family != "container":
        d = kb.conflict("CF-mesh-vs-isolation")
        run.conflict("CF-mesh-vs-isolation", d.winner or "rtadvisor", d.why or "", touched=chosen)
    arch = architecture_for(kb, w, chosen, case, mesh is not None)
    for m in ("image_size", "cold_start", "memory", "density"):
        ref = getattr(rt.criteria, m)
        if ref.claim:
            run.use_claims(ref.claim)

    alternatives = _alternatives(kb, w, table, allowed, eligible, chosen, case, mesh is not None, run.excluded)
    claims: tuple[Claim, ...] = tuple(kb.claim(c) for c in run.claim_ids)
    decision = Decision(
        workload=as_workload(w),
        runtime=chosen,
        architecture=arch,
        route=route,  # type: ignore[arg-type]
        service_mesh=mesh,
        alternatives=alternatives,
        trace=tuple(run.trace),
        constraints=tuple(run.hits),
        conflicts=tuple(run.conflicts),
        claims=claims,
        evidence_used=bool(table.measured),
    )
    return decision


def _trace_scores(run: _Run, table: ScoreTable, evidence: Evidence | None) -> None:
    weights = ", ".join(f"{c}={table.weights[c]:.3f}" for c in CRITERIA)
    run.step("score", f"mcdm:{table.method}", "Multi-criteria score P(W) = {V, S, M, D} + isolation, compatibility, GPU",
             f"weights {weights}", threshold=table.weights_basis, source="derived",
             ahp_consistency_ratio=table.ahp_cr)
    if evidence is not None:
        if table.measured:
            per_runtime: dict[str, list[str]] = {}
            origins = set()
            for rid, crit, m in table.measured:
                cell = table.cells[rid][crit]
                per_runtime.setdefault(rid, []).append(f"{crit} {cell.value:.3g} {cell.unit} (n={m.n})")
                origins.add((m.host or "?", (m.date or "?")[:19]))
            where = "; ".join(f"host {h}, {d}" for h, d in sorted(origins))
            parts = [f"{rid} via {next(m.runtime for r, _, m in table.measured if r == rid)}: {', '.join(v)}"
                     for rid, v in per_runtime.items()]
            mixed = []
            for crit in ("V", "S", "M", "D"):
                measured = sorted({r for r, c, _ in table.measured if c == crit})
                if measured and len(measured) < len(table.runtimes):
                    claimed = sorted(set(table.runtimes) - set(measured))
                    mixed.append(f"{crit}: measured {', '.join(measured)}, claimed/derived {', '.join(claimed)}")
            answer = f"{where}: " + "; ".join(parts)
            if mixed:
                answer += (" | note: measurements (this node's test workload) and claims (the sources' workloads) "
                           "are mixed within a criterion — " + "; ".join(mixed))
            run.step("evidence", "evidence", "Which criterion values come from measurements on this node?",
                     answer, source="measured",
                     measurements=[{"runtime": r, "criterion": c, "backend": m.runtime, "metric": m.metric, "value": m.value,
                                    "unit": m.unit, "host": m.host, "n": m.n, "date": m.date, "run_id": m.run_id,
                                    "emulated": m.emulated} for r, c, m in table.measured],
                     notes=list(table.notes), mixed=mixed)
        else:
            run.step("evidence", "evidence", "Which criterion values come from measurements on this node?",
                     "none of the stored measurements maps to a scored criterion; claims are used", source="measured",
                     notes=list(table.notes))


def _choose(run: _Run, table: ScoreTable, eligible: set[str], rule_choice: str, rule_name: str,
            case: s.Case | None, g_strong: s.Guidance | None) -> str:
    kb = run.kb
    family = kb.runtime(rule_choice).family
    same_family = [r for r in eligible if kb.runtime(r).family == family]
    if same_family:
        # Within the family the rules chose, the score picks (the rules' own runtime wins ties).
        best = max(same_family, key=lambda r: (ranking_key(table, r), r == rule_choice))
        how = "the rules' choice" if best == rule_choice else f"scores higher than {rule_choice} in the same family"
        src, text = run.rule_texts.get(rule_name, ("derived", rule_name))
        if best != rule_choice:
            text += f"; within that family {best} scores higher than {rule_choice}"
        run.decided_by = (rule_name, src, text)
        run.step("score", "choose", f"Which runtime of family '{family}' (from {rule_name})?",
                 f"{best} ({how}; score {ranking_key(table, best):.3f})", source="derived",
                 candidates={r: ranking_key(table, r) for r in sorted(same_family)})
        return best
    fallbacks: list[tuple[str, str]] = []
    if case is not None:
        fallbacks.append((case.alternative_runtime, f"{case.id} alternative ({case.alternative})"))
    for g in kb.tree.guidance_2025:
        if g.when.get("scenario") == run.w.scenario.value:
            fallbacks.append((g.fallback, f"{g.id} fallback"))
    if g_strong is not None:
        fallbacks += [(g_strong.first, f"{g_strong.id} first choice"), (g_strong.fallback, f"{g_strong.id} second choice")]
    for rid, why in fallbacks:
        if rid in eligible:
            src = "S-cases" if why.startswith("case") else "S-select"
            run.decided_by = (why.split(" ")[0], src, f"{rule_choice} ({rule_name}) is ruled out, and the sources' fallback is {rid} ({why})")
            run.step("guard", "fallback", f"{rule_choice} ({rule_name}) is excluded; which fallback?",
                     f"{rid} ({why})", source="S-cases" if why.startswith("case") else "S-select")
            return rid
    best = max(eligible, key=lambda r: (ranking_key(table, r), -len(r)))
    run.decided_by = ("score", "derived", f"{rule_choice} ({rule_name}) is ruled out; {best} scores best of what the sources' rules leave")
    run.step("score", "fallback", f"{rule_choice} ({rule_name}) is excluded; best-scored remaining candidate?",
             f"{best} (score {ranking_key(table, best):.3f} among {', '.join(sorted(eligible))})", source="derived")
    return best


def _check_slo(run: _Run, table: ScoreTable, chosen: str) -> None:
    """Say whether the choice's start time (claimed or measured) meets the SLO; never silently."""
    slo = run.w.cold_start_slo_ms
    if slo is None:
        return
    cell = table.cells[chosen]["S"]
    origin = (f"claim {cell.claim.id} [{cell.claim.source}]" if cell.claim else
              f"measured by {cell.measurement.runtime} on {cell.measurement.host}, n={cell.measurement.n}" if cell.measurement else
              f"derived: {cell.basis}")
    meets = cell.value < slo
    better = sorted(r for r, c in table.cells.items() if c["S"].value < slo)
    answer = f"{chosen} {'meets' if meets else 'misses'} it: {cell.value:g} ms ({origin})"
    if not meets:
        answer += (f"; the rules above decided, runtimes whose start time meets the SLO: {', '.join(better)}" if better
                   else "; no candidate's start time meets it")
    run.step("guard", "check:slo", f"Does the chosen runtime meet the cold-start SLO of {slo:g} ms?", answer,
             threshold=f"cold start < {slo:g} ms", source=cell.claim.source if cell.claim else ("measured" if cell.measurement else "derived"))
    if cell.claim:
        run.use_claims(cell.claim.id)


def _alternatives(kb: KnowledgeBase, w: Facts, table: ScoreTable, allowed: set[str], eligible: set[str], chosen: str,
                  case: s.Case | None, mesh: bool, excluded: dict[str, str]) -> tuple[Alternative, ...]:
    def key(r: str) -> tuple[int, int, float]:
        return (0 if r == chosen else 1, 0 if r in eligible else 1, -ranking_key(table, r))

    out = []
    for rank, rid in enumerate(sorted(kb.runtimes, key=key), start=1):
        out.append(Alternative(
            runtime=rid,
            score=table.scores[rid],
            rank=rank,
            contributions=table.contributions[rid],
            architecture=architecture_for(kb, w, rid, case, mesh),
            excluded=None if rid in eligible else excluded.get(rid, "excluded by a constraint"),
            topsis=None if table.topsis[rid] != table.topsis[rid] else table.topsis[rid],  # NaN is not JSON
            values={c: dict(table.described[rid][c]) for c in CRITERIA},  # copies: a Decision owns its dicts
        ))
    return tuple(out)


# ---------------------------------------------------------------------------- caches (fast path)

_TABLE_CACHE_SIZE = 64  # (scenario, evidence, preferences) combinations kept per knowledge base


def _max_rank(kb: KnowledgeBase) -> int:
    return max(kb.isolation_rank(r) for r in kb.runtimes)


def _freeze(obj: Any) -> Any:
    """A hashable stand-in for the preferences mapping (TypeError when it holds something odd)."""
    if isinstance(obj, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in obj.items()))
    if isinstance(obj, (list, tuple)):
        return tuple(_freeze(v) for v in obj)
    hash(obj)
    return (type(obj).__name__, obj)


def _cached_score(ctx: _Ctx, scenario: str, ignore: tuple[str, ...] = ()) -> ScoreTable:
    """``score(kb, scenario, evidence, preferences)``, cached on the knowledge base.

    The evidence is keyed by identity (the object is kept in the entry, so the id cannot be reused
    while the entry lives): callers pass the same Evidence for a run of decisions. Errors (bad
    preferences) are raised every time, never cached.
    """
    try:
        prefs = _freeze(ctx.preferences or {})
    except TypeError:
        return score(ctx.kb, scenario, ctx.evidence, ctx.preferences, ignore)
    cache = ctx.kb.derived.setdefault("decide.score", OrderedDict())
    key = (scenario, id(ctx.evidence), prefs, ignore)
    hit = cache.get(key)
    # Each OrderedDict operation is atomic; a concurrent caller (the web API's threads) may evict
    # the same entry between two of them, which only costs a recomputation.
    if hit is not None and hit[0] is ctx.evidence:
        try:
            cache.move_to_end(key)
        except KeyError:
            pass
        return hit[1]  # type: ignore[no-any-return]
    table = score(ctx.kb, scenario, ctx.evidence, ctx.preferences, ignore)
    cache[key] = (ctx.evidence, table)
    while len(cache) > _TABLE_CACHE_SIZE:
        try:
            cache.popitem(last=False)
        except KeyError:
            break
    return table


def clear_caches(kb: KnowledgeBase | None = None) -> None:
    """Forget the fast path's per-knowledge-base caches (benchmarks use it for cold timings)."""
    (kb or load()).derived.clear()
