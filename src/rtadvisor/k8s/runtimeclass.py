"""RuntimeClass rendering (``node.k8s.io/v1``).

The pod overhead numbers are passed in (the CLI reads them from this node's measurements or from
the knowledge base); this module only renders them and records where they came from in an
annotation, so a reader of the manifest can tell a measured figure from a source claim.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rtadvisor.errors import ArtifactError

from .handlers import Handler, is_dns_label

SOURCE_ANNOTATION = "rtadvisor.io/overhead-source"
GENERATED_BY = "rtadvisor.io/generated-by"


@dataclass(frozen=True)
class Overhead:
    """Per-pod fixed overhead of a sandbox or VM runtime, with its provenance.

    ``source`` is a human sentence such as ``"measured on node1: runsc pss_mb = 11.3 MiB, n=5,
    2026-11-22"``, ``"kata-deploy's RuntimeClass overhead for shim qemu: 320Mi, 250m (...)"`` or
    ``"claim gvisor-memory (S-select): memory 20-50 MB, upper bound used"``.
    """

    memory_mib: float
    source: str
    cpu_millis: int | None = None

    def quantities(self) -> dict[str, str]:
        # Round memory up to whole MiB: an overhead that is too small lets pods be OOM-killed.
        out = {"memory": f"{max(1, math.ceil(self.memory_mib))}Mi"}
        if self.cpu_millis is not None:
            out["cpu"] = f"{self.cpu_millis}m"
        return out


def render_runtime_class(
    handler: Handler, overhead: Overhead | None = None, *, schedule_by_label: bool = True
) -> dict[str, Any]:
    """A RuntimeClass for ``handler``.

    Non-default handlers get ``scheduling.nodeSelector`` on the node label
    ``runtime.rtadvisor.io/<handler>=true`` (or the label the installer itself sets: kata-deploy's
    ``katacontainers.io/kata-runtime``), and a toleration for the same key, so nodes dedicated to
    the runtime can be tainted; pods then land only where the handler exists.
    """
    if not is_dns_label(handler.name):
        raise ArtifactError(f"RuntimeClass handler {handler.name!r} is not a DNS label (RFC 1123)")
    annotations = {GENERATED_BY: "rtadvisor", "rtadvisor.io/runtime": handler.runtime}
    if handler.engine:
        annotations["rtadvisor.io/wasm-engine"] = handler.engine
    rc: dict[str, Any] = {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": handler.runtime_class, "annotations": annotations},
        "handler": handler.name,
    }
    if handler.needs_overhead:
        if overhead is None:
            raise ArtifactError(f"RuntimeClass {handler.runtime_class}: a {handler.kind} runtime needs an overhead")
        rc["overhead"] = {"podFixed": overhead.quantities()}
        annotations[SOURCE_ANNOTATION] = overhead.source
    if schedule_by_label and not handler.default_runtime:
        rc["scheduling"] = {
            "nodeSelector": {handler.node_label: "true"},
            "tolerations": [{"key": handler.node_label, "operator": "Exists", "effect": "NoSchedule"}],
        }
    return rc
