"""Regenerate the sources' comparison tables from the knowledge base (pure; used by CLI and web).

Each table is a :class:`KbTable` (title, source, columns, rows of strings) so that the CLI can
render it with rich and ``--json`` can print it as is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rtadvisor.model import Claim

from .loader import KnowledgeBase


@dataclass(frozen=True)
class KbTable:
    name: str
    title: str
    source: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rows"] = [dict(zip(self.columns, r, strict=True)) for r in self.rows]
        d["columns"] = list(self.columns)
        return d


def claim_text(c: Claim) -> str:
    """A claim's number as the source states it: ``6 ms``, ``1000-5000 ms``, ``< 10 ms``, ``> 98 %``."""
    if c.value is not None:
        v = f"{c.value:g}"
    elif c.low is not None and c.high is not None:
        v = f"{c.low:g}-{c.high:g}"
    elif c.high is not None:
        v = f"< {c.high:g}"
    else:
        v = f"> {c.low:g}"
    unit = c.unit if c.unit.startswith("/") else f" {c.unit}"
    return f"{v}{unit}"


def _claims_text(kb: KnowledgeBase, subject: str, metric: str) -> str:
    # Only the runtime table's own figures (case outcomes are listed with the claims table).
    cs = [c for c in kb.claims_for(subject, metric)
          if c.source == "S-select" and c.conditions.startswith(("runtime table", "alpine", "WasmEdge 0.14.1"))]
    parts = []
    for c in cs:
        note = "" if c.conditions == "runtime table" else f" ({c.conditions.removeprefix('runtime table, ').replace('WasmEdge ', '')})"
        parts.append(claim_text(c) + note)
    return "; ".join(parts) or "-"


def runtime_table(kb: KnowledgeBase) -> KbTable:
    rows = []
    for r in kb.runtimes.values():
        rows.append((
            r.id, r.what, f"{r.isolation_layer} {r.isolation_kind}",
            _claims_text(kb, r.id, "cold_start"), _claims_text(kb, r.id, "memory"),
            f"{r.isolation}/5" + (" (derived)" if r.isolation_rating.source == "derived" else ""),
            r.gpu.support, r.compatibility.support, r.ecosystem.support,
        ))
    return KbTable("runtimes", "Candidate runtimes", "S-select (derived where marked)",
                   ("id", "what", "isolation layer", "claimed cold start", "claimed memory", "isolation", "GPU",
                    "compatibility", "ecosystem"), tuple(rows))


def scenario_matrix(kb: KnowledgeBase) -> KbTable:
    rows = tuple((r.label, r.resource_constrained, r.fast_start, r.strong_isolation, r.gpu, r.recommended_label)
                 for r in kb.scenarios.rows)
    return KbTable("scenarios", "Scenario matrix", kb.scenarios.source,
                   ("scenario", "resource-constrained", "fast start", "strong isolation", "GPU", "recommended"), rows)


def case_table(kb: KnowledgeBase) -> KbTable:
    rows = tuple((c.category, ", ".join(c.traits), c.device_access, c.kernel_features, c.architecture, c.alternative,
                  ", ".join(c.key_factors), ", ".join(c.dimensions)) for c in kb.cases.cases)
    return KbTable("cases", "Architecture cases", kb.cases.source,
                   ("category", "core traits", "device access", "kernel features", "recommended architecture",
                    "alternative", "key factors", "argument dimensions"), rows)


def route_table(kb: KnowledgeBase) -> KbTable:
    rows = tuple((f"{r.id} {r.name}", r.starts, r.rootfs, r.yaml_change, ", ".join(r.for_), f"{r.maturity}/5")
                 for r in kb.routes.routes)
    return KbTable("routes", "Wasm integration routes", kb.routes.source,
                   ("route", "how it starts", "rootfs", "YAML change", "for", "maturity"), rows)


def route_choice_table(kb: KnowledgeBase) -> KbTable:
    rows = tuple((r.id, ", ".join(f"{k} in {'/'.join(v)}" for k, v in r.when.items()) or "otherwise",
                  r.route + (f" (or {', '.join(r.also)})" if r.also else ""), r.text) for r in kb.routes.selection)
    return KbTable("route-choice", "Route choice R*(S), first match wins", kb.routes.source,
                   ("rule", "when", "route", "source text"), rows)


def performance_claims(kb: KnowledgeBase) -> KbTable:
    """Alpine container vs WasmEdge + crun (S-wasm), with the stated ratios."""
    rows = []
    for metric, ratio_metric in (("image_size", "image_size_improvement"), ("cold_start", "speedup"),
                                 ("memory", "memory_improvement"), ("density", "density_improvement"),
                                 ("cpu_spike", "cpu_spike_improvement")):
        alpine = next((c for c in kb.claims_for("alpine-container", metric) if c.source == "S-wasm"), None)
        wasm = next((c for c in kb.claims_for("wasmedge-crun", metric) if c.source == "S-wasm" and c.value is not None
                     and not c.conditions.startswith(("serverless", "edge", "production"))), None)
        ratio = next((c for c in kb.claims_for("wasmedge-crun", ratio_metric) if c.source == "S-wasm"), None)
        if alpine and wasm:
            rows.append((metric, claim_text(alpine), claim_text(wasm), claim_text(ratio) if ratio else "-",
                         f"{alpine.id}, {wasm.id}" + (f", {ratio.id}" if ratio else "")))
    return KbTable("performance", "Performance claims: alpine container vs WasmEdge + crun", "S-wasm",
                   ("metric", "alpine container", "WasmEdge + crun", "stated ratio", "claims"), tuple(rows))


def claims_table(kb: KnowledgeBase) -> KbTable:
    rows = tuple((c.id, c.subject, c.metric, claim_text(c), c.conditions, c.source) for c in kb.claims)
    return KbTable("claims", "All numeric claims", "S-select, S-cases, S-wasm",
                   ("id", "subject", "metric", "value", "conditions", "source"), rows)


def troubleshooting_table(kb: KnowledgeBase) -> KbTable:
    rows = tuple((e.symptom, e.root_cause, e.fix) for e in kb.troubleshooting.entries)
    return KbTable("troubleshooting", "Troubleshooting", kb.troubleshooting.source, ("symptom", "root cause", "fix"), rows)


def practice_rules(kb: KnowledgeBase) -> KbTable:
    """The practice rulebook, rule by rule: scope, action, the sources' rules it narrows, citations."""
    rows = []
    for r in kb.practice.rules:
        act = []
        if r.exclude_unusable:
            act.append("exclude what the measured nodes cannot run")
        if r.require_executes_artifact:
            act.append("only runtimes that execute the artifact")
        if r.require:
            act.append("require " + ", ".join([*r.require.families, *r.require.runtimes]))
        if r.exclude:
            act.append("exclude " + ", ".join([*r.exclude.families, *r.exclude.runtimes]))
        if r.prefer:
            act.append("prefer " + " > ".join(r.prefer))
        if r.steps and not act:
            act.append("next steps only")
        when = ", ".join(f"{k}: {v}" for k, v in r.when.items()) or "always"
        rows.append((r.id, r.title, when, "; ".join(act), ", ".join(r.narrows) or "-",
                     "; ".join(c.title + (f" <{c.url}>" if c.url else "") for c in r.cite)))
    return KbTable("practice", "The practice rulebook (default): current upstream practice", "practice",
                   ("rule", "title", "applies when", "does", "narrows (sources)", "cites"), tuple(rows))


TABLES = {
    "runtimes": runtime_table,
    "scenarios": scenario_matrix,
    "cases": case_table,
    "routes": route_table,
    "route-choice": route_choice_table,
    "performance": performance_claims,
    "claims": claims_table,
    "troubleshooting": troubleshooting_table,
    "practice": practice_rules,
}


def all_tables(kb: KnowledgeBase, names: list[str] | None = None) -> list[KbTable]:
    """The named tables (all when ``names`` is empty), in a stable order."""
    chosen = names or list(TABLES)
    return [TABLES[n](kb) for n in chosen]
