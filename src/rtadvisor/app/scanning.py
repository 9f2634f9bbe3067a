"""Manifest scan (``rtadvisor scan``): advice for every workload in Kubernetes manifests, its
reports (JSON, SARIF, table) and ``--fix``. The scan area's types are re-exported here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rtadvisor.scan import Finding, ScanResult
from rtadvisor.scan.fix import FileFix


def scan(paths: Sequence[str], rulebook: str = "practice") -> ScanResult:
    """Scan files, directories (``*.yaml``/``*.yml``) or ``-`` (stdin) and judge every workload with
    ``rulebook`` (practice, the default, or sources); unreadable input is recorded as a problem of
    the result, not raised."""
    from rtadvisor.errors import InputError
    from rtadvisor.scan import scan as run
    from rtadvisor.scan.advise import engine

    from .decisions import RULEBOOKS

    if rulebook not in RULEBOOKS:
        raise InputError(f"rulebook: expected one of {', '.join(RULEBOOKS)}, got {rulebook!r}", field="rulebook")
    return run(paths, recommend=engine(rulebook))


def fix(findings: Sequence[Finding], *, dry_run: bool = False, roots: Sequence[str] = ()) -> list[FileFix]:
    """Write ``runtimeClassName`` (and the R2 Wasm annotation) into the scanned files, or with
    ``dry_run`` only compute the unified diffs; nothing outside ``roots`` (the paths given to the
    scan) is ever written."""
    from rtadvisor.scan.fix import fix_files

    return fix_files(findings, dry_run=dry_run, roots=roots)


def report_json(result: ScanResult) -> dict[str, Any]:
    from rtadvisor.scan.report import to_json

    return to_json(result)


def report_sarif(result: ScanResult) -> dict[str, Any]:
    from rtadvisor.scan.report import to_sarif

    return to_sarif(result)


def render_table(result: ScanResult, console: Any) -> None:
    """The human report on a rich console (one row per workload, skipped inputs, the summary)."""
    from rtadvisor.scan.report import render_table as render

    render(result, console)


def warning_rules() -> frozenset[str]:
    """The rules that ``--fail-on warning`` counts."""
    from rtadvisor.scan.report import WARNING_RULES

    return WARNING_RULES
