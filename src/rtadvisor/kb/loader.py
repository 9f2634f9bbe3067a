"""Load, validate and query the knowledge files."""

from __future__ import annotations

import difflib
import functools
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from rtadvisor.errors import KnowledgeBaseError
from rtadvisor.model import Claim

from . import schema as s

if TYPE_CHECKING:  # networkx is imported lazily: only the network queries need it
    import networkx as nx

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class TroubleshootingHit:
    """One troubleshooting row that matches a symptom, with how well it matched (0..1)."""

    entry: s.TroubleshootingEntry
    score: float
    source: str = "S-wasm"


@dataclass(frozen=True)
class KnowledgeBase:
    """All knowledge files, validated and cross-checked. Immutable; get one with :func:`load`."""

    runtimes: dict[str, s.Runtime]
    claims: tuple[Claim, ...]
    tree: s.TreeFile
    scenarios: s.ScenariosFile
    cases: s.CasesFile
    constraints: s.ConstraintsFile
    conflicts: s.ConflictsFile
    weights: s.WeightsFile
    routes: s.RoutesFile
    network: s.NetworkFile
    troubleshooting: s.TroubleshootingFile
    practice: s.RulebookFile
    files: dict[str, Path] = field(default_factory=dict)
    # Tables computed from the (immutable) files once, by the layers that use them (e.g. the
    # decision engine's score tables). Not part of the knowledge, so not compared or shown.
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # ------------------------------------------------------------------ lookups

    def runtime(self, runtime_id: str) -> s.Runtime:
        """The runtime record for ``runtime_id``; KeyError names the known ids."""
        try:
            return self.runtimes[runtime_id]
        except KeyError:
            raise KeyError(f"unknown runtime {runtime_id!r}; known: {', '.join(self.runtimes)}") from None

    def claim(self, claim_id: str) -> Claim:
        by_id = self.derived.get("claims_by_id")
        if by_id is None:
            by_id = self.derived["claims_by_id"] = {c.id: c for c in reversed(self.claims)}  # first wins, as before
        try:
            return by_id[claim_id]  # type: ignore[no-any-return]
        except KeyError:
            raise KeyError(f"unknown claim {claim_id!r}") from None

    def claims_for(self, subject: str | None = None, metric: str | None = None) -> tuple[Claim, ...]:
        """Claims filtered by subject and/or metric."""
        return tuple(
            c for c in self.claims if (subject is None or c.subject == subject) and (metric is None or c.metric == metric)
        )

    def case(self, case_id: str) -> s.Case:
        for c in self.cases.cases:
            if c.id == case_id:
                return c
        raise KeyError(case_id)

    def conflict(self, conflict_id: str) -> s.ConflictDef:
        for c in self.conflicts.conflicts:
            if c.id == conflict_id:
                return c
        raise KeyError(conflict_id)

    def route(self, route_id: str) -> s.Route:
        for r in self.routes.routes:
            if r.id == route_id:
                return r
        raise KeyError(route_id)

    def isolation_rank(self, runtime_id: str) -> int:
        """The order the engine uses for "more isolation": S-select's 1-5 rating (see CF-isolation-order)."""
        return self.runtime(runtime_id).isolation

    def criterion_value(self, runtime_id: str, metric: str) -> tuple[float, str, Claim | None]:
        """Value of a scoring metric (image_size, cold_start, memory, density) for a runtime.

        Returns ``(value, unit, claim)``; ``claim`` is None when the value is derived (its basis is in
        the runtime record). A claim range without a single value is represented by its midpoint.
        """
        ref: s.CriterionValue = getattr(self.runtime(runtime_id).criteria, metric)
        if ref.claim is None:
            assert ref.value is not None and ref.unit is not None
            return ref.value, ref.unit, None
        c = self.claim(ref.claim)
        return claim_point(c), c.unit, c

    # ------------------------------------------------------------------ troubleshooting

    def find_troubleshooting(self, symptom: str, limit: int = 4, cutoff: float = 0.2) -> list[TroubleshootingHit]:
        """Troubleshooting rows matching a free-text symptom, best first (fuzzy, case-insensitive).

        >>> [h.entry.id for h in load().find_troubleshooting("kubectl logs shows nothing")][:1]
        ['TS-logs-empty']
        """
        words = [w for w in _words(symptom) if w not in _STOPWORDS]
        if not words:
            return []
        hits: list[TroubleshootingHit] = []

        def fuzzy_share(vocab: list[str]) -> float:
            # Share of query words with a close match in ``vocab`` (difflib tolerates typos/plurals).
            found = 0.0
            for w in words:
                best = max((difflib.SequenceMatcher(None, w, v).ratio() for v in vocab), default=0.0)
                found += best if best >= 0.8 else 0.0
            return found / len(words)

        for entry in self.troubleshooting.entries:
            # Curated keywords count most; the symptom and root-cause wording less.
            kw = fuzzy_share(_words(" ".join(entry.keywords)))
            text = fuzzy_share([w for w in _words(f"{entry.symptom} {entry.root_cause}") if w not in _STOPWORDS])
            phrase = 0.3 if any(k.lower() in symptom.lower() for k in entry.keywords if " " in k) else 0.0
            whole = difflib.SequenceMatcher(None, symptom.lower(), entry.symptom.lower()).ratio()
            score = min(1.0, max(0.7 * kw + 0.3 * text + phrase, whole if whole >= 0.6 else 0.0))
            if score >= cutoff:
                hits.append(TroubleshootingHit(entry=entry, score=round(score, 3)))
        hits.sort(key=lambda h: -h.score)
        return hits[:limit]

    # ------------------------------------------------------------------ relation network

    def layer_rank(self, order: str, layer: str) -> int:
        """Position of an isolation layer (``L-0``..``L-4``) in the S-network order; 0 = first group."""
        for i, group in enumerate(self.network.orders[order].groups):  # type: ignore[index]
            if layer in group:
                return i
        raise KeyError(layer)

    def graph(self) -> nx.DiGraph:
        """The relation network as a networkx graph.

        Nodes: layers (D1-D5 / L-*), dimensions A1-A7 and their members, timeline T1-T5, scenarios,
        observability O1-O5. Edges carry ``relation``: ``chain`` (A1 -> A5 ...), ``stronger_isolation``
        / ``equal_isolation``, ``less_overhead``, ``member``, ``next`` (timeline), ``stack`` and
        ``observes``.
        """
        import networkx as nx

        g = nx.DiGraph()
        net = self.network
        for layer in net.layers:
            g.add_node(layer.layer, kind="layer", id=layer.id, name=layer.name, examples=list(layer.examples))
        for name, rel, eq in (("isolation", "stronger_isolation", "equal_isolation"), ("overhead", "less_overhead", "equal_overhead")):
            groups = net.orders[name].groups  # type: ignore[index]
            for a, b in itertools.pairwise(groups):
                for x in a:
                    for y in b:
                        g.add_edge(x, y, relation=rel)
            for grp in groups:
                for x in grp:
                    for y in grp:
                        if x != y:
                            g.add_edge(x, y, relation=eq)
        for d in net.dimensions:
            g.add_node(d.id, kind="dimension", name=d.name, members=list(d.members))
            for m in d.members:
                g.add_node(f"{d.id}:{m}", kind="member", name=m)
                g.add_edge(d.id, f"{d.id}:{m}", relation="member")
        for chain in net.chains:
            for src, dst in itertools.pairwise(chain):
                g.add_edge(src, dst, relation="chain")
        for t, nxt in itertools.pairwise(net.timeline):
            g.add_node(t.id, kind="timeline", year=t.year, event=t.event)
            g.add_node(nxt.id, kind="timeline", year=nxt.year, event=nxt.event)
            g.add_edge(t.id, nxt.id, relation="next")
        for c in net.coordinates:
            g.add_node(f"scenario:{c.scenario}", kind="scenario", stack=c.stack, X=c.X, Y=c.Y, Z=c.Z)
        for o in net.observability.dimensions:
            g.add_node(o.id, kind="observability", name=o.name, tool=o.tool)
        return g

    def chain_path(self, start: str, end: str) -> list[str]:
        """The path from ``start`` to ``end`` along the A1-A7 chains; KeyError if there is none."""
        import networkx as nx

        g = self.graph()
        chain_edges = [(u, v) for u, v, d in g.edges(data=True) if d["relation"] == "chain"]
        sub = nx.DiGraph(chain_edges)
        if start not in sub or end not in sub:
            raise KeyError(f"{start} or {end} is not on a chain ({self._chains_text()})")
        try:
            return list(nx.shortest_path(sub, start, end))
        except nx.NetworkXNoPath:
            raise KeyError(f"no chain leads from {start} to {end} ({self._chains_text()})") from None

    def _chains_text(self) -> str:
        return "; ".join(" -> ".join(c) for c in self.network.chains)


def claim_point(c: Claim) -> float:
    """One number for a claim: its value, else the midpoint of its range, else its single bound."""
    if c.value is not None:
        return c.value
    if c.low is not None and c.high is not None:
        return (c.low + c.high) / 2
    bound = c.high if c.high is not None else c.low
    assert bound is not None
    return bound


_STOPWORDS = frozenset((
    "the", "and", "not", "does", "doesn", "did", "with", "for", "but", "are", "was", "were", "has", "have", "can",
    "cannot", "any", "our", "its", "this", "that", "from", "into", "when", "why", "how", "fails", "failed",
    "failing", "error", "errors",
))


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9_]+", text.lower()) if len(w) > 2 or w.isdigit()]


# ---------------------------------------------------------------------------- loading


# libyaml's safe loader when PyYAML was built with it (the PyPI wheels are): the packaged files are
# parsed on every CLI start, and the pure-Python loader costs ~5x as much.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # a safe loader
    except OSError as exc:
        raise KnowledgeBaseError(f"{path.name}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise KnowledgeBaseError(f"{path.name}:{where} invalid YAML: {getattr(exc, 'problem', exc)}") from exc


def _field_path(raw: Any, loc: tuple[int | str, ...]) -> str:
    """Readable field path for a validation error, naming list items by their ``id`` when they have one."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            item = node[key]
            label = item.get("id") if isinstance(item, dict) else None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{label or key}]"]
            node = item
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts)


def _validate(name: str, raw: Any) -> s._File:
    model = s.FILE_MODELS[name]
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(f"{name}: expected a mapping at top level, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field_path = _field_path(raw, tuple(err["loc"])) or "(top level)"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise KnowledgeBaseError(f"{name}: field '{field_path}': {err['msg']}{more}") from exc


def _check_refs(kb: KnowledgeBase) -> None:
    """Cross-file references: every id a file names must exist in the file that defines it."""
    claim_ids = {c.id for c in kb.claims}
    if len(claim_ids) != len(kb.claims):
        dup = sorted({c.id for c in kb.claims if sum(1 for d in kb.claims if d.id == c.id) > 1})
        raise KnowledgeBaseError(f"claims.yaml: field 'claims[{dup[0]}].id': duplicate claim id")
    rt = kb.runtimes

    def need(cond: bool, file: str, fld: str, msg: str) -> None:
        if not cond:
            raise KnowledgeBaseError(f"{file}: field '{fld}': {msg}")

    for r in rt.values():
        for metric in ("image_size", "cold_start", "memory", "density"):
            ref = getattr(r.criteria, metric)
            if ref.claim is not None:
                need(ref.claim in claim_ids, "runtimes.yaml", f"runtimes[{r.id}].criteria.{metric}.claim", f"unknown claim {ref.claim!r}")
    for n in kb.tree.nodes:
        for branch in ("yes", "no"):
            target = getattr(n, branch)
            if target.startswith("leaf:"):
                need(target[5:] in rt, "tree.yaml", f"nodes[{n.id}].{branch}", f"unknown runtime {target[5:]!r}")
            else:
                need(any(m.id == target for m in kb.tree.nodes), "tree.yaml", f"nodes[{n.id}].{branch}", f"unknown node {target!r}")
        for c in n.claims:
            need(c in claim_ids, "tree.yaml", f"nodes[{n.id}].claims", f"unknown claim {c!r}")
    need(any(m.id == kb.tree.root for m in kb.tree.nodes), "tree.yaml", "root", f"unknown node {kb.tree.root!r}")
    for gd in kb.tree.guidance_2025:
        need(gd.first in rt and gd.fallback in rt, "tree.yaml", f"guidance_2025[{gd.id}]", "unknown runtime")
    for row in kb.scenarios.rows:
        need(row.recommended in rt, "scenarios.yaml", f"rows[{row.scenario}].recommended", f"unknown runtime {row.recommended!r}")
    case_ids = {c.id for c in kb.cases.cases}
    for case in kb.cases.cases:
        need(case.runtime in rt, "cases.yaml", f"cases[{case.id}].runtime", f"unknown runtime {case.runtime!r}")
        need(case.alternative_runtime in rt, "cases.yaml", f"cases[{case.id}].alternative_runtime",
             f"unknown runtime {case.alternative_runtime!r}")
        for cl in case.claims:
            need(cl in claim_ids, "cases.yaml", f"cases[{case.id}].claims", f"unknown claim {cl!r}")
    for sig in kb.cases.signatures:
        need(sig.case in case_ids, "cases.yaml", "signatures.case", f"unknown case {sig.case!r}")
    for cf in kb.conflicts.conflicts:
        for cl in cf.claims:
            need(cl in claim_ids, "conflicts.yaml", f"conflicts[{cf.id}].claims", f"unknown claim {cl!r}")
        for t in cf.touches:
            need(t in rt, "conflicts.yaml", f"conflicts[{cf.id}].touches", f"unknown runtime {t!r}")
    rule_ids = {c.id for c in kb.constraints.constraints} | {g.id for g in kb.constraints.guards}
    for p in kb.constraints.precedence:
        need(p in rule_ids, "constraints.yaml", "precedence", f"unknown rule {p!r}")
    for hc in kb.constraints.constraints:
        for cl in hc.claims:
            need(cl in claim_ids, "constraints.yaml", f"constraints[{hc.id}].claims", f"unknown claim {cl!r}")
    for route in kb.routes.routes:
        need(route.claim in claim_ids, "routes.yaml", f"routes[{route.id}].claim", f"unknown claim {route.claim!r}")
    crit = {c.id for c in kb.weights.criteria}
    need(crit == {"V", "S", "M", "D", "isolation", "compatibility", "gpu"}, "weights.yaml", "criteria", "must define V, S, M, D, isolation, compatibility, gpu")
    need("general" in kb.weights.scenarios, "weights.yaml", "scenarios.general", "missing (the default weights)")
    for lvl in ("yes", "partial", "no", "full"):
        need(lvl in kb.weights.levels, "weights.yaml", f"levels.{lvl}", "missing")
    for r in rt.values():
        need(1 <= r.isolation <= 5, "runtimes.yaml", f"runtimes[{r.id}].isolation_rating.value", "must be 1..5")
        need(bool(r.executes), "runtimes.yaml", f"runtimes[{r.id}].executes", "must name at least one artifact")
    _check_rulebook(kb, need)


def _check_rulebook(kb: KnowledgeBase, need: Any) -> None:
    """The practice rulebook names only runtimes, fields and sources rules that exist."""
    from rtadvisor.model import Workload

    rt = kb.runtimes
    pb = kb.practice
    sources_ids = ({c.id for c in kb.constraints.constraints} | {g.id for g in kb.constraints.guards}
                   | {c.id for c in kb.conflicts.conflicts} | {c.id for c in kb.cases.cases}
                   | {f"tree:{n.id}" for n in kb.tree.nodes} | {f"matrix:{r.scenario}" for r in kb.scenarios.rows})
    seen: set[str] = set()
    for rule in pb.rules:
        where = f"rules[{rule.id}]"
        need(rule.id not in seen, "practice.yaml", f"{where}.id", "duplicate rule id")
        seen.add(rule.id)
        for ref in (*rule.prefer, *(rule.require.runtimes if rule.require else ()), *(rule.exclude.runtimes if rule.exclude else ())):
            need(ref in rt, "practice.yaml", where, f"unknown runtime {ref!r}")
        for step in rule.steps:
            for ref in step.when_runtime:
                need(ref in rt, "practice.yaml", f"{where}.steps", f"unknown runtime {ref!r}")
        for ref in rule.narrows:
            need(ref in sources_ids, "practice.yaml", f"{where}.narrows", f"unknown sources rule {ref!r}")
    fields = set(Workload.model_fields)
    for a in pb.assumptions:
        need(a.field in fields, "practice.yaml", f"assumptions[{a.field}].field", "not a profile field")
    need(pb.mesh.rule in {c.id for c in kb.constraints.constraints}, "practice.yaml", "mesh.rule", f"unknown rule {pb.mesh.rule!r}")


def load_from(data_dir: Path) -> KnowledgeBase:
    """Load and validate the knowledge files of ``data_dir`` (uncached; tests use it on broken copies)."""
    parsed: dict[str, Any] = {}
    files: dict[str, Path] = {}
    for name in s.FILE_MODELS:
        path = data_dir / name
        if not path.is_file():
            raise KnowledgeBaseError(f"{name}: missing from the knowledge base ({data_dir})")
        parsed[name] = _validate(name, _read(path))
        files[name] = path
    runtimes_file: s.RuntimesFile = parsed["runtimes.yaml"]
    runtimes = {r.id: r for r in runtimes_file.runtimes}
    if len(runtimes) != len(runtimes_file.runtimes):
        raise KnowledgeBaseError("runtimes.yaml: field 'runtimes.id': duplicate runtime id")
    kb = KnowledgeBase(
        runtimes=runtimes,
        claims=parsed["claims.yaml"].claims,
        tree=parsed["tree.yaml"],
        scenarios=parsed["scenarios.yaml"],
        cases=parsed["cases.yaml"],
        constraints=parsed["constraints.yaml"],
        conflicts=parsed["conflicts.yaml"],
        weights=parsed["weights.yaml"],
        routes=parsed["routes.yaml"],
        network=parsed["network.yaml"],
        troubleshooting=parsed["troubleshooting.yaml"],
        practice=parsed["practice.yaml"],
        files=files,
    )
    _check_refs(kb)
    return kb


def _cache_file(data_dir: Path) -> tuple[Path, bytes] | None:
    """Where the validated knowledge base of ``data_dir`` is kept between processes, keyed by the
    directory, the files' content and rtadvisor's version (any edit to a data file is a new key); None if the
    files cannot be read (then :func:`load_from` reports it)."""
    import hashlib
    import os

    from rtadvisor import __version__

    digest = hashlib.sha256(__version__.encode() + b"\0" + str(data_dir.resolve()).encode())
    try:
        for name in s.FILE_MODELS:
            digest.update(name.encode() + b"\0" + (data_dir / name).read_bytes() + b"\0")
    except OSError:
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rtadvisor" / "kb"
    return base / f"{digest.hexdigest()[:32]}.pickle", digest.digest()


@functools.lru_cache(maxsize=4)
def _load_cached(data_dir: str) -> KnowledgeBase:
    """``load_from``, or the copy ``rtadvisor prepare`` saved (:func:`save_cache`): a CLI process would
    otherwise parse and validate twelve YAML files at every start (a tenth of ``recommend``'s wall
    time). Read only here: the cache is written by ``prepare``, never as a side effect of a command."""
    import pickle

    where = Path(data_dir)
    cache = _cache_file(where)
    if cache is not None:
        path, key = cache
        try:
            with path.open("rb") as fh:
                stored_key, kb = pickle.load(fh)  # our own file, keyed by the data it came from
            if stored_key == key and isinstance(kb, KnowledgeBase):
                return kb
        except (OSError, EOFError, pickle.PickleError, AttributeError, ImportError, TypeError, ValueError):
            pass  # absent, stale or damaged: validate afresh below
    return load_from(where)


def save_cache(data_dir: str | Path | None = None) -> Path | None:
    """Validate the knowledge files and keep the result in the user's cache directory (where
    ``rtadvisor prepare`` also keeps the assets and binaries it builds), written atomically and keyed
    by the directory, the files' content and rtadvisor's version; returns the file, or None when the
    cache directory cannot be written (commands then validate at every start, only slower)."""
    import os
    import pickle
    import tempfile

    where = Path(data_dir) if data_dir is not None else DATA_DIR
    cache = _cache_file(where)
    if cache is None:
        return None
    path, key = cache
    kb = load_from(where)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("*.pickle"):  # one knowledge base version at a time
            if old != path:
                old.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".kb-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((key, kb), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return None
    return path


def load(data_dir: str | Path | None = None) -> KnowledgeBase:
    """The knowledge base (cached per directory). ``data_dir`` defaults to the packaged ``kb/data``."""
    return _load_cached(str(Path(data_dir) if data_dir is not None else DATA_DIR))
