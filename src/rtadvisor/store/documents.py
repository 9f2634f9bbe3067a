"""Reading bench result documents: version check, the version-1 upgrade, one-line errors.

A document says which schema it follows (``schema_version``). Like pyperf with its JSON files, a
reader refuses a version newer than the one it knows instead of guessing ("upgrade rtadvisor");
an older version is upgraded here, in one place:

* version 1 (rtadvisor before the typed result; no ``schema_version`` key): ``host`` became
  ``node``, the flat memory fields became ``memory``, ``density`` and every statistic became typed
  objects, ``kb_runtime`` is recomputed from the registry (version 1 recorded ``kata`` for the
  micro-VM as if it were Kata). Figures a version-1 document did not record stay empty (None):
  nothing is made up.
* version 2 (the typed result with *reserved* ``isolation``/``overhead`` sections: generic metric
  maps that no release filled): the sections became the measurement's own models in version 3.
  A version-2 section keeps its runtime, status, reason and method; its generic metrics are not
  carried over (their names are listed in the section's ``notes``); ``options.isolation`` /
  ``options.overhead`` say whether the run had such sections at all.

>>> run = read_bench_run(open("run.json").read(), source="run.json")   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from rtadvisor.errors import StoreError
from rtadvisor.model import BENCH_SCHEMA_VERSION, BenchResult, BenchRun, primary_runtime, stand_ins

_STAT_KEYS = ("n", "p50", "min", "p95", "max", "mean", "ci_low", "ci_high", "ci_level", "ci_method")
_POINT_KEYS = ("n", "pss_mb", "mem_available_drop_mb", "processes", "tasks")
_DENSITY_KEYS = ("value", "bound_by", "memory", "max_pods", "pids", "mem_available_mb", "per_instance_mb",
                 "tasks_per_instance", "pid_limit")


def _validation_text(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "document"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err.get('msg', 'invalid')}{more}"


def document_version(data: Mapping[str, Any], source: str = "bench result") -> int:
    """The document's schema version (1 when the key is absent: documents before versioning)."""
    version = data.get("schema_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise StoreError(f"{source}: schema_version: expected a positive integer, got {version!r}")
    if version > BENCH_SCHEMA_VERSION:
        raise StoreError(f"{source}: bench result schema version {version} is newer than this rtadvisor "
                         f"understands ({BENCH_SCHEMA_VERSION}): upgrade rtadvisor to read it")
    return version


def read_bench_run(data: Mapping[str, Any] | str | bytes, source: str = "bench result") -> BenchRun:
    """A :class:`BenchRun` from a ``bench --json`` document (a mapping or its JSON text), upgrading
    older versions; :class:`StoreError` with one line naming ``source`` and the field otherwise."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise StoreError(f"{source}: not JSON: {exc}") from exc
    if not isinstance(data, Mapping):
        raise StoreError(f"{source}: expected a JSON object (a bench run), got {type(data).__name__}")
    version = document_version(data, source)
    if version == 1:
        data = upgrade_v1(data)
        version = 2
    if version == 2:
        data = upgrade_v2(data)
    try:
        return BenchRun.model_validate(data)
    except ValidationError as exc:
        raise StoreError(f"{source}: {_validation_text(exc)}") from exc


def read_bench_result(data: Mapping[str, Any], version: int, source: str = "stored result") -> BenchResult:
    """One backend's result as stored in a run of the given document version."""
    if version > BENCH_SCHEMA_VERSION:
        raise StoreError(f"{source}: bench result schema version {version} is newer than this rtadvisor "
                         f"understands ({BENCH_SCHEMA_VERSION}): upgrade rtadvisor to read it")
    if version == 1:
        data = _upgrade_result_v1(data)
        version = 2
    if version == 2:
        data = _upgrade_result_v2(data)
    try:
        return BenchResult.model_validate(data)
    except ValidationError as exc:
        raise StoreError(f"{source}: {_validation_text(exc)}") from exc


# ------------------------------------------------------------------------------- version 1 -> 2


def _pick(source: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: source[k] for k in keys if k in source and source[k] is not None}


def _stats_v1(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping) or value.get("p50") is None:
        return None
    stats = _pick(value, _STAT_KEYS)
    stats.setdefault("n", 1)
    return stats


def _points_v1(value: Any) -> list[dict[str, Any]]:
    points = []
    for p in value or ():
        if isinstance(p, Mapping) and all(p.get(k) is not None for k in _POINT_KEYS):
            points.append(_pick(p, _POINT_KEYS))
    return points  # points a hand-written document left incomplete are dropped, not filled in


def _upgrade_result_v1(r: Mapping[str, Any]) -> dict[str, Any]:
    name = str(r.get("runtime") or "")
    out: dict[str, Any] = {
        "runtime": name, "available": bool(r.get("available")),
        "kb_runtime": primary_runtime(name), "stands_for": [s.model_dump() for s in stand_ins(backend=name)],
    }
    out.update(_pick(r, ("reason", "error", "family", "binary", "version", "emulated", "workload",
                         "first_run_ms", "artifact_bytes")))
    out["notes"] = list(r.get("notes") or ())
    out["cold_start_stages"] = list(r.get("cold_start_stages") or ())
    out["samples_ms"] = list(r.get("samples_ms") or ())
    for key in ("cold_start_ms", "cpu_ms"):
        stats = _stats_v1(r.get(key))
        if stats is not None:
            out[key] = stats
    stages = {str(k): s for k, v in (r.get("stages") or {}).items() if (s := _stats_v1(v)) is not None}
    if stages:
        out["stages"] = stages
    if r.get("pss_mb") is not None:
        memory = _pick(r, ("pss_mb", "per_instance_mb", "per_instance_fit_r2", "per_instance_mb_memavailable",
                           "per_instance_mb_process"))
        memory["sweep"] = _points_v1(r.get("memory_sweep"))
        memory["packed_sweep"] = _points_v1(r.get("packed_sweep"))
        capped = (r.get("labels") or {}).get("sweep_capped")
        if capped:
            memory["capped"] = str(capped)
        out["memory"] = memory
    density = r.get("density")
    if isinstance(density, Mapping) and density.get("value") is not None and density.get("bound_by"):
        out["density"] = _pick(density, _DENSITY_KEYS)
    labels = {str(k): v for k, v in (r.get("labels") or {}).items()
              if isinstance(v, (str, bool, int, float)) and k != "sweep_capped"}
    out["labels"] = labels
    out["method"] = {str(k): str(v) for k, v in (r.get("method") or {}).items()}
    return out


def upgrade_v1(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A version-1 document (``host``, flat figures) as a version-2 one (then upgraded to the current)."""
    raw_host = doc.get("host")
    host: Mapping[str, Any] = raw_host if isinstance(raw_host, Mapping) else {}
    hostname = str(host.get("hostname") or "unknown")
    kvm = host.get("kvm")
    node: dict[str, Any] = {
        "hostname": hostname, "node_name": hostname, "kvm": "absent" if kvm == "absent" else "unknown",
        "runtime_versions": {str(k): str(v) for k, v in (host.get("versions") or {}).items()},
    }
    for old, new in (("kernel", "kernel"), ("os", "os"), ("cpu", "cpu_model"), ("python", "python")):
        if host.get(old) is not None:
            node[new] = str(host[old])
    for key in ("cpus", "mem_total_mb"):
        if isinstance(host.get(key), int):
            node[key] = host[key]
    raw_options = doc.get("options")
    options: Mapping[str, Any] = raw_options if isinstance(raw_options, Mapping) else {}
    runs = options.get("runs") if isinstance(options.get("runs"), int) and options.get("runs", 0) >= 1 else 30
    settings: dict[str, Any] = {"max_runs": runs, "min_runs": runs, "ci_target_pct": None, "time_budget_s": None,
                                "budget_s": None}
    settings.update(_pick(options, ("warmups", "sweep", "pack_sweep", "max_pods", "workload")))
    results = [_upgrade_result_v1(r) for r in doc.get("results") or () if isinstance(r, Mapping)]
    started = str(host.get("date") or "1970-01-01T00:00:00+00:00")
    run_id = doc.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        # Derived from the content, so the same version-1 document stored twice is one run.
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:12]
        stamp = "".join(ch for ch in started[:19] if ch.isdigit())
        run_id = f"{stamp[:8]}T{stamp[8:14]}Z-{digest}" if len(stamp) >= 14 else f"v1-{digest}"
    return {
        "schema_version": 2, "run_id": run_id, "started": started,
        "node": node, "options": settings, "results": results,
    }


# ------------------------------------------------------------------------------- version 2 -> 3

_SECTION_STATUSES = ("measured", "not measurable", "not supported", "error")


def _upgrade_section_v2(section: Any, runtime: str) -> dict[str, Any] | None:
    if not isinstance(section, Mapping):
        return None
    status = section.get("status") if section.get("status") in _SECTION_STATUSES else "measured"
    out: dict[str, Any] = {"runtime": runtime, "status": status, "method": str(section.get("method") or "")}
    if section.get("reason"):
        out["reason"] = str(section["reason"])
    elif status != "measured":
        out["reason"] = "no reason recorded (version-2 document)"
    metrics = section.get("metrics")
    names = sorted(str(k) for k in metrics) if isinstance(metrics, Mapping) else []
    if names:
        out["notes"] = [(f"upgraded from a version-2 document: its generic metrics ({', '.join(names)}) are not "
                        "carried over")]
    return out


def _upgrade_result_v2(r: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(r)
    runtime = str(r.get("runtime") or "")
    for key in ("isolation", "overhead"):
        out[key] = _upgrade_section_v2(r.get(key), runtime)
    return out


def upgrade_v2(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A version-2 document as a version-3 one: the reserved sections in the measurement's shape,
    and options saying whether the run measured isolation/overhead at all."""
    results = [_upgrade_result_v2(r) if isinstance(r, Mapping) else r for r in doc.get("results") or ()]
    raw_options = doc.get("options")
    options = dict(raw_options) if isinstance(raw_options, Mapping) else {}
    for key in ("isolation", "overhead"):
        options.setdefault(key, any(isinstance(r, Mapping) and r.get(key) is not None for r in results))
    return {**doc, "schema_version": BENCH_SCHEMA_VERSION, "options": options, "results": results}
