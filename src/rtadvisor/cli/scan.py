"""CLI command: ``rtadvisor scan PATH...`` (see docs/scan.md); the scan itself is ``rtadvisor.app.scanning``.

Exit codes (bits, so a CI job can tell them apart):
  0  all good (or nothing reached the --fail-on threshold)
  1  --fail-on threshold reached (mismatch, or with ``warning`` also any warning)
  2  usage error (bad option) - nothing scanned
  4  some input was skipped (unreadable file, invalid YAML, not Kubernetes, unknown kind,
     malformed quantity, invalid rtadvisor.io/ value) or a --fix could not be applied
  5  = 1 + 4
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

EXIT_THRESHOLD = 1
EXIT_SKIPPED = 4


class Format(str, Enum):
    table = "table"
    json = "json"
    sarif = "sarif"


class FailOn(str, Enum):
    none = "none"
    mismatch = "mismatch"
    warning = "warning"


def register(app: typer.Typer) -> None:
    """Add the ``scan`` command to the main app."""

    @app.command("scan")
    def scan_command(
        paths: Annotated[list[str], typer.Argument(help="Manifest files, directories (searched for *.yaml/*.yml), or - for stdin.", show_default=False)],
        fmt: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] = Format.table,
        fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 on a mismatch, or on any mismatch or warning.")] = FailOn.none,
        fix: Annotated[bool, typer.Option("--fix", help="Write runtimeClassName (and the R2 Wasm annotation) into the files.")] = False,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="With --fix: print the unified diff, write nothing.")] = False,
        rulebook: Annotated[str, typer.Option("--rulebook", help="practice (current upstream practice, default) or sources (the source documents' rules as written).")] = "practice",
    ) -> None:
        """Advise a runtime for every workload in Kubernetes manifests (Pod, Deployment, StatefulSet,
        DaemonSet, ReplicaSet, Job, CronJob)."""
        from rtadvisor.app import scanning
        from rtadvisor.errors import InputError

        from . import common
        from .common import print_json

        if dry_run and not fix:
            raise InputError("--dry-run only makes sense with --fix")
        result = scanning.scan(paths, rulebook=rulebook)

        fixed: set[tuple[str, int, int | None]] = set()
        fix_failed = False
        diffs: list[str] = []
        if fix:
            for outcome in scanning.fix(result.findings, dry_run=dry_run, roots=paths):
                for err in outcome.errors:
                    common.err_console.print(f"rtadvisor: fix: {err}", markup=False, highlight=False)
                    fix_failed = True
                if outcome.changed:
                    diffs.append(outcome.diff)
                    if not dry_run:
                        for change in outcome.changes:
                            common.err_console.print(f"fixed {outcome.file}: {change}", markup=False, highlight=False)
                if outcome.changed and not dry_run:
                    fixed.update((outcome.file, d, i) for d, i in outcome.applied)

        if fix and dry_run:
            sys.stdout.write("".join(diffs))
            s = result.summary()
            common.err_console.print(
                f"{s['workloads']} workloads: {s['mismatch']} mismatch, {s['skipped']} skipped; "
                f"{len(diffs)} files would change (dry run, nothing written)",
                markup=False, highlight=False,
            )
        elif fmt is Format.json:
            print_json(scanning.report_json(result))
        elif fmt is Format.sarif:
            print_json(scanning.report_sarif(result))
        else:
            scanning.render_table(result, common.console)

        # Threshold: findings that --fix has just resolved no longer count.
        remaining = [f for f in result.findings if (f.file, f.doc_index, f.item_index) not in fixed]
        hit = False
        if fail_on is not FailOn.none:
            hit = any(f.status == "mismatch" for f in remaining)
            if fail_on is FailOn.warning:
                warning_rules = scanning.warning_rules()
                hit = hit or any(w.rule in warning_rules for f in remaining for w in f.warnings)
        code = (EXIT_THRESHOLD if hit else 0) | (EXIT_SKIPPED if (result.problems or fix_failed) else 0)
        if code:
            # SystemExit, not typer.Exit: with standalone_mode=False click *returns* Exit's code,
            # which the entry point does not look at.
            raise SystemExit(code)

