#!/usr/bin/env python3
"""Regenerate the tables of docs/core.md that the engine decides (between <!-- NAME:start/end --> markers):
the practice rules, where the rulebooks differ, and both rulebooks on the examples.

    .venv/bin/python scripts/docs_core_tables.py      # rewrite docs/core.md in place

tests/decide/test_docs_core.py re-decides the same tables, so a stale page fails the tests.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rtadvisor.decide import load_profile, parse_profile, recommend
from rtadvisor.kb import load

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "core.md"

# (label, profile fields) decided by both rulebooks for "where they differ"
DIFFER: list[tuple[str, dict[str, Any]]] = [
    ("trusted API, serverless label", {"scenario": "serverless"}),
    ("small edge service (64 MB, 0.5 CPU), no artifact given", {"scenario": "edge", "memory_mb": 64, "cpu_cores": 0.5}),
    ("fast start wanted (SLO 20 ms), Linux image", {"cold_start_slo_ms": 20, "artifact": "oci-image"}),
    ("USB serial edge gateway, trusted", {"scenario": "edge", "devices": ["serial"], "untrusted_code": False}),
    ("SR-IOV + RDMA HPC job, trusted", {"devices": ["sriov-nic", "rdma"], "untrusted_code": False}),
    ("device plugin / node agent", {"host_access": True, "devices": ["usb"]}),
    ("trusted PyTorch training on a GPU", {"scenario": "dl-training", "gpu": "passthrough"}),
    ("DL training needing another OS", {"scenario": "dl-training", "gpu": "passthrough", "multi_os": True}),
    ("trusted shared-GPU inference (Linux image)", {"scenario": "ai-inference", "gpu": "shared", "artifact": "oci-image"}),
    ("GPU for untrusted tenants, no KVM known", {"gpu": "passthrough", "untrusted_code": True}),
    ("GPU for untrusted tenants on KVM nodes", {"gpu": "passthrough", "untrusted_code": True, "hardware_virtualization": True}),
    ("CI runner for untrusted pull requests", {"untrusted_code": True, "isolation": "strong"}),
    ("... on KVM nodes", {"untrusted_code": True, "isolation": "strong", "hardware_virtualization": True}),
    ("untrusted code with io_uring", {"untrusted_code": True, "kernel_features": ["io_uring"]}),
    ("trusted epoll/io_uring service", {"kernel_features": ["epoll", "io_uring"], "untrusted_code": False}),
    ("multi-tenant SaaS with USB dongles", {"scenario": "enterprise", "devices": ["usb"], "multi_tenant": True}),
    ("Wasm module, production", {"artifact": "wasm", "stage": "production"}),
    ("Spin app", {"artifact": "spin"}),
    ("80 microservices", {"scenario": "microservices", "services": 80}),
]


def _yaml(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, list):
        return "[" + ", ".join(v) + "]"
    return str(v)


def _answer(d: Any) -> str:
    return d.runtime + (f" {d.route}" if d.route else "")


def _when(c: dict[str, Any]) -> str:
    parts = []
    for k, v in c.items():
        if k == "stated":
            parts.append("stated: " + ", ".join(v))
        elif k == "not":
            parts.append("not (" + _when(v) + ")")
        elif isinstance(v, dict):
            op, a = next(iter(v.items()))
            parts.append(f"{k} given" if op == "nonempty" and a else f"{k} has any of {', '.join(a)}" if op == "any"
                         else f"{k} {op} {a}")
        elif isinstance(v, list):
            parts.append(f"{k} in {', '.join(v)}")
        else:
            parts.append(f"{k} = {_yaml(v)}")
    return "; ".join(parts) or "always"


def rules_table() -> str:
    out = ["| rule | applies when | does | narrows (sources) | cites |", "|---|---|---|---|---|"]
    for r in load().practice.rules:
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
            act.append("prefer " + " > ".join(r.prefer) + (" (by score)" if r.by_score else ""))
        if r.steps and not act:
            act.append("next steps only")
        cites = "; ".join(c.title for c in r.cite)
        out.append(f"| {r.id} | {_when(r.when)} | {'; '.join(act)} | {', '.join(r.narrows) or '-'} | {cites} |")
    return "\n".join(out)


def differ_table() -> str:
    out = ["| workload | profile fields | practice | sources | why they differ |", "|---|---|---|---|---|"]
    for label, fields in DIFFER:
        w = parse_profile({"name": "w", **fields})
        p, s = recommend(w), recommend(w, rulebook="sources")
        why = p.reasons[0].rule if p.other_rulebook and p.other_rulebook.differs else "-"
        profile = ", ".join(f"{k}: {_yaml(v)}" for k, v in fields.items())
        out.append(f"| {label} | `{profile}` | {_answer(p)} | {_answer(s)} | {why} |")
    return "\n".join(out)


def examples_table() -> str:
    out = ["| example | practice: runtime, architecture, route | sources: runtime, architecture, route | assumptions that matter (practice) |",
           "|---|---|---|---|"]
    for f in sorted((ROOT / "examples").iterdir()):
        w = load_profile(f)
        a, b = recommend(w), recommend(w, rulebook="sources")

        def fmt(d: Any) -> str:
            return f"{d.runtime}, {d.architecture}" + (f", {d.route}" if d.route else "")

        matters = ", ".join(x.field for x in a.assumptions if x.matters) or "-"
        out.append(f"| {f.name} | {fmt(a)} | {fmt(b)} | {matters} |")
    return "\n".join(out)


TABLES = {"rules": rules_table, "differ": differ_table, "examples": examples_table}


def main() -> None:
    text = DOC.read_text()
    for name, make in TABLES.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(\n<!-- {name}:end -->)", re.S)
        assert pattern.search(text), f"docs/core.md has no <!-- {name}:start/end --> markers"
        table = make()
        text = pattern.sub(lambda m, t=table: m.group(1) + t + m.group(2), text)
    DOC.write_text(text)


if __name__ == "__main__":
    main()
