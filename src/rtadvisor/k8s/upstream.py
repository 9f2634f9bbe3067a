"""The conventions of the installers rtadvisor's artifacts must agree with, as data with their source.

Generated RuntimeClasses and containerd entries land on clusters where an installer may already have
put its own: K3s/RKE2 ship RuntimeClasses for the runtimes they detect, kata-deploy registers
``kata-<shim>`` handlers, SpinKube's operator expects ``wasmtime-spin-v2``. ``RuntimeClass.handler``
is immutable, so a class of the same name with another handler cannot even be applied; and a
containerd table the distribution already writes, written again, is a TOML error. Everything below
was read from the upstream files named in each ``SOURCE`` (checked 2026-12); when upstream moves,
change it here and the conformance tests (``tests/k8s/test_conformance.py``) say what else breaks.

Pure data: nothing here reads the node.
"""

from __future__ import annotations

from dataclasses import dataclass

# --------------------------------------------------------------------------- K3s / RKE2

#: k3s-io/k3s ``manifests/runtimes.yaml``: RuntimeClasses K3s deploys on every cluster (RKE2 ships the
#: same set as its ``rke2-runtimeclasses`` chart), each with ``handler`` equal to its name.
K3S_RUNTIME_CLASSES: dict[str, str] = {
    name: name
    for name in ("nvidia", "nvidia-experimental", "crun", "lunatic", "slight", "spin", "wws", "wasmedge", "wasmer",
                 "wasmtime")
}
K3S_RUNTIME_CLASSES_SOURCE = "k3s-io/k3s manifests/runtimes.yaml (RKE2: rke2-runtimeclasses chart)"


@dataclass(frozen=True)
class DetectedRuntime:
    """A runtime K3s/RKE2 configure on their own when they find its binary at start."""

    name: str  # containerd runtime name == handler == K3s's RuntimeClass name
    runtime_type: str
    binaries: tuple[str, ...]  # accepted binary names, newest convention first
    dirs: tuple[str, ...]  # where K3s looks (older releases: only these; newer: also $PATH)


_KWASM_DIRS = ("/opt/kwasm/bin", "/usr/bin", "/usr/sbin")
#: k3s-io/k3s ``pkg/agent/containerd/runtimes.go`` and ``runwasi.go``: what K3s searches for and the
#: entry it writes into its base template (``runtime_type`` + ``options.BinaryName`` = the found path).
#: Older K3s wrote ``io.containerd.<shim>.v2`` for the runwasi shims and looked for
#: ``containerd-shim-spin-v1``; current K3s writes ``.v1`` (``.v2`` for Spin) and finds
#: ``containerd-shim-spin-v2``, the binary SpinKube ships.
K3S_DETECTED: dict[str, DetectedRuntime] = {
    d.name: d
    for d in (
        DetectedRuntime("crun", "io.containerd.runc.v2", ("crun",),
                        ("/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin")),
        DetectedRuntime("nvidia", "io.containerd.runc.v2", ("nvidia-container-runtime",),
                        ("/usr/local/nvidia/toolkit", "/usr/bin")),
        DetectedRuntime("nvidia-experimental", "io.containerd.runc.v2", ("nvidia-container-runtime-experimental",),
                        ("/usr/local/nvidia/toolkit", "/usr/bin")),
        DetectedRuntime("lunatic", "io.containerd.lunatic.v1", ("containerd-shim-lunatic-v1",), _KWASM_DIRS),
        DetectedRuntime("slight", "io.containerd.slight.v1", ("containerd-shim-slight-v1",), _KWASM_DIRS),
        DetectedRuntime("spin", "io.containerd.spin.v2", ("containerd-shim-spin-v2", "containerd-shim-spin-v1"),
                        _KWASM_DIRS),
        DetectedRuntime("wws", "io.containerd.wws.v1", ("containerd-shim-wws-v1",), _KWASM_DIRS),
        DetectedRuntime("wasmedge", "io.containerd.wasmedge.v1", ("containerd-shim-wasmedge-v1",), _KWASM_DIRS),
        DetectedRuntime("wasmer", "io.containerd.wasmer.v1", ("containerd-shim-wasmer-v1",), _KWASM_DIRS),
        DetectedRuntime("wasmtime", "io.containerd.wasmtime.v1", ("containerd-shim-wasmtime-v1",), _KWASM_DIRS),
    )
}
K3S_DETECTED_SOURCE = "k3s-io/k3s pkg/agent/containerd/runtimes.go, runwasi.go"

# --------------------------------------------------------------------------- kata-deploy


@dataclass(frozen=True)
class KataShim:
    """One kata-deploy shim (hypervisor flavour): the handler ``kata-<name>`` and its defaults."""

    name: str  # qemu, clh, fc, dragonball, qemu-runtime-rs
    rust: bool  # runtime-rs shim (other binary and config directory)
    overhead_memory_mib: int  # kata-deploy's RuntimeClass overhead.podFixed
    overhead_cpu_millis: int
    note: str = ""

    @property
    def handler(self) -> str:
        return f"kata-{self.name}"

    @property
    def runtime_type(self) -> str:
        # kata-deploy writes io.containerd.<runtime name>.v2 and points runtime_path at the one shim binary.
        return f"io.containerd.kata-{self.name}.v2"

    @property
    def runtime_path(self) -> str:
        return f"{KATA_PREFIX}/{'runtime-rs/' if self.rust else ''}bin/containerd-shim-kata-v2"

    @property
    def config_path(self) -> str:
        # The pristine per-hypervisor file every kata-deploy release installs (kata-deploy >= 4 points
        # ConfigPath at runtimes/<shim>/configuration-<shim>.toml, a copy of it with drop-ins).
        return f"{KATA_PREFIX}/share/defaults/kata-containers/{'runtime-rs/' if self.rust else ''}configuration-{self.name}.toml"


KATA_PREFIX = "/opt/kata"
KATA_POD_ANNOTATIONS = ("io.katacontainers.*",)
#: kata-deploy labels the nodes it installed Kata on; its RuntimeClasses select them.
KATA_NODE_LABEL = "katacontainers.io/kata-runtime"
KATA_SHIMS: dict[str, KataShim] = {
    s.name: s
    for s in (
        KataShim("qemu", False, 320, 250, "QEMU: the broadest device support (VFIO passthrough, GPUs)"),
        KataShim("clh", False, 130, 250, "Cloud Hypervisor"),
        KataShim("fc", False, 130, 250, "Firecracker: needs a block-device snapshotter (devmapper) for the rootfs"),
        KataShim("dragonball", True, 130, 250, "Dragonball, built into the runtime-rs shim"),
        KataShim("qemu-runtime-rs", True, 320, 250, "QEMU through the Rust shim (kata-deploy's newest default)"),
    )
}
KATA_DEFAULT_SHIM = "qemu"
KATA_DEPLOY_SOURCE = ("kata-deploy (kata-containers/kata-containers tools/packaging/kata-deploy: "
                      "binary/src/runtime/containerd.rs, binary/src/utils/system.rs)")
KATA_OVERHEAD_SOURCE = ("kata-deploy's RuntimeClass overhead for shim {shim}: {memory}Mi, {cpu}m "
                        "(kata-containers/kata-containers tools/packaging/kata-deploy/helm-chart/kata-deploy/templates/"
                        "runtimeclasses.yaml{older})")
#: What older kata-deploy releases said, where it differs (runtimeclasses/kata-qemu.yaml: 160Mi).
KATA_OLDER_OVERHEAD = {"qemu": "; older releases' runtimeclasses/kata-qemu.yaml: 160Mi"}

# --------------------------------------------------------------------------- gVisor

#: google/gvisor g3doc/user_guide/containerd/configuration.md: the shim reads this file (shim options at
#: the top, runsc flags under [runsc_config]); a ConfigPath naming a missing file fails every pod
#: ("decode config file", pkg/shim/runsc/service.go).
RUNSC_CONFIG_PATH = "/etc/containerd/runsc.toml"
RUNSC_TYPE_URL = "io.containerd.runsc.v1.options"
GVISOR_SOURCE = "google/gvisor g3doc/user_guide/containerd/{quick_start,configuration}.md"

# --------------------------------------------------------------------------- Wasm

#: containers/crun docs/wasm-wasi-on-kubernetes.md: crun runs Wasm with the engine it was built with
#: (wasmedge, wasmtime, wasmer; one at a time), when the pod carries one of these annotations and
#: containerd passes them through (``pod_annotations``).
CRUN_WASM_ENGINES = ("wasmedge", "wasmtime", "wasmer")
CRUN_WASM_ANNOTATIONS = ("module.wasm.image/variant", "run.oci.handler")
CRUN_SOURCE = "containers/crun docs/wasm-wasi-on-kubernetes.md"

#: containerd/runwasi README and test/k8s: ``runtime_type = "io.containerd.<engine>.v1"`` makes
#: containerd start ``containerd-shim-<engine>-v1``.
RUNWASI_ENGINES = ("wasmedge", "wasmtime", "wasmer")
RUNWASI_SOURCE = "containerd/runwasi README.md, test/k8s/Dockerfile"

#: spinkube/spin-operator config/samples/spin-runtime-class.yaml and spin-shim-executor.yaml: the
#: SpinAppExecutor ``containerd-shim-spin`` runs pods on RuntimeClass ``wasmtime-spin-v2``, handler
#: ``spin``; spinkube/containerd-shim-spin configures ``runtime_type = "io.containerd.spin.v2"``.
SPIN_RUNTIME_CLASS = "wasmtime-spin-v2"
SPIN_HANDLER = "spin"
SPIN_RUNTIME_TYPE = "io.containerd.spin.v2"
SPINKUBE_SOURCE = ("spinkube/spin-operator config/samples/spin-runtime-class.yaml, spin-shim-executor.yaml; "
                   "spinkube/containerd-shim-spin deployments/")
#: spinkube/containerd-shim-spin deployments/workloads/workload.yaml: what its sample Spin pod asks for.
SPIN_RESOURCES = {"requests": {"memory": "128Mi", "cpu": "100m"}, "limits": {"memory": "128Mi", "cpu": "100m"}}
SPIN_RESOURCES_SOURCE = "spinkube/containerd-shim-spin deployments/workloads/workload.yaml"
SPINAPP_API_VERSION = "core.spinkube.dev/v1alpha1"
SPIN_EXECUTOR = "containerd-shim-spin"

# --------------------------------------------------------------------------- MicroK8s

#: canonical/microk8s microk8s-resources/default-args/containerd-template.toml: the snap renders this
#: template on every start, expanding ${RUNTIME}, ${RUNTIME_TYPE}, ${SNAPSHOTTER}, ${SNAP_DATA}...;
#: its runc-shim runtimes say ``runtime_type = "${RUNTIME_TYPE}"``.
MICROK8S_RUNTIME_TYPE = "${RUNTIME_TYPE}"
MICROK8S_SOURCE = "canonical/microk8s microk8s-resources/default-args/containerd-template.toml"
