"""Turn node facts, a containerd config and RuntimeClass manifests into ok/info/warn/fail findings.

Each finding names what is wrong, why it matters (the symptom a user would see) and the command
that fixes it; findings that correspond to a troubleshooting entry carry its id.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from rtadvisor.errors import ArtifactError
from rtadvisor.k8s import containerd as ctd
from rtadvisor.k8s.handlers import WASM_VARIANT_ANNOTATION, is_dns_label, shim_binary

from .facts import NodeFacts

Status = Literal["ok", "info", "warn", "fail"]
RANK = {"ok": 0, "info": 0, "warn": 1, "fail": 2}
#: Exit codes: 0 nothing worse than info, 1 a warning, 3 a failure (2 is reserved for bad input).
EXIT_CODES = {0: 0, 1: 1, 2: 3}
CRUN_WASM_STDOUT = (1, 8, 5)

SHIM_FIXES = {
    "containerd-shim-runsc-v1": "install gVisor's shim from https://gvisor.dev/docs/user_guide/install/ "
    "(Debian's runsc package has no containerd-shim-runsc-v1)",
    "containerd-shim-wasmedge-v1": "install runwasi's shim: https://github.com/containerd/runwasi/releases "
    "(containerd-shim-wasmedge-v1 into /usr/local/bin)",
    "containerd-shim-wasmtime-v1": "install runwasi's shim: https://github.com/containerd/runwasi/releases "
    "(containerd-shim-wasmtime-v1 into /usr/local/bin)",
    "containerd-shim-kata-v2": "install Kata Containers (kata-deploy, or the kata-containers release tarball)",
    "containerd-shim-runc-v2": "apt-get install containerd (the runc v2 shim ships with it)",
}


@dataclass(frozen=True)
class Finding:
    id: str
    area: str
    status: Status
    title: str
    detail: str = ""
    fix: str | None = None
    troubleshooting: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def worst(findings: list[Finding]) -> Status:
    if not findings:
        return "ok"
    return max(findings, key=lambda f: RANK[f.status]).status


def exit_code(findings: list[Finding]) -> int:
    return EXIT_CODES[RANK[worst(findings)]]


def parse_version(text: str | None) -> tuple[int, ...] | None:
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not m:
        return None
    return tuple(int(x) for x in m.groups(default="0"))


# --------------------------------------------------------------------------- programs


def check_programs(facts: NodeFacts) -> list[Finding]:
    out = []
    for name in ("runc", "crun", "runsc", "kata-runtime", "wasmedge", "wasmtime", "containerd"):
        path = facts.programs.get(name)
        if path:
            out.append(Finding(f"program-{name}", "runtimes", "ok", f"{name} installed: {path}",
                               facts.versions.get(name, "version unknown")))
        else:
            out.append(Finding(f"program-{name}", "runtimes", "info", f"{name} not installed"))
    shims = [n for n in facts.programs if n.startswith("containerd-shim-")]
    out.append(Finding("shims", "runtimes", "info", "containerd shims on PATH: " + (", ".join(sorted(shims)) or "none")))
    return out


def check_crun(facts: NodeFacts, *, wasm_wanted: bool) -> list[Finding]:
    """crun's Wasm handler (``+WASM:<engine>`` in ``crun --version``) and >= 1.8.5 for Wasm stdout."""
    if "crun" not in facts.programs:
        status: Status = "fail" if wasm_wanted else "info"
        return [Finding("crun-wasm", "crun", status, "crun is not installed",
                        "route R2 needs crun with a Wasm handler" if wasm_wanted else "",
                        "apt-get install crun  # and a WasmEdge-enabled build for Wasm" if wasm_wanted else None)]
    version = facts.versions.get("crun", "?")
    engines = [f.split(":", 1)[1] for f in facts.crun_features if f.upper().startswith("+WASM")]
    out = []
    if engines:
        out.append(Finding("crun-wasm", "crun", "ok", f"crun {version} has a Wasm handler: {', '.join(engines)}",
                           " ".join(facts.crun_features)))
    else:
        out.append(Finding(
            "crun-wasm", "crun", "fail" if wasm_wanted else "warn",
            f"crun {version} has no Wasm handler (no +WASM:wasmedge in `crun --version`)",
            "route R2 (module.wasm.image/variant=compat-smart) would exec the .wasm as a Linux binary: "
            "`exec format error`; features: " + (" ".join(facts.crun_features) or "none reported"),
            "install crun >= 1.8.5 built with WasmEdge (https://github.com/containers/crun/releases, "
            "e.g. crun-<ver>-linux-amd64 with +WASM:wasmedge), or use a runwasi shim (route R3)",
            "exec-format-error",
        ))
    parsed = parse_version(version)
    if parsed is not None and parsed < CRUN_WASM_STDOUT:
        out.append(Finding(
            "crun-wasm-stdout", "crun", "warn",
            f"crun {version} < 1.8.5: Wasm stdout is not redirected to the container's pipe",
            "`kubectl logs` stays empty for Wasm pods run by crun",
            "upgrade crun >= 1.8.5", "TS-logs-empty",
        ))
    elif parsed is not None:
        out.append(Finding("crun-wasm-stdout", "crun", "ok", f"crun {version} >= 1.8.5 (Wasm stdout reaches logs)"))
    return out


# --------------------------------------------------------------------------- containerd config


@dataclass(frozen=True)
class ConfigView:
    """What the checks learned from a containerd config."""

    source: str
    version: int | None
    runtimes: dict[str, dict[str, Any]]
    default_runtime: str | None
    template: bool = False  # a K3s/RKE2 template: its base defines runc


def _plain(obj: Any) -> Any:
    if hasattr(obj, "unwrap"):
        return obj.unwrap()
    return obj


def check_containerd_config(text: str, source: str, facts: NodeFacts) -> tuple[list[Finding], ConfigView]:
    out: list[Finding] = []
    body, hidden = ctd.hide_template_actions(text)
    try:
        doc = _plain(ctd.parse(body, where=source))
    except ArtifactError as exc:
        out.append(Finding("containerd-config-parse", "containerd", "fail", f"{source}: not valid TOML", str(exc),
                           "fix the syntax; `containerd config dump` shows where containerd stops"))
        return out, ConfigView(source, None, {}, None)
    version = doc.get("version")
    try:
        version = int(version) if version is not None else None
    except (TypeError, ValueError):
        version = None
    v2 = ctd.configured_runtimes(doc, 2)
    v3 = ctd.configured_runtimes(doc, 3)
    if version is None and hidden:
        version = 3 if v3 and not v2 else 2
        out.append(Finding("containerd-config-version", "containerd", "info",
                           f"{source}: a K3s/RKE2 template; version comes from the base template"))
    elif version is None:
        if doc.get("plugins"):
            out.append(Finding("containerd-config-version", "containerd", "fail",
                               f"{source}: no `version` key: containerd reads it as config version 1",
                               "v1 uses short plugin names (plugins.cri); the runtime entries are ignored",
                               "add `version = 2` (containerd 1.x) or run `containerd config migrate` (2.x)"))
        version = 2 if v2 else 3 if v3 else None
    else:
        out.append(Finding("containerd-config-version", "containerd", "ok", f"{source}: config version {version}"))
        out += _check_version_vs_daemon(version, source, facts)
    if version == 3 and v2:
        out.append(Finding(
            "containerd-v2-keys-in-v3", "containerd", "fail",
            f"{source}: version 3 file configures runtimes under version 2 keys: {', '.join(sorted(v2))}",
            f'plugins."{ctd.CRI_PLUGIN[2]}" is ignored by containerd 2: pods fail with '
            '`no runtime for "<handler>" is configured`',
            f'move them to [plugins."{ctd.CRI_PLUGIN[3]}".containerd.runtimes.<name>] '
            "(`containerd config migrate`, or `rtadvisor generate --containerd-config FILE`)",
            "no-runtime-configured",
        ))
    if version == 2 and v3:
        out.append(Finding(
            "containerd-v3-keys-in-v2", "containerd", "fail",
            f"{source}: version 2 file configures runtimes under version 3 keys: {', '.join(sorted(v3))}",
            f'containerd 1.x ignores plugins."{ctd.CRI_PLUGIN[3]}"',
            f'move them to [plugins."{ctd.CRI_PLUGIN[2]}".containerd.runtimes.<name>]', "no-runtime-configured",
        ))
    runtimes = (v3 if version == 3 else v2) if version in (2, 3) else {}
    disabled = [str(p) for p in doc.get("disabled_plugins", [])]
    if any(p in ("cri", ctd.CRI_PLUGIN[2], ctd.CRI_PLUGIN[3], "io.containerd.grpc.v1.cri") for p in disabled):
        out.append(Finding("containerd-cri-disabled", "containerd", "warn", f"{source}: the CRI plugin is disabled",
                           "kubelet cannot use this containerd; the runtime entries only matter to CRI",
                           "remove the CRI plugin from disabled_plugins"))
    cri_key = ctd.CRI_PLUGIN.get(version or 0, "")
    cri = ((doc.get("plugins") or {}).get(cri_key) or {}).get("containerd") or {}
    default = cri.get("default_runtime_name")
    effective_default = str(default or "runc")
    # containerd 1.x replaces its built-in runtimes map with the file's, so once a file defines any
    # runtime, the default one must be among them or the whole CRI plugin fails to load (seen on a
    # real containerd 1.6: "no corresponding runtime configured in containerd.runtimes for
    # default_runtime_name"). Templates extend a base that defines runc, so they are exempt.
    if runtimes and effective_default not in runtimes and not hidden:
        out.append(Finding(
            "containerd-default-runtime", "containerd", "fail",
            f"{source}: defines runtimes ({', '.join(sorted(runtimes))}) but not the default {effective_default!r}",
            "the CRI plugin does not load: `no corresponding runtime configured in containerd.runtimes for "
            f"default_runtime_name = \"{effective_default}\"`; every pod fails",
            f'add [plugins."{cri_key}".containerd.runtimes.{effective_default}] with runtime_type = '
            '"io.containerd.runc.v2" (rtadvisor generate adds it)',
        ))
    elif default and not runtimes and default != "runc":
        out.append(Finding("containerd-default-runtime", "containerd", "fail",
                           f"{source}: default_runtime_name = {default!r} but no runtime of that name is configured",
                           fix=f"add runtimes.{default} or set default_runtime_name = \"runc\""))
    for name, table in sorted(runtimes.items()):
        out += _check_runtime(name, table, source, facts)
    out.append(Finding("containerd-runtimes", "containerd", "info",
                       f"{source}: runtimes configured: {', '.join(sorted(runtimes)) or 'none (only the built-in runc)'}"))
    return out, ConfigView(source, version, runtimes, default, bool(hidden))


def _check_version_vs_daemon(version: int, source: str, facts: NodeFacts) -> list[Finding]:
    """containerd 1.x ignores version 3 plugin keys; containerd 2.x migrates version 2 on load.

    Checked on this node: containerd 1.6.20 *starts* with ``version = 3`` (no error), and simply
    never sees ``plugins."io.containerd.cri.v1.runtime"``, so every runtime entry there is silently
    missing — the worse failure, because nothing says so at start-up.
    """
    installed = facts.versions.get("containerd")
    m = re.search(r"\sv?(\d+)\.(\d+)\.(\d+)", f" {installed}") if installed else None
    if m is None:
        return []
    major = int(m.group(1))
    label = ".".join(m.groups())
    if version == 3 and major < 2:
        return [Finding("containerd-config-daemon", "containerd", "fail",
                        f"{source}: config version 3 but the installed containerd is {label}",
                        "containerd 1.x starts without complaint but ignores the version 3 plugin keys "
                        f'(plugins."{ctd.CRI_PLUGIN[3]}"): every runtime configured there is missing',

                        "upgrade to containerd >= 2.0, or write the file as version 2 "
                        "(rtadvisor generate --containerd-version 2)")]
    if version == 2 and major >= 2:
        return [Finding("containerd-config-daemon", "containerd", "info",
                        f"{source}: config version 2 on containerd {label}: migrated to version 3 on every start",
                        fix="containerd config migrate > config.toml  # make the migration permanent")]
    return [Finding("containerd-config-daemon", "containerd", "ok",
                    f"{source}: config version {version} matches the installed containerd {label}")]


def _check_runtime(name: str, table: dict[str, Any], source: str, facts: NodeFacts) -> list[Finding]:
    out: list[Finding] = []
    where = f"{source}: runtime {name!r}"
    if not is_dns_label(name):
        out.append(Finding(f"runtime-{name}-name", "containerd", "warn", f"{where}: name is not a DNS label",
                           "RuntimeClass.handler must be a DNS label, so no RuntimeClass can select it",
                           "rename the runtime table (lowercase letters, digits, '-')"))
    runtime_type = str(table.get("runtime_type", ""))
    if not runtime_type:
        out.append(Finding(f"runtime-{name}-type", "containerd", "fail", f"{where}: no runtime_type",
                           fix='set runtime_type (e.g. "io.containerd.runc.v2")'))
        return out
    shim = str(table.get("runtime_path") or shim_binary(runtime_type))
    found = facts.which(shim)
    if found:
        out.append(Finding(f"runtime-{name}-shim", "containerd", "ok", f"{where}: shim {shim} found at {found}"))
    else:
        out.append(Finding(
            f"runtime-{name}-shim", "containerd", "fail", f"{where}: shim {shim} not found on PATH",
            f"runtime_type {runtime_type} makes containerd exec {shim}; pods fail with "
            f"`failed to start shim: ... {shim}: file does not exist`",
            SHIM_FIXES.get(shim, f"install {shim} into /usr/local/bin"), "shim-not-found",
        ))
    options = table.get("options") or {}
    binary = options.get("BinaryName")
    if binary:
        located = facts.which(str(binary))
        if located:
            out.append(Finding(f"runtime-{name}-binary", "containerd", "ok", f"{where}: BinaryName {binary} -> {located}"))
        else:
            out.append(Finding(f"runtime-{name}-binary", "containerd", "fail", f"{where}: BinaryName {binary} not found",
                               "the runc v2 shim cannot start containers for this handler",
                               f"install {Path(str(binary)).name} or fix BinaryName"))
    config_path = options.get("ConfigPath")
    if config_path and not Path(str(config_path)).exists():
        out.append(Finding(f"runtime-{name}-configpath", "containerd", "warn",
                           f"{where}: options.ConfigPath {config_path} does not exist",
                           fix=f"create {config_path} (for runsc: `[runsc_config]` with e.g. platform = \"systrap\")"))
    is_crun = binary is not None and Path(str(binary)).name == "crun"
    if is_crun:
        annotations = [str(a) for a in table.get("pod_annotations", [])]
        passes = any(a == WASM_VARIANT_ANNOTATION or (a.endswith("*") and WASM_VARIANT_ANNOTATION.startswith(a[:-1]))
                     for a in annotations)
        if not passes:
            out.append(Finding(
                f"runtime-{name}-annotations", "containerd", "warn",
                f"{where}: crun runtime without pod_annotations for {WASM_VARIANT_ANNOTATION}",
                "containerd drops the pod's Wasm annotation, so crun runs the module as a Linux binary "
                "(`exec format error`)",
                f'add pod_annotations = ["{WASM_VARIANT_ANNOTATION}"] (rtadvisor generate --runtime wasmedge '
                "--route R2 --containerd-config FILE)", "exec-format-error",
            ))
    return out


# --------------------------------------------------------------------------- RuntimeClasses


def runtime_classes_from_docs(docs: list[Any]) -> list[dict[str, Any]]:
    out = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "RuntimeClass":
            out.append(doc)
        elif isinstance(doc, dict) and doc.get("kind") in ("List", "RuntimeClassList"):
            out += runtime_classes_from_docs(doc.get("items") or [])
    return out


def check_runtime_classes(classes: list[dict[str, Any]], source: str, view: ConfigView | None) -> list[Finding]:
    out: list[Finding] = []
    if not classes:
        return [Finding("runtimeclasses", "runtimeclass", "info", f"{source}: no RuntimeClass found")]
    for rc in classes:
        name = str((rc.get("metadata") or {}).get("name", "?"))
        handler = str(rc.get("handler", ""))
        if not is_dns_label(handler):
            out.append(Finding(f"rc-{name}", "runtimeclass", "fail", f"RuntimeClass {name}: handler {handler!r} is not a DNS label",
                               fix="use a lowercase DNS label that matches a containerd runtime name"))
            continue
        if view is None or view.version is None:
            out.append(Finding(f"rc-{name}", "runtimeclass", "warn",
                               f"RuntimeClass {name}: handler {handler!r} not checked (no containerd config read)",
                               fix="rtadvisor doctor --containerd-config /etc/containerd/config.toml --runtimeclasses FILE"))
            continue
        # containerd's built-in runc only survives when the file defines no runtimes (or a template's base has it)
        known = set(view.runtimes) | ({"runc"} if not view.runtimes or view.template else set())
        if handler in known:
            out.append(Finding(f"rc-{name}", "runtimeclass", "ok",
                               f"RuntimeClass {name}: handler {handler!r} is configured in {view.source}"))
            continue
        near = [n for n in view.runtimes if n.startswith(handler) or handler.startswith(n)]
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        out.append(Finding(
            f"rc-{name}", "runtimeclass", "fail",
            f'RuntimeClass {name}: handler {handler!r} has no containerd runtime in {view.source}{hint}',
            f'pods with runtimeClassName: {name} fail with `no runtime for "{handler}" is configured`',
            f"add [plugins.\"{ctd.CRI_PLUGIN.get(view.version, ctd.CRI_PLUGIN[2])}\".containerd.runtimes.{handler}] "
            f"(rtadvisor generate --containerd-config {view.source}) and restart containerd, "
            "or change the RuntimeClass handler",
            "no-runtime-configured",
        ))
    return out


# --------------------------------------------------------------------------- cgroups, KVM, K3s


def check_cgroups(facts: NodeFacts, view: ConfigView | None) -> list[Finding]:
    cg = facts.cgroups
    out = [Finding("cgroups", "cgroups", "info", f"cgroup layout: {cg.mode}"
                   + (f" (cgroup2 at {cg.unified_mount}, controllers: {' '.join(cg.unified_controllers) or 'none'})"
                      if cg.unified_mount else "")
                   + f"; PID 1 is {'systemd' if cg.systemd_pid1 else 'not systemd'}")]
    if cg.mode == "hybrid" and "crun" in facts.programs and cg.unified_controllers:
        out.append(Finding("cgroups-hybrid-crun", "cgroups", "warn",
                           "hybrid cgroups with controllers on the cgroup2 side: crun 1.8 refuses to run",
                           "`crun run` fails with `cgroups in hybrid mode not supported`",
                           "boot with systemd.unified_cgroup_hierarchy=1 (pure v2) or =0 (pure v1)"))
    systemd_cgroup = None
    if view is not None:
        for name, table in view.runtimes.items():
            value = (table.get("options") or {}).get("SystemdCgroup")
            if value is not None:
                systemd_cgroup = bool(value) if systemd_cgroup is None else systemd_cgroup or bool(value)
                if value and not cg.systemd_pid1:
                    out.append(Finding(f"cgroups-driver-{name}", "cgroups", "fail",
                                       f"runtime {name!r}: SystemdCgroup = true but PID 1 is not systemd",
                                       "containers fail to start (no systemd to create scopes)",
                                       f"set SystemdCgroup = false for runtime {name!r}"))
    driver = "systemd" if systemd_cgroup else "cgroupfs"
    if facts.kubelet_cgroup_driver and systemd_cgroup is not None and facts.kubelet_cgroup_driver != driver:
        out.append(Finding("cgroups-driver-mismatch", "cgroups", "fail",
                           f"kubelet cgroupDriver={facts.kubelet_cgroup_driver} but containerd uses {driver}",
                           "pods are killed or the node goes NotReady when the two drivers disagree",
                           f"make them agree: SystemdCgroup = {str(facts.kubelet_cgroup_driver == 'systemd').lower()}"))
    elif systemd_cgroup is not None:
        out.append(Finding("cgroups-driver", "cgroups", "ok", f"containerd cgroup driver: {driver}"))
    return out


def check_kvm(facts: NodeFacts, *, vm_wanted: bool) -> list[Finding]:
    kvm = facts.kvm
    if not kvm.device:
        return [Finding("kvm", "kvm", "fail" if vm_wanted else "info", "/dev/kvm is missing",
                        "Kata and VM runtimes need hardware virtualization",
                        "enable VT-x/AMD-V (or nested virtualization) and `modprobe kvm_intel` / `kvm_amd`"
                        if vm_wanted else None)]
    if kvm.module == "kvm_pvm" or not kvm.cpu_flags:
        return [Finding("kvm", "kvm", "fail" if vm_wanted else "warn",
                        f"/dev/kvm is provided by {kvm.module or 'an unknown module'} without vmx/svm CPU flags",
                        "software (PVM) virtualization: tiny firmware guests run, a stock Linux guest kernel does not "
                        "boot, so Kata / VM runtimes are not usable here",
                        "run VM runtimes on hosts with hardware virtualization (vmx/svm), or use gVisor for isolation")]
    return [Finding("kvm", "kvm", "ok", f"/dev/kvm present ({kvm.module}, CPU flags {' '.join(kvm.cpu_flags)})")]


def check_k3s(facts: NodeFacts) -> list[Finding]:
    if not facts.k3s_detected:
        return [Finding("k3s-detected", "k3s", "info", "K3s would detect no extra runtimes on this node")]
    out = [Finding("k3s-detected", "k3s", "info",
                   "K3s would configure these runtimes by itself: "
                   + ", ".join(f"{k} ({v})" for k, v in sorted(facts.k3s_detected.items())),
                   "K3s writes them into its base template and creates matching RuntimeClasses; a "
                   "config.toml.tmpl must not define tables of the same names")]
    if "crun" in facts.k3s_detected:
        out.append(Finding("k3s-crun-annotations", "k3s", "info",
                           "K3s's auto-detected `crun` runtime has no pod_annotations",
                           f"Wasm pods through it lose {WASM_VARIANT_ANNOTATION}",
                           "rtadvisor generate --distro k3s --runtime wasmedge --route R2 (adds crun-rtadvisor)"))
    return out
