"""Run the decision engine for inferred profiles and compare with the workload's runtimeClassName.

The engine is pure, so a decision depends only on the (frozen, hashable) ``Workload``; scanned
profiles all carry the same name, and real manifests repeat a handful of shapes, so one decision per
distinct profile serves thousands of workloads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rtadvisor.model import Decision, Workload

# RuntimeClass names seen in the wild for each runtime; a current name in the set counts as a match.
# "nvidia" classes are runc plus NVIDIA's hook, so they are runc for isolation purposes.
_ALIASES: dict[str, frozenset[str]] = {
    "runc": frozenset({"runc", "default", "runc-v2", "nvidia", "nvidia-cdi", "nvidia-legacy", "nvidia-container-runtime"}),
    "crun": frozenset({"crun"}),
    "gvisor": frozenset({"gvisor", "runsc", "gvisor-kvm", "gvisor-ptrace", "runsc-kvm"}),
    "kata": frozenset({"kata", "kata-containers", "kata-qemu", "kata-clh", "kata-fc", "kata-dragonball", "kata-qemu-tdx", "kata-qemu-snp", "kata-qemu-sev"}),
    "vm": frozenset({"kata-qemu", "kubevirt", "vm", "kata-qemu-nvidia-gpu"}),
    "wasmedge": frozenset({"crun-wasm", "wasmedge", "wasm", "runwasi-wasmedge", "crun-wasmedge"}),
    "wasmtime": frozenset({"crun-wasm", "wasmtime", "wasm", "runwasi-wasmtime"}),
}

_R2_CLASSES = frozenset({"crun-wasm", "wasm", "crun-wasmedge"})

# Fallback isolation rating for a runtime the knowledge base does not list (SPEC table: runc 3,
# gVisor 4, Kata/WasmEdge 5). --fix never lowers isolation on its own: stating the need is the team's call.
ISOLATION = {"runc": 3, "crun": 3, "gvisor": 4, "kata": 5, "vm": 5, "wasmedge": 5, "wasmtime": 5}
WASM_RUNTIMES = frozenset({"wasmedge", "wasmtime"})
SANDBOXES = frozenset({"gvisor", "kata", "vm", "wasmedge", "wasmtime"})


@lru_cache(maxsize=64)
def runtime_class_for(runtime: str, route: str | None) -> str | None:
    """The runtimeClassName that selects ``runtime`` (None: the cluster default, runc).

    The names are those of the RuntimeClasses rtadvisor's deploy artifacts create
    (``rtadvisor.k8s.handlers``): gVisor is "gvisor" (handler runsc), route R2 is "crun-wasm"
    (handler crun), R3 the runwasi shims, a full VM is Kata's QEMU flavour "kata-qemu".
    """
    from rtadvisor.errors import InputError
    from rtadvisor.k8s.handlers import handlers_for

    try:
        handler = handlers_for(runtime, route if runtime in WASM_RUNTIMES else None)[0]
    except InputError:  # a runtime the deploy area has no handler for: its id is the best guess
        return runtime
    return None if handler.default_runtime else handler.runtime_class


def runtime_of_class(name: str | None) -> str | None:
    """Which runtime a current runtimeClassName stands for (``None`` -> runc); None if unknown."""
    if not name:
        return "runc"
    for runtime, names in _ALIASES.items():
        if name in names:
            return runtime
    if name.startswith("kata"):
        return "kata"
    if name.startswith(("gvisor", "runsc")):
        return "gvisor"
    return None


def class_matches(current: str | None, runtime: str, route: str | None) -> bool:
    """Does the current runtimeClassName already select the recommended runtime (and route)?"""
    wanted = runtime_class_for(runtime, route)
    if current == wanted or (current is None and wanted is None):
        return True
    if current is None:
        return False
    if runtime in WASM_RUNTIMES:
        # Each route needs its own class: R1 the default runtime, R2 crun with the annotation,
        # R3 the runwasi shim of that engine.
        if route == "R1":
            return runtime_of_class(current) == "runc"
        if route == "R3":
            return current in (runtime, f"runwasi-{runtime}")
        return current in _R2_CLASSES
    return runtime_of_class(current) == runtime


Recommend = Callable[[Workload], Decision]


@lru_cache(maxsize=1)
def _knowledge() -> Any:
    from rtadvisor import kb

    return kb.load()


def isolation_rank(runtime: str) -> int:
    """The knowledge base's isolation rating (S-select 1-5), the order the engine itself uses."""
    try:
        return int(_knowledge().isolation_rank(runtime))
    except KeyError:
        return ISOLATION.get(runtime, 0)


def engine() -> Recommend:
    """The real decision engine with the packaged knowledge base loaded once."""
    from rtadvisor import decide

    knowledge = _knowledge()

    def recommend(workload: Workload) -> Decision:
        return decide.recommend(workload, kb=knowledge)

    return recommend


@dataclass
class DecisionCache:
    """Memoised engine: one call per distinct profile (``hits``/``misses`` are reported in the summary)."""

    recommend: Recommend
    hits: int = 0
    misses: int = 0

    def __post_init__(self) -> None:
        self._memo: dict[Workload, Decision] = {}

    def __call__(self, workload: Workload) -> Decision:
        decision = self._memo.get(workload)
        if decision is None:
            self.misses += 1
            decision = self.recommend(workload)
            self._memo[workload] = decision
        else:
            self.hits += 1
        return decision


def _decisive_constraints(decision: Decision) -> list[Any]:
    """The hard constraints that shaped the answer: those that ruled out the runtime the S-select tree
    leads to, and those that rule nothing out but add to the architecture (the service mesh).

    A constraint that only excluded runtimes the tree would not have chosen anyway (a Linux image
    excluding the Wasm engines, say) is context, not the reason. Without a tree leaf in the trace
    every constraint counts."""
    tree = [step for step in decision.trace if step.kind == "tree" and "->" in step.answer]
    leaf = tree[-1].answer.rsplit("->", 1)[1].split()[0] if tree else None
    excluded_by = {a.runtime: (a.excluded or "").split(":", 1)[0] for a in decision.alternatives}
    excluders = set(excluded_by.values())
    if leaf is None:
        return list(decision.constraints)
    return [c for c in decision.constraints if excluded_by.get(leaf) == c.id or c.id not in excluders]


def one_line_reason(decision: Decision) -> str:
    """Why, in one line: a hard constraint that decided (see :func:`_decisive_constraints`), else the matching case-table row, else
    the path through the decision tree, else the scenario step, else the last step of the trace."""
    decisive = _decisive_constraints(decision)
    if decisive:
        c = decisive[0]
        return f"{c.rule}: {c.because} [{c.source}]"
    chosen: Any = None
    for step in decision.trace:
        if step.kind == "case" and step.answer.startswith("matches"):
            chosen = step
    if chosen is None:
        tree = [step for step in decision.trace if step.kind == "tree"]
        if tree:  # the path through the S-select tree, root to leaf
            src = f" [{tree[-1].source}]" if tree[-1].source else ""
            return "; ".join(f"{step.question} {step.answer}" for step in tree) + src
        for step in decision.trace:
            if step.kind == "scenario":
                chosen = step
    if chosen is None and decision.trace:
        chosen = decision.trace[-1]
    if chosen is None:
        return f"{decision.runtime} ({decision.architecture})"
    src = f" [{chosen.source}]" if chosen.source else ""
    return f"{chosen.question} {chosen.answer}{src}"
