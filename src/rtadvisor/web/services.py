"""The web layer's view of the engine: one object that calls the other areas.

Each area (knowledge base and decision engine, bench store and claim check, artifact generation,
node doctor) is imported lazily, so the server starts and the page works even when an area is
missing or has no data yet; the routes then answer 503 with a message that says what is missing
(``ServiceUnavailable``). Our own errors (``InputError`` and below) pass through unchanged and are
turned into 4xx answers by the app's exception handlers.
"""

from __future__ import annotations

import importlib
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from rtadvisor.errors import KnowledgeBaseError, StoreError
from rtadvisor.model import Decision, Evidence, Workload

from .convert import graph_to_json, plain
from .errors import NotFound, ServiceUnavailable

PRESETS_FILE = Path(__file__).with_name("presets.yaml")


def _import(module: str, what: str) -> Any:
    """Import one of the other areas' modules, or say that area is not available."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ServiceUnavailable(what, f"module {module} is not installed ({exc})") from exc


def _attr(module: Any, names: tuple[str, ...], what: str) -> Any:
    for name in names:
        fn = getattr(module, name, None)
        if fn is not None:
            return fn
    raise ServiceUnavailable(what, f"{module.__name__} has no {' / '.join(names)}")


class Services:
    """Everything the routes need, bound to one result store (``db``: path or URL, None = default)."""

    def __init__(self, db: str | None = None) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._kb: Any = None

    # ------------------------------------------------------------------ knowledge base

    def kb(self) -> Any:
        """The loaded knowledge base (loaded once per app)."""
        with self._lock:
            if self._kb is None:
                kb_mod = _import("rtadvisor.kb", "knowledge base")
                load = _attr(kb_mod, ("load",), "knowledge base")
                try:
                    self._kb = load()
                except KnowledgeBaseError as exc:
                    raise ServiceUnavailable("knowledge base", str(exc)) from exc
            return self._kb

    def _kb_part(self, *names: str) -> Any:
        kb = self.kb()
        for name in names:
            if hasattr(kb, name):
                value = getattr(kb, name)
                return value() if callable(value) and not hasattr(value, "nodes") else value
        raise ServiceUnavailable("knowledge base", f"it has no {' / '.join(names)}")

    def runtimes(self) -> list[dict[str, Any]]:
        """Every runtime of the knowledge base as a plain dict (with at least ``id``)."""
        value = plain(self._kb_part("runtimes"))
        if isinstance(value, dict):
            return [({"id": k, **v} if isinstance(v, dict) else {"id": k, "value": v}) for k, v in value.items()]
        return list(value)

    def runtime(self, runtime_id: str) -> dict[str, Any]:
        for rt in self.runtimes():
            if rt.get("id") == runtime_id:
                return rt
        known = ", ".join(str(r.get("id")) for r in self.runtimes())
        raise NotFound(f"runtime_id: unknown runtime {runtime_id!r}; known: {known}", field="runtime_id")

    def claims(self) -> list[dict[str, Any]]:
        value = plain(self._kb_part("claims"))
        return list(value.values()) if isinstance(value, dict) else list(value)

    def routes(self) -> Any:
        return plain(self._kb_part("routes"))

    def scenarios(self) -> dict[str, Any]:
        """The S-select scenario matrix and the S-cases case table."""
        kb = self.kb()
        out: dict[str, Any] = {}
        for key, names in (("matrix", ("scenario_matrix", "scenarios")), ("cases", ("cases",))):
            for name in names:
                if hasattr(kb, name):
                    out[key] = plain(getattr(kb, name))
                    break
        return out

    def troubleshooting(self, symptom: str | None) -> list[dict[str, Any]]:
        """Troubleshooting rows as ``{"entry", "score", "source"}``: all of them, or the matches of a symptom."""
        kb = self.kb()
        if symptom:
            finder = getattr(kb, "find_troubleshooting", None)
            if finder is None:
                raise ServiceUnavailable("troubleshooting search", "the knowledge base has no find_troubleshooting")
            return [dict(plain(hit)) for hit in finder(symptom)]
        table = plain(self._kb_part("troubleshooting"))
        entries = table.get("entries", []) if isinstance(table, dict) else table
        source = table.get("source", "S-wasm") if isinstance(table, dict) else "S-wasm"
        return [{"entry": e, "score": None, "source": source} for e in entries]

    def tree(self) -> dict[str, Any]:
        """The decision tree as ``{"nodes": [...], "edges": [...]}`` for drawing."""
        from .tree import normalise_tree

        return normalise_tree(plain(self._kb_part("decision_tree", "tree")))

    def network(self) -> dict[str, Any]:
        """The relation network as nodes and links (with ``group`` for colouring)."""
        from .network import network_json

        return network_json(self.kb())

    # ------------------------------------------------------------------ decisions

    def parse_profile(self, mapping: dict[str, Any]) -> Workload:
        decide = _import("rtadvisor.decide", "decision engine")
        parse = getattr(decide, "parse_profile", None)
        if parse is None:
            return Workload.model_validate(mapping)
        result: Workload = parse(mapping, source="request body")
        return result

    def recommend(self, workload: Workload, use_evidence: bool = False, rulebook: str = "practice") -> Decision:
        """Run the decision engine under ``rulebook``; with ``use_evidence`` score with this node's measurements."""
        decide = _import("rtadvisor.decide", "decision engine")
        recommend = _attr(decide, ("recommend",), "decision engine")
        evidence = self.evidence() if use_evidence else None
        decision: Decision = recommend(workload, kb=self.kb(), evidence=evidence, rulebook=rulebook)
        return decision

    def presets(self) -> list[dict[str, Any]]:
        data = yaml.safe_load(PRESETS_FILE.read_text(encoding="utf-8"))
        presets: list[dict[str, Any]] = data["presets"]
        return presets

    # ------------------------------------------------------------------ bench store

    def _store(self) -> Any:
        return _import("rtadvisor.store", "bench results")

    def evidence(self) -> Evidence:
        store = self._store()
        load = _attr(store, ("load_evidence",), "bench results")
        try:
            evidence: Evidence = load(self.db)
        except StoreError as exc:
            raise ServiceUnavailable("bench results", str(exc)) from exc
        return evidence

    def _open_store(self) -> Any:
        store = self._store()
        opener = getattr(store, "ResultStore", None)
        if opener is None:
            raise ServiceUnavailable("bench results", "rtadvisor.store has no ResultStore")
        try:
            return opener.open(self.db, create=False)
        except StoreError as exc:
            raise ServiceUnavailable("bench results", str(exc)) from exc

    def runs(self) -> list[dict[str, Any]]:
        """Stored bench runs, newest first."""
        store = self._open_store()
        try:
            return list(plain(store.runs()))
        except StoreError as exc:
            raise ServiceUnavailable("bench results", str(exc)) from exc

    def run(self, run_id: str) -> dict[str, Any]:
        """One stored run as its ``bench --json`` document (``latest`` or a unique id prefix work)."""
        store = self._open_store()
        try:
            return dict(plain(store.load_run(run_id)))
        except StoreError as exc:
            if str(exc).startswith("no run") or "ambiguous" in str(exc):
                raise NotFound(f"run_id: {exc}", field="run_id") from exc
            raise ServiceUnavailable("bench results", str(exc)) from exc

    def verdicts(self) -> list[dict[str, Any]]:
        """Every numeric claim with its closest measurement and a verdict, as ``rtadvisor claims --json``."""
        from rtadvisor.bench.claims import check_claims_here

        store = self._open_store()
        try:
            latest = store.latest_results()
        except StoreError as exc:
            raise ServiceUnavailable("bench results", str(exc)) from exc
        return [check.as_dict() for check in check_claims_here(self.kb().claims, latest)]

    # ------------------------------------------------------------------ artifacts and doctor

    def generate(self, decision: Decision) -> list[dict[str, str]]:
        from .artifacts import render_files

        return render_files(decision, db=self.db)

    def doctor(self, symptom: str | None = None) -> dict[str, Any]:
        from .artifacts import run_doctor

        return run_doctor(symptom)

    @cached_property
    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("rtadvisor")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0+unknown"


def _takes_kb(fn: Any) -> bool:
    """Whether ``fn``'s first parameter is a knowledge base (as opposed to a symptom or db path)."""
    import inspect

    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0] in {"kb", "knowledge", "knowledge_base"}


__all__ = ["Services", "graph_to_json"]
