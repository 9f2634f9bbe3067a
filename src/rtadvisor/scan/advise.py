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
    "gvisor": frozenset({"gvisor", "runsc", "gvisor-kvm", "gvisor-ptrace", "runsc-kvm", "gvisor-systrap"}),
    "kata": frozenset({"kata", "kata-containers", "kata-qemu", "kata-clh", "kata-fc", "kata-dragonball", "kata-qemu-tdx",
                       "kata-qemu-snp", "kata-qemu-sev", "kata-qemu-nvidia-gpu", "kata-qemu-nvidia-gpu-snp",
                       "kata-qemu-nvidia-gpu-tdx", "kata-stratovirt", "kata-remote"}),
    "vm": frozenset({"kubevirt", "vm"}),
    "wasmedge": frozenset({"crun-wasm", "wasmedge", "wasm", "runwasi-wasmedge", "crun-wasmedge", "wasmedge-v1"}),
    "wasmtime": frozenset({"crun-wasm", "wasmtime", "wasm", "runwasi-wasmtime", "wasmtime-v1"}),
    "wasmer": frozenset({"wasmer", "runwasi-wasmer", "wasmer-v1"}),
    "spin": frozenset({"spin", "wasmtime-spin-v2", "wasmtime-spin", "spin-v2"}),
}
GENERIC_WASM_CLASSES = frozenset({"wasm"})
#: RuntimeClasses of runwasi shims (K3s, KWasm, SpinKube): a workload on one is on route R3 with that
#: class's engine; the generic "wasm" class of the sources' R3 counts too.
RUNWASI_CLASSES: dict[str, str] = {
    "wasmtime": "wasmtime", "runwasi-wasmtime": "wasmtime", "wasmtime-v1": "wasmtime",
    "wasmedge": "wasmedge", "runwasi-wasmedge": "wasmedge", "wasmedge-v1": "wasmedge",
    "wasmer": "wasmer", "runwasi-wasmer": "wasmer", "wasmer-v1": "wasmer",
    "spin": "spin", "wasmtime-spin-v2": "spin", "wasmtime-spin": "spin", "spin-v2": "spin",
    "wasm": "wasmedge", "slight": "slight", "lunatic": "lunatic", "wws": "wws",
}

R2_CLASSES = frozenset({"crun-wasm", "crun-wasmedge", "crun-wasmtime", "crun-wasmer"})
_R2_CLASSES = R2_CLASSES | {"wasm"}  # the sources name "wasm" for R3 but older guides used it for crun

# Fallback isolation rating for a runtime the knowledge base does not list (SPEC table: runc 3,
# gVisor 4, Kata/WasmEdge 5). --fix never lowers isolation on its own: stating the need is the team's call.
ISOLATION = {"runc": 3, "crun": 3, "gvisor": 4, "kata": 5, "vm": 5, "wasmedge": 5, "wasmtime": 5, "wasmer": 5, "spin": 5}
WASM_RUNTIMES = frozenset({"wasmedge", "wasmtime", "wasmer", "spin"})
SANDBOXES = frozenset({"gvisor", "kata", "vm", "wasmedge", "wasmtime", "wasmer", "spin"})
VMS = frozenset({"kata", "vm"})


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
    except InputError:  # a runtime the deploy area has no handler for: the knowledge base's class
        try:
            return _knowledge().runtime(runtime).adopt.runtime_class  # type: ignore[no-any-return]
        except KeyError:
            return runtime
    return None if handler.default_runtime else handler.runtime_class


def runtime_of_class(name: str | None) -> str | None:
    """Which runtime a current runtimeClassName stands for (``None`` -> runc); None if unknown."""
    if not name:
        return "runc"
    if name in RUNWASI_CLASSES:
        return RUNWASI_CLASSES[name]
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
            # "wasm" (the sources' R3 class, runwasi's test deployment) names no engine: any matches
            return RUNWASI_CLASSES.get(current) == runtime or current in GENERIC_WASM_CLASSES
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


def engine(rulebook: str = "practice") -> Recommend:
    """The real decision engine with the packaged knowledge base loaded once (``rulebook``:
    practice, the default, or sources)."""
    from rtadvisor import decide

    knowledge = _knowledge()

    def recommend(workload: Workload) -> Decision:
        # A finding shows the runtime, route, architecture and the first reason: the per-decision
        # extras (each assumption re-decided, the other rulebook) are left out for thousands of workloads.
        return decide.recommend(workload, kb=knowledge, rulebook=rulebook, explain=False)

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


def one_line_reason(decision: Decision) -> str:
    """Why, in one line: the verdict's first reason, with the rule it comes from (the rulebook's
    own words, so a scan row and ``rtadvisor recommend`` say the same thing)."""
    if decision.reasons:
        r = decision.reasons[0]
        return f"{r.text} [{r.rule}]"
    return f"{decision.runtime} ({decision.architecture})"
