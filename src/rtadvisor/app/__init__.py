"""The application layer: rtadvisor's use cases as typed functions, called by both front ends.

The CLI (option parsing + rich rendering) and the web API (routing + JSON) import only this
package, :mod:`rtadvisor.model` and :mod:`rtadvisor.errors`, so the same question gets the same
answer from both: ``doctor --symptom X --json`` and ``GET /api/doctor?symptom=X`` are one
:func:`diagnose` call.

>>> from rtadvisor import app
>>> decision = app.recommend(app.parse_workload({"name": "gw", "scenario": "edge"}, source="example"))
>>> bundle = app.generate(decision)         # the RuntimeClass, containerd entries, notes ...

The knowledge base's record types (``Runtime``, ``RoutesFile``, ...) are validated where they are
defined (``kb/schema.py``) and re-exported here rather than copied into ``model``.

Every function raises only the project's exceptions (:mod:`rtadvisor.errors`); ``field`` on an
error names the input at fault.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rtadvisor.lazy import submodule_attributes

# Every use case is imported on first use (PEP 562): a command pays only for the modules it calls --
# ``recommend`` does not define the bench's, the doctor's or the fleet's result types (~45 ms of
# pydantic classes at every start, see rtadvisor.model).
_NAMES: dict[str, str] = {
    "CasesFile": "knowledge",
    "ChainStep": "knowledge",
    "Coordinate": "knowledge",
    "FleetDisagreement": "fleet",
    "FleetFigure": "fleet",
    "FleetNode": "fleet",
    "FleetNodeRuntime": "fleet",
    "FleetPool": "fleet",
    "FleetReport": "fleet",
    "FleetRuntime": "fleet",
    "Observability": "knowledge",
    "RULEBOOKS": "decisions",
    "RoutesFile": "knowledge",
    "Runtime": "knowledge",
    "RuntimeDetail": "knowledge",
    "ScenarioTables": "knowledge",
    "ScenariosFile": "knowledge",
    "ScoredValue": "knowledge",
    "TimelineEvent": "knowledge",
    "agent": "fleet",
    "backend_names": "bench",
    "chain_path": "knowledge",
    "check_backends": "bench",
    "check_claims": "evidence",
    "claim_rule": "evidence",
    "claim_text": "knowledge",
    "claims": "knowledge",
    "claims_vs_measurements": "evidence",
    "compare_runs": "evidence",
    "coordinates": "knowledge",
    "decision_tree": "knowledge",
    "diagnose": "deploy",
    "doctor": "deploy",
    "fleet_report": "fleet",
    "generate": "deploy",
    "generate_fleet": "fleet",
    "isolation_overhead": "evidence",
    "knowledge_base": "knowledge",
    "list_runs": "evidence",
    "load_evidence": "evidence",
    "load_pool_evidence": "fleet",
    "load_workload": "decisions",
    "network": "knowledge",
    "network_summary": "knowledge",
    "observability": "knowledge",
    "order_verdicts": "evidence",
    "parse_decision": "decisions",
    "parse_duration": "fleet",
    "parse_preference_pairs": "decisions",
    "parse_workload": "decisions",
    "prepare": "bench",
    "presets": "decisions",
    "recommend": "decisions",
    "routes": "knowledge",
    "runtime": "knowledge",
    "runtimes": "knowledge",
    "scenarios": "knowledge",
    "show_run": "evidence",
    "table_names": "knowledge",
    "tables": "knowledge",
    "timeline": "knowledge",
    "troubleshoot": "knowledge",
    "write_bundle": "deploy",
}
if TYPE_CHECKING:
    from .bench import (
        backend_names,
        check_backends,
        prepare,
    )
    from .decisions import (
        RULEBOOKS,
        load_workload,
        parse_decision,
        parse_preference_pairs,
        parse_workload,
        presets,
        recommend,
    )
    from .deploy import (
        diagnose,
        doctor,
        generate,
        write_bundle,
    )
    from .evidence import (
        check_claims,
        claim_rule,
        claims_vs_measurements,
        compare_runs,
        isolation_overhead,
        list_runs,
        load_evidence,
        order_verdicts,
        show_run,
    )
    from .fleet import (
        FleetDisagreement,
        FleetFigure,
        FleetNode,
        FleetNodeRuntime,
        FleetPool,
        FleetReport,
        FleetRuntime,
        agent,
        fleet_report,
        generate_fleet,
        load_pool_evidence,
        parse_duration,
    )
    from .knowledge import (
        CasesFile,
        ChainStep,
        Coordinate,
        Observability,
        RoutesFile,
        Runtime,
        RuntimeDetail,
        ScenariosFile,
        ScenarioTables,
        ScoredValue,
        TimelineEvent,
        chain_path,
        claim_text,
        claims,
        coordinates,
        decision_tree,
        knowledge_base,
        network,
        network_summary,
        observability,
        routes,
        runtime,
        runtimes,
        scenarios,
        table_names,
        tables,
        timeline,
        troubleshoot,
    )


__getattr__ = submodule_attributes(__name__, _NAMES)


def version() -> str:
    """The installed rtadvisor version (``0+unknown`` when run from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("rtadvisor")
    except PackageNotFoundError:  # pragma: no cover
        return "0+unknown"


__all__ = [
    "RULEBOOKS",
    "CasesFile",
    "ChainStep",
    "Coordinate",
    "FleetDisagreement",
    "FleetFigure",
    "FleetNode",
    "FleetNodeRuntime",
    "FleetPool",
    "FleetReport",
    "FleetRuntime",
    "Observability",
    "RoutesFile",
    "Runtime",
    "RuntimeDetail",
    "ScenarioTables",
    "ScenariosFile",
    "ScoredValue",
    "TimelineEvent",
    "agent",
    "backend_names",
    "chain_path",
    "check_backends",
    "check_claims",
    "claim_rule",
    "claim_text",
    "claims",
    "claims_vs_measurements",
    "compare_runs",
    "coordinates",
    "decision_tree",
    "diagnose",
    "doctor",
    "fleet_report",
    "generate",
    "generate_fleet",
    "isolation_overhead",
    "knowledge_base",
    "list_runs",
    "load_evidence",
    "load_pool_evidence",
    "load_workload",
    "network",
    "network_summary",
    "observability",
    "order_verdicts",
    "parse_decision",
    "parse_duration",
    "parse_preference_pairs",
    "parse_workload",
    "prepare",
    "presets",
    "recommend",
    "routes",
    "runtime",
    "runtimes",
    "scenarios",
    "show_run",
    "table_names",
    "tables",
    "timeline",
    "troubleshoot",
    "version",
    "write_bundle",
]
