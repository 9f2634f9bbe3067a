"""Which containerd runtime handler (and RuntimeClass) serves each rtadvisor runtime and route.

A *handler* is the name shared by three things that must agree or pods never start: the
RuntimeClass's ``handler`` field, the containerd runtime table name
(``...containerd.runtimes.<handler>``) and, for runwasi, the shim binary derived from
``runtime_type`` (``io.containerd.wasmedge.v1`` -> ``containerd-shim-wasmedge-v1``).

Names follow the installers that put the same runtimes on real clusters (:mod:`.upstream`): K3s's
``crun``/``wasmedge``/``wasmtime``/``wasmer``/``spin``, kata-deploy's ``kata-<hypervisor>``, gVisor's
``runsc``, SpinKube's ``wasmtime-spin-v2`` -> ``spin``. Every Wasm handler names the engine that
will run the module: route R2 is crun built with that engine (``crun-wasmtime``), route R3 the
runwasi shim of that engine (``wasmtime`` -> ``containerd-shim-wasmtime-v1``).

This module is pure data: no process is started here.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Literal

from rtadvisor.errors import InputError

from . import upstream as up

RUNTIME_IDS = ("runc", "crun", "gvisor", "kata", "vm", "wasmedge", "wasmtime", "wasmer", "spin")
#: Runtimes whose workload is a Wasm module (or a Spin app) and so travels a route.
WASM_RUNTIMES = ("wasmedge", "wasmtime", "wasmer", "spin")
ROUTES = ("R1", "R2", "R3")
#: The routes each Wasm runtime can travel. A Spin app needs the Spin host (its triggers, HTTP
#: server, key-value...), which crun's Wasm handlers do not provide: no R2 for Spin.
WASM_ROUTES: dict[str, tuple[str, ...]] = {
    "wasmedge": ("R1", "R2", "R3"), "wasmtime": ("R1", "R2", "R3"), "wasmer": ("R1", "R2", "R3"), "spin": ("R1", "R3"),
}
#: SPEC (S-wasm): "default R2"; Spin's only cluster route is its shim.
DEFAULT_ROUTE = {"wasmedge": "R2", "wasmtime": "R2", "wasmer": "R2", "spin": "R3"}

#: Annotations crun reads to hand a container to its Wasm handler; containerd only copies pod
#: annotations into the OCI spec when the runtime lists them in ``pod_annotations``.
CRUN_WASM_ANNOTATIONS = up.CRUN_WASM_ANNOTATIONS
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
    runtime_path: str | None = None  # the shim binary, when not derived from runtime_type (kata-deploy)
    engine: str | None = None  # the Wasm engine that runs the module (None: not a Wasm handler)
    label: str | None = None  # node label key the installer itself sets (kata-deploy's)
    source: str = ""  # the upstream convention the entry follows

    @property
    def shim(self) -> str:
        """The containerd shim binary: ``runtime_path`` if set, else derived from ``runtime_type``."""
        return self.runtime_path or shim_binary(self.runtime_type)

    @property
    def node_label(self) -> str:
        return self.label or NODE_LABEL_PREFIX + self.name

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
    note="crun through the runc v2 shim (BinaryName); the entry K3s writes when it finds crun",
    source=up.K3S_DETECTED_SOURCE,
)


def crun_wasm(engine: str) -> Handler:
    """Route R2 for ``engine``: crun built with that engine's Wasm handler, selected per pod by annotation."""
    if engine not in up.CRUN_WASM_ENGINES:
        raise InputError(f"--route R2: crun has no {engine} handler; crun runs Wasm with "
                         f"{', '.join(up.CRUN_WASM_ENGINES)} (use route R3 or R1 for {engine})")
    return Handler(
        runtime=engine, name=f"crun-{engine}", runtime_class=f"crun-{engine}", runtime_type="io.containerd.runc.v2",
        kind="wasm", binary="crun", options={"BinaryName": "crun"}, pod_annotations=up.CRUN_WASM_ANNOTATIONS,
        engine=engine, source=up.CRUN_SOURCE,
        note=f"route R2: crun sees module.wasm.image/variant and runs the module with its {engine} handler; "
        f"needs crun >= 1.8.5 built with +WASM:{engine} (BinaryName may point at that build; crun has one "
        "Wasm engine per build; older crun loses Wasm stdout)",
    )


def runwasi(engine: str) -> Handler:
    """Route R3 for ``engine``: the runwasi shim (or, for Spin, SpinKube's shim) starts the engine directly."""
    if engine == "spin":
        return Handler(
            runtime="spin", name=up.SPIN_HANDLER, runtime_class=up.SPIN_RUNTIME_CLASS,
            runtime_type=up.SPIN_RUNTIME_TYPE, kind="wasm", binary="containerd-shim-spin-v2", engine="spin",
            source=up.SPINKUBE_SOURCE,
            note="route R3: SpinKube's containerd-shim-spin-v2 runs the Spin app (Spin on wasmtime); "
            "RuntimeClass and handler as spin-operator's containerd-shim-spin executor expects",
        )
    if engine not in up.RUNWASI_ENGINES:
        raise InputError(f"--route R3: no runwasi shim for {engine!r}; expected one of "
                         f"{', '.join(up.RUNWASI_ENGINES)} or spin")
    return Handler(
        runtime=engine, name=engine, runtime_class=engine, runtime_type=f"io.containerd.{engine}.v1",
        kind="wasm", binary=f"containerd-shim-{engine}-v1", engine=engine, source=up.RUNWASI_SOURCE,
        note=f"route R3: runwasi's containerd-shim-{engine}-v1 starts {engine} directly; "
        "image is a Wasm OCI artifact or compat image",
    )


RUNSC = Handler(
    runtime="gvisor", name="runsc", runtime_class="gvisor", runtime_type="io.containerd.runsc.v1",
    kind="sandbox", binary="runsc",
    options={"TypeUrl": up.RUNSC_TYPE_URL, "ConfigPath": up.RUNSC_CONFIG_PATH},
    source=up.GVISOR_SOURCE,
    note=f"gVisor; the shim containerd-shim-runsc-v1 ships with gVisor releases (not Debian's runsc); "
    f"ConfigPath names {up.RUNSC_CONFIG_PATH}, written alongside (containerd/runsc.toml)",
)


def kata(shim: str = up.KATA_DEFAULT_SHIM, *, runtime: str = "kata", runtime_class: str | None = None) -> Handler:
    """A Kata handler exactly as kata-deploy registers it: ``kata-<shim>``, ``runtime_path``,
    ``ConfigPath`` per hypervisor, ``privileged_without_host_devices``, the Kata annotations."""
    if shim not in up.KATA_SHIMS:
        raise InputError(f"--kata-hypervisor: unknown {shim!r}; expected one of {', '.join(up.KATA_SHIMS)}")
    s = up.KATA_SHIMS[shim]
    return Handler(
        runtime=runtime, name=s.handler, runtime_class=runtime_class or s.handler, runtime_type=s.runtime_type,
        kind="vm", binary="containerd-shim-kata-v2", runtime_path=s.runtime_path,
        options={"ConfigPath": s.config_path}, pod_annotations=up.KATA_POD_ANNOTATIONS,
        privileged_without_host_devices=True, label=up.KATA_NODE_LABEL, source=up.KATA_DEPLOY_SOURCE,
        note=f"Kata Containers ({s.note}): one lightweight VM per pod, entry as kata-deploy writes it; "
        "needs hardware virtualization (/dev/kvm with vmx/svm)",
    )


#: RuntimeClass ``kata`` -> handler ``kata-<shim>``: kata-deploy's default-class convention
#: (``runtimeClasses.createDefault``); a full VM is kata-deploy's own ``kata-qemu`` class (QEMU: VFIO).
KATA = kata(runtime_class="kata")
VM = dataclasses.replace(
    kata("qemu", runtime="vm"),
    note="a full QEMU VM per pod (Kata's QEMU flavour, which supports PCI/USB passthrough with VFIO), entry as "
    "kata-deploy writes it; long-lived VMs with their own OS are better served by KubeVirt, outside containerd",
)
WASMEDGE_SHIM = runwasi("wasmedge")
WASMTIME_SHIM = runwasi("wasmtime")
WASMER_SHIM = runwasi("wasmer")
SPIN_SHIM = runwasi("spin")
CRUN_WASM = crun_wasm("wasmedge")  # the S-wasm route: crun calls WasmEdge

ALL_HANDLERS = (RUNC, CRUN, *(crun_wasm(e) for e in up.CRUN_WASM_ENGINES), RUNSC, KATA,
                *(kata(s) for s in up.KATA_SHIMS if s != up.KATA_DEFAULT_SHIM), VM,
                WASMEDGE_SHIM, WASMTIME_SHIM, WASMER_SHIM, SPIN_SHIM)


def check_runtime(runtime: str) -> str:
    if runtime not in RUNTIME_IDS:
        raise InputError(f"--runtime: unknown runtime {runtime!r}; expected one of {', '.join(RUNTIME_IDS)}")
    return runtime


def check_route(route: str | None) -> str | None:
    if route is not None and route not in ROUTES:
        raise InputError(f"--route: unknown route {route!r}; expected one of {', '.join(ROUTES)}")
    return route


def effective_route(runtime: str, route: str | None) -> str | None:
    """Wasm runtimes always travel a route (SPEC default R2; Spin R3); other runtimes have none."""
    if runtime in WASM_RUNTIMES:
        chosen = route or DEFAULT_ROUTE[runtime]
        if chosen not in WASM_ROUTES[runtime]:
            raise InputError(f"--route: {runtime} cannot travel route {chosen}; it can travel "
                             f"{', '.join(WASM_ROUTES[runtime])}")
        return chosen
    return None


def handlers_for(runtime: str, route: str | None = None, *, kata_shim: str = up.KATA_DEFAULT_SHIM) -> tuple[Handler, ...]:
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
            return (crun_wasm(runtime),)
        return (runwasi(runtime),)
    if runtime == "kata":
        return (kata(kata_shim, runtime_class="kata"),)
    return {"runc": (RUNC,), "crun": (CRUN,), "gvisor": (RUNSC,), "vm": (VM,)}[runtime]


def handler_by_name(name: str) -> Handler | None:
    """The known handler with this containerd runtime name, if any (first match)."""
    for h in ALL_HANDLERS:
        if h.name == name:
            return h
    return None
