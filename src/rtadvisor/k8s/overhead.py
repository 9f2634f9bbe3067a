"""Per-pod fixed overhead (``RuntimeClass.overhead.podFixed``) of sandbox and VM runtimes.

Pure: the caller passes this node's :class:`~rtadvisor.model.Evidence` (or ``None``) and the
knowledge base's claims; a measurement wins over a claim, and the returned :class:`Overhead` says
which one was used.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rtadvisor.model import Claim, Evidence, Measurement

from .runtimeclass import Overhead

#: Runtimes whose pods carry a fixed overhead (a sandbox kernel or a VM per pod).
OVERHEAD_RUNTIMES = ("gvisor", "kata", "vm")
#: Measurement names a runtime's per-pod memory may be stored under (bench backends' names).
MEASURED_AS = {"gvisor": ("runsc", "gvisor", "containerd-runsc"), "kata": ("kata", "microvm"), "vm": ("microvm", "vm")}
# PSS of one idle instance first: it is the whole sandbox/VM footprint, the conservative choice for
# a scheduling overhead (as the claims' upper bound is); the sweep's marginal cost comes second.
MEMORY_METRICS = ("pss_mb", "per_instance_mb")
#: The memory claim used when nothing is measured (the sources have none for a full VM: Kata's).
MEMORY_CLAIM = {"gvisor": "gvisor-memory", "kata": "kata-memory", "vm": "kata-memory"}


def _measured(runtime: str, evidence: Evidence) -> Measurement | None:
    for name in MEASURED_AS.get(runtime, (runtime,)):
        for metric in MEMORY_METRICS:
            found = evidence.get(name, metric)
            if found is not None:
                return found
    return None


def _from_claim(runtime: str, claims: Sequence[Claim]) -> Overhead | None:
    claim = next((c for c in claims if c.id == MEMORY_CLAIM[runtime]), None)
    if claim is None:
        return None
    high = claim.high if claim.high is not None else claim.value
    if high is None:
        return None
    low = claim.low if claim.low is not None else high
    extra = " (no VM memory claim in the sources: Kata's used)" if runtime == "vm" else ""
    return Overhead(
        memory_mib=high,
        source=(f"claim {claim.id} ({claim.source}): memory {low:g}-{high:g} {claim.unit}, upper bound used; "
                f"not measured on this node{extra}"),
    )


def pod_overheads(runtimes: Iterable[str], evidence: Evidence | None, claims: Sequence[Claim]) -> dict[str, Overhead]:
    """Per-pod memory overhead of the sandbox/VM runtimes among ``runtimes``: measurement, else claim."""
    out: dict[str, Overhead] = {}
    for runtime in runtimes:
        if runtime not in OVERHEAD_RUNTIMES or runtime in out:
            continue
        found = _measured(runtime, evidence) if evidence is not None else None
        if found is not None:
            out[runtime] = Overhead(
                memory_mib=found.value,
                source=(f"measured on {found.host or 'this node'}: {found.runtime} {found.metric} = {found.value:g} "
                        f"{found.unit}, n={found.n}, {found.date or 'date unknown'}"
                        + (", emulated" if found.emulated else "")),
            )
            continue
        claimed = _from_claim(runtime, claims)
        if claimed is not None:
            out[runtime] = claimed
    return out
