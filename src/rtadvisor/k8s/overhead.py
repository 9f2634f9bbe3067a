"""Per-pod fixed overhead (``RuntimeClass.overhead.podFixed``) of sandbox and VM runtimes.

Pure: the caller passes this node's :class:`~rtadvisor.model.Evidence` (or ``None``) and the
knowledge base's claims. Each figure says what it is:

1. a measurement, only of the runtime that was measured: gVisor's ``runsc`` runs here for real;
   nothing on this node is Kata (the micro-VM backend is plain QEMU under emulation: a stand-in,
   never a Kata or VM figure), and emulated figures are never used;
2. else the installer's own default with its source: kata-deploy's RuntimeClass overhead for the
   chosen hypervisor (the handler is kata-deploy's, so is the figure);
3. else the knowledge base's claim, upper bound (gVisor publishes no per-pod default).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rtadvisor.model import Claim, Evidence, Measurement, stand_ins

from . import upstream as up
from .handlers import kata
from .runtimeclass import Overhead

#: Runtimes whose pods carry a fixed overhead (a sandbox kernel or a VM per pod).
OVERHEAD_RUNTIMES = ("gvisor", "kata", "vm")
#: Registry relations under which a backend's figure is the runtime's own (the store files such a
#: figure under the runtime's id too). A stand-in (the emulated QEMU micro-VM for Kata or a VM) is not.
MEASURED_RELATIONS = ("itself", "through", "same-engine")


def _measured_as(runtime: str) -> tuple[str, ...]:
    """The evidence names a runtime's pod overhead may be read under: the backends that measured the
    runtime *itself* (strongest relation first: runsc itself, then runsc through containerd), then the
    runtime's own id (where the store files those figures). Empty when none did: no backend here
    runs Kata or a full VM (the micro-VM is a stand-in)."""
    backends = tuple(s.backend for s in stand_ins(runtime=runtime) if s.relation in MEASURED_RELATIONS)
    return (*backends, runtime) if backends else ()


#: Evidence names per overhead runtime, read from the one registry (``rtadvisor.model.STAND_INS``):
#: gvisor -> runsc, containerd-runsc, gvisor; kata and vm -> none (only a stand-in measures them).
MEASURED_AS: dict[str, tuple[str, ...]] = {runtime: _measured_as(runtime) for runtime in OVERHEAD_RUNTIMES}
# PSS of one idle instance first: it is the whole sandbox/VM footprint, the conservative choice for
# a scheduling overhead (as the claims' upper bound is); the sweep's marginal cost comes second.
MEMORY_METRICS = ("pss_mb", "per_instance_mb")
#: The memory claim used when neither a measurement nor an upstream default exists.
MEMORY_CLAIM = {"gvisor": "gvisor-memory", "kata": "kata-memory", "vm": "kata-memory"}


def _measured(runtime: str, evidence: Evidence) -> Measurement | None:
    """The one place that reads the bench's results (``Evidence.get(runtime, metric)``)."""
    for name in MEASURED_AS.get(runtime, ()):
        for metric in MEMORY_METRICS:
            found = evidence.get(name, metric)
            if found is not None and not found.emulated:
                return found
    return None


def _upstream(runtime: str, kata_shim: str) -> Overhead | None:
    if runtime not in ("kata", "vm"):
        return None
    shim = up.KATA_SHIMS[kata(kata_shim).name.removeprefix("kata-") if runtime == "kata" else "qemu"]
    return Overhead(
        memory_mib=shim.overhead_memory_mib, cpu_millis=shim.overhead_cpu_millis,
        source=up.KATA_OVERHEAD_SOURCE.format(shim=shim.name, memory=shim.overhead_memory_mib,
                                              cpu=shim.overhead_cpu_millis,
                                              older=up.KATA_OLDER_OVERHEAD.get(shim.name, ""))
        + "; not measured on this node",
    )


def _from_claim(runtime: str, claims: Sequence[Claim]) -> Overhead | None:
    claim = next((c for c in claims if c.id == MEMORY_CLAIM[runtime]), None)
    if claim is None:
        return None
    high = claim.high if claim.high is not None else claim.value
    if high is None:
        return None
    low = claim.low if claim.low is not None else high
    why = " (gVisor publishes no per-pod overhead default)" if runtime == "gvisor" else ""
    return Overhead(
        memory_mib=high,
        source=(f"claim {claim.id} ({claim.source}): memory {low:g}-{high:g} {claim.unit}, upper bound used; "
                f"not measured on this node{why}"),
    )


def pod_overheads(runtimes: Iterable[str], evidence: Evidence | None, claims: Sequence[Claim], *,
                  kata_shim: str = up.KATA_DEFAULT_SHIM) -> dict[str, Overhead]:
    """Per-pod overhead of the sandbox/VM runtimes among ``runtimes``: measured, else upstream, else claim."""
    out: dict[str, Overhead] = {}
    for runtime in runtimes:
        if runtime not in OVERHEAD_RUNTIMES or runtime in out:
            continue
        found = _measured(runtime, evidence) if evidence is not None else None
        if found is not None:
            out[runtime] = Overhead(
                memory_mib=found.value,
                source=(f"measured on {found.host or 'this node'}: {found.runtime} {found.metric} = {found.value:g} "
                        f"{found.unit}, n={found.n}, {found.date or 'date unknown'}"),
            )
            continue
        default = _upstream(runtime, kata_shim) or _from_claim(runtime, claims)
        if default is not None:
            out[runtime] = default
    return out
