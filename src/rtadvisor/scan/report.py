"""Scan reports: JSON object, rich table, SARIF 2.1.0 (for code-scanning UIs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal
from urllib.parse import quote

from rtadvisor import __version__

from .core import Finding, ScanResult
from .reader import Problem

JSON_SCHEMA_VERSION = 1
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

Level = Literal["none", "note", "warning", "error"]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    level: Level
    text: str


# Stable ids: never renumber, only append.
RULES: tuple[Rule, ...] = (
    Rule("RTA001", "runtime-mismatch", "warning", "The workload's runtimeClassName does not select the runtime rtadvisor recommends for its profile."),
    Rule("RTA002", "host-access", "note", "The workload asks for host access (privileged, host namespaces, host capabilities) that the recommended sandbox cannot give."),
    Rule("RTA003", "unknown-runtime-class", "note", "The workload's runtimeClassName is not a RuntimeClass rtadvisor knows."),
    Rule("RTA004", "wasm-annotation-missing", "note", "Route R2 needs the pod annotation module.wasm.image/variant: compat-smart."),
    Rule("RTA005", "not-wasm-artifact", "note", "A Wasm runtime is recommended but the workload ships an OCI Linux image."),
    Rule("RTA006", "wasm-artifact-on-container", "note", "The workload is a Wasm module but a Linux container runtime is recommended (only route R1 can run it)."),
    Rule("RTA101", "invalid-yaml", "error", "The file is not valid YAML; the rest of the file was skipped."),
    Rule("RTA102", "not-kubernetes", "error", "A YAML document is not a Kubernetes object (no apiVersion/kind)."),
    Rule("RTA103", "unknown-kind", "error", "A built-in API group with a kind Kubernetes does not have (often a typo)."),
    Rule("RTA104", "malformed-quantity", "error", "A resource quantity cannot be parsed; the workload was skipped."),
    Rule("RTA105", "invalid-annotation", "error", "An rtadvisor.io/ annotation or label has a value that is not allowed; the workload was skipped."),
    Rule("RTA106", "unreadable", "error", "A path cannot be read (missing, unreadable, not UTF-8)."),
    Rule("RTA107", "no-decision", "error", "The decision engine rejected the inferred profile; the workload was skipped."),
)
RULE_BY_NAME = {r.name: r for r in RULES}
RULE_INDEX = {r.name: i for i, r in enumerate(RULES)}
WARNING_RULES = frozenset(r.name for r in RULES if r.level == "note" and r.id < "RTA100")


# --------------------------------------------------------------------------- JSON


def to_json(result: ScanResult) -> dict[str, Any]:
    """The ``--format json`` document: ``{schema_version, findings, ignored, skipped, summary}``."""
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "findings": [f.as_json() for f in result.findings],
        "ignored": [i.as_json() for i in result.ignored],
        "skipped": [problem_json(p) for p in result.problems],
        "summary": result.summary(),
    }


def problem_json(p: Problem) -> dict[str, Any]:
    return {"file": p.file, "line": p.line, "rule": p.rule, "message": p.message, "kind": p.kind, "name": p.name}


# --------------------------------------------------------------------------- table


def render_table(result: ScanResult, console: Any, fixes: dict[str, Any] | None = None) -> None:
    """Print the human report: one row per workload, then skipped inputs and the summary."""
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False, header_style="bold", expand=False)
    table.add_column("workload", overflow="fold")
    table.add_column("current", overflow="fold")
    table.add_column("recommended", overflow="fold")
    table.add_column("route")
    table.add_column("why", overflow="fold", ratio=1)
    for f in result.findings:
        rec = f.recommended_runtime + (f" ({f.recommended_runtime_class})" if f.recommended_runtime_class else "")
        mark = {"ok": Text("✓ ", style="green"), "choice": Text("~ ", style="cyan")}.get(f.status, Text("✗ ", style="yellow"))
        why = f.reason
        if f.warnings:
            why += "".join(f"\n! {w.rule}: {w.message}" for w in f.warnings)
        if f.fix_note and f.status in ("mismatch", "choice"):
            why += f"\n- {f.fix_note}"
        table.add_row(
            Text.assemble(mark, f"{f.workload}\n", (f"{f.file}:{f.line}", "dim")),
            Text(f.current_runtime_class or "(default)"),
            Text(rec),
            Text(f.route or "-"),
            Text(why),
        )
    if result.findings:
        console.print(table)
    for i in result.ignored:
        console.print(Text(f"ignored {i.kind}/{i.name} at {i.file}:{i.line} ({i.source})", style="dim"))
    for p in result.problems:
        loc = f"{p.file}:{p.line}" if p.line else p.file
        console.print(Text.assemble(("skipped ", "red"), f"{loc}: {p.rule}: {p.message}"), highlight=False)
    s = result.summary()
    console.print(
        Text(f"{s['workloads']} workloads in {s['files']} files: {s['ok']} ok, {s['mismatch']} mismatch, {s['choice']} team choice, "
        f"{s['warnings']} warnings, {s['ignored']} ignored, {s['skipped']} skipped "
        f"({s['other_objects']} other objects; {s['distinct_profiles']} distinct profiles decided)"),
        highlight=False,
    )


# --------------------------------------------------------------------------- SARIF


def _uri(file: str) -> str:
    if file == "<stdin>":
        return "stdin"
    p = PurePath(file)
    uri = quote(p.as_posix(), safe="/:@!$&'()*+,;=-._~")  # a URI reference: spaces etc. percent-encoded
    return "file://" + uri if p.is_absolute() else uri


def _location(file: str, line: int | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(file)}}
    if line:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def _result(
    rule_name: str, message: str, file: str, line: int | None, properties: dict[str, Any] | None = None,
    kind: str | None = None, identity: str | None = None,
) -> dict[str, Any]:
    rule = RULE_BY_NAME[rule_name]
    out: dict[str, Any] = {
        "ruleId": rule.id,
        "ruleIndex": RULE_INDEX[rule_name],
        "level": rule.level if kind is None else "none",
        "message": {"text": message},
        "locations": [_location(file, line)],
    }
    if identity:
        # Stable across edits that move lines, so code-scanning UIs keep one alert per workload.
        out["partialFingerprints"] = {"rtadvisorWorkload/v1": f"{_uri(file)}#{identity}#{rule.id}"}
    if kind is not None:
        out["kind"] = kind
    if properties:
        out["properties"] = properties
    return out


def _finding_results(f: Finding) -> list[dict[str, Any]]:
    props = {
        "workload": f.workload,
        "currentRuntimeClass": f.current_runtime_class,
        "recommendedRuntime": f.recommended_runtime,
        "recommendedRuntimeClass": f.recommended_runtime_class,
        "route": f.route,
        "fixable": f.fixable,
    }
    current = f.current_runtime_class or "(default runc)"
    wanted = f.recommended_runtime_class or "(default runc)"
    if f.status == "mismatch":
        msg = f"{f.workload}: runtimeClassName {current} should be {wanted}: recommended runtime {f.recommended_runtime}" + (f" via route {f.route}" if f.route else "") + f". {f.reason}"
        out = [_result("runtime-mismatch", msg, f.file, f.line, props, identity=f.workload)]
    elif f.status == "choice":
        # The team's own choice of a runtime that isolates at least as well: informational, not a result
        # to fix (SARIF kind "informational", as linters report accepted deviations).
        msg = f"{f.workload}: runtimeClassName {current} is the team's choice ({f.fix_note}); rtadvisor would pick {f.recommended_runtime}. {f.reason}"
        out = [_result("runtime-mismatch", msg, f.file, f.line, props, kind="informational", identity=f.workload)]
    else:
        msg = f"{f.workload}: runtimeClassName {current} selects the recommended runtime {f.recommended_runtime}. {f.reason}"
        out = [_result("runtime-mismatch", msg, f.file, f.line, props, kind="pass", identity=f.workload)]
    for w in f.warnings:
        out.append(_result(w.rule, f"{f.workload}: {w.message}", f.file, f.line, {"workload": f.workload}, identity=f.workload))
    return out


def to_sarif(result: ScanResult) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one run, one result per workload (pass or mismatch), per warning, per skip."""
    results: list[dict[str, Any]] = []
    for f in result.findings:
        results.extend(_finding_results(f))
    for p in result.problems:
        results.append(_result(p.rule, p.message, p.file, p.line))
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "rtadvisor",
                        "version": __version__,
                        "rules": [
                            {
                                "id": r.id,
                                "name": r.name,
                                "shortDescription": {"text": r.text},
                                "defaultConfiguration": {"level": r.level},
                            }
                            for r in RULES
                        ],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
                "properties": {"summary": result.summary()},
            }
        ],
    }
