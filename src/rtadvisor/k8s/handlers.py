"""Which containerd runtime handler (and RuntimeClass) serves each rtadvisor runtime and route.

A *handler* is the name shared by three things that must agree or pods never start: the
RuntimeClass's ``handler`` field, the containerd runtime table name
(``...containerd.runtimes.<handler>``) and, for runwasi, the shim binary derived from
``runtime_type`` (``io.containerd.wasmedge.v1`` -> ``containerd-shim-wasmedge-v1``).
This module is pure data: no process is started here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from rtadvisor.errors import InputError

RUNTIME_IDS = ("runc", "crun", "gvisor", "kata", "wasmedge", "wasmtime", "vm")
WASM_RUNTIMES = ("wasmedge", "wasmtime")
ROUTES = ("R1", "R2", "R3")

#: Annotations crun reads to hand a container to its Wasm handler; containerd only copies pod
#: annotations into the OCI spec when the runtime lists them in ``pod_annotations``.
CRUN_WASM_ANNOTATIONS = ("module.wasm.image/variant", "run.oci.handler")
WASM_VARIANT_ANNOTATION = "module.wasm.image/variant"

#: Node label that says a node has a runtime handler installed (used by RuntimeClass scheduling).
NODE_LABEL_PREFIX = "runtime.rtadvisor.io/"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

Kind = Literal["container", "sandbox", "vm", "wasm"]
#: Handler kinds whose pods get the SPEC's small Wasm resource requests/limits.
WASM_RESOURCES_KINDS = ("wasm",)


@dataclass(frozen=True)
class Handler:
    """One containerd runtime entry and the RuntimeClass that selects it."""

    runtime: str  # rtadvisor runtime id this handler serves
    name: str  # containerd runtime name == RuntimeClass.handler (a DNS label)
    runtime_class: str  # RuntimeClass metadata.name
    runtime_type: str
    kind: Kind
    binary: str  # the program that must exist on the node (OCI runtime or shim)
    options: dict[str, str | bool] = field(default_factory=dict)
    pod_annotations: tuple[str, ...] = ()
    privileged_without_host_devices: bool = False
    default_runtime: bool = False  # containerd's default: no RuntimeClass needed for pods
    note: str = ""

    @property
    def shim(self) -> str:
        """The containerd shim binary containerd derives from ``runtime_type``."""
        return shim_binary(self.runtime_type)

    @property
    def node_label(self) -> str:
        return NODE_LABEL_PREFIX + self.name

    @property
    def needs_overhead(self) -> bool:
        """Sandboxes and VMs cost memory per pod beyond the containers' own requests."""
        return self.kind in ("sandbox", "vm")


def shim_binary(runtime_type: str) -> str:
    """containerd's rule: ``io.containerd.<name>.<version>`` runs ``containerd-shim-<name>-<version>``.

    >>> shim_binary("io.containerd.runc.v2")
    'containerd-shim-runc-v2'
    """
    parts = runtime_type.split(".")
    if len(parts) < 4 or parts[0] != "io" or parts[1] != "containerd":
        return runtime_type  # an absolute path or unusual name: containerd uses it as given
    return "containerd-shim-" + "-".join(parts[2:])


def is_dns_label(name: str) -> bool:
    """RFC 1123 label: what Kubernetes requires of ``RuntimeClass.handler``."""
    return bool(_DNS_LABEL.match(name))


RUNC = Handler(
    runtime="runc", name="runc", runtime_class="runc", runtime_type="io.containerd.runc.v2",
    kind="container", binary="runc", default_runtime=True,
    note="containerd's default runtime; pods need no runtimeClassName",
)
CRUN = Handler(
    runtime="crun", name="crun", runtime_class="crun", runtime_type="io.containerd.runc.v2",
    kind="container", binary="crun", options={"BinaryName": "crun"},
    pod_annotations=CRUN_WASM_ANNOTATIONS,
    note="crun through the runc v2 shim (BinaryName)",
)
CRUN_WASM = Handler(
    runtime="crun", name="crun", runtime_class="crun-wasm", runtime_type="io.containerd.runc.v2",
    kind="wasm", binary="crun", options={"BinaryName": "crun"},
    pod_annotations=CRUN_WASM_ANNOTATIONS,
    note="route R2: crun sees module.wasm.image/variant and runs the module with its Wasm "
    "handler; needs crun >= 1.8.5 built with +WASM:wasmedge (older crun loses Wasm stdout)",
)
RUNSC = Handler(
    runtime="gvisor", name="runsc", runtime_class="gvisor", runtime_type="io.containerd.runsc.v1",
    kind="sandbox", binary="runsc",
    options={"TypeUrl": "io.containerd.runsc.v1.options", "ConfigPath": "/etc/containerd/runsc.toml"},
    note="gVisor; the shim containerd-shim-runsc-v1 ships with gVisor releases (not Debian's runsc)",
)
KATA = Handler(
    runtime="kata", name="kata", runtime_class="kata", runtime_type="io.containerd.kata.v2",
    kind="vm", binary="containerd-shim-kata-v2", privileged_without_host_devices=True,
    pod_annotations=("io.katacontainers.*",),
    note="Kata Containers: one lightweight VM per pod; needs hardware virtualization (/dev/kvm)",
)
VM = Handler(
    runtime="vm", name="kata-qemu", runtime_class="kata-qemu", runtime_type="io.containerd.kata-qemu.v2",
    kind="vm", binary="containerd-shim-kata-qemu-v2", privileged_without_host_devices=False,
    pod_annotations=("io.katacontainers.*",),
    note="a full QEMU VM per pod (Kata's qemu flavour, which supports PCI/USB passthrough); "
    "long-lived VMs with their own OS are better served by KubeVirt, outside containerd",
)
WASMEDGE_SHIM = Handler(
    runtime="wasmedge", name="wasmedge", runtime_class="wasmedge", runtime_type="io.containerd.wasmedge.v1",
    kind="wasm", binary="containerd-shim-wasmedge-v1",
    note="route R3: runwasi shim starts WasmEdge directly; image is a Wasm OCI artifact or compat image",
)
WASMTIME_SHIM = Handler(
    runtime="wasmtime", name="wasmtime", runtime_class="wasmtime", runtime_type="io.containerd.wasmtime.v1",
    kind="wasm", binary="containerd-shim-wasmtime-v1",
    note="route R3: runwasi shim starts wasmtime directly",
)

ALL_HANDLERS = (RUNC, CRUN, CRUN_WASM, RUNSC, KATA, VM, WASMEDGE_SHIM, WASMTIME_SHIM)


def check_runtime(runtime: str) -> str:
    if runtime not in RUNTIME_IDS:
        raise InputError(f"--runtime: unknown runtime {runtime!r}; expected one of {', '.join(RUNTIME_IDS)}")
    return runtime


def check_route(route: str | None) -> str | None:
    if route is not None and route not in ROUTES:
        raise InputError(f"--route: unknown route {route!r}; expected one of {', '.join(ROUTES)}")
    return route


def effective_route(runtime: str, route: str | None) -> str | None:
    """Wasm runtimes always travel a route (SPEC default R2); other runtimes have none."""
    if runtime in WASM_RUNTIMES:
        return route or "R2"
    return None


def handlers_for(runtime: str, route: str | None = None) -> tuple[Handler, ...]:
    """The containerd handlers a runtime (and, for Wasm, its route) needs on the node.

    Route R1 runs the Wasm engine inside an ordinary Linux image, so it needs only runc.
    """
    check_runtime(runtime)
    check_route(route)
    route = effective_route(runtime, route)
    if runtime in WASM_RUNTIMES:
        if route == "R1":
            return (RUNC,)
        if route == "R2":
            return (CRUN_WASM,)
        return (WASMEDGE_SHIM,) if runtime == "wasmedge" else (WASMTIME_SHIM,)
    return {"runc": (RUNC,), "crun": (CRUN,), "gvisor": (RUNSC,), "kata": (KATA,), "vm": (VM,)}[runtime]


def handler_by_name(name: str) -> Handler | None:
    """The known handler with this containerd runtime name, if any (first match)."""
    for h in ALL_HANDLERS:
        if h.name == name:
            return h
    return None
