"""Turn node facts, a containerd config and RuntimeClass manifests into ok/info/warn/fail findings.

Each finding names what is wrong, why it matters (the symptom a user would see) and the command
that fixes it; findings that correspond to a troubleshooting entry carry its id.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from rtadvisor.errors import ArtifactError, InputError
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
    "containerd-shim-kata-v2": "install Kata Containers (kata-deploy, or the kata-containers release tarball "
    "into /opt/kata, which the kata-deploy-style runtime_path expects)",
    "containerd-shim-wasmer-v1": "install runwasi's shim: https://github.com/containerd/runwasi/releases "
    "(containerd-shim-wasmer-v1 into /usr/local/bin)",
    "containerd-shim-spin-v2": "install SpinKube's shim (https://github.com/spinkube/containerd-shim-spin/releases, "
    "or runtime-class-manager / the KWasm node installer)",
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


def as_list(value: Any) -> list[Any]:
    """A config value that should be a list, read leniently (a scalar is one item; nothing is empty)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


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
    for name in ("runc", "crun", "runsc", "kata-runtime", "wasmedge", "wasmtime", "wasmer", "spin", "containerd"):
        path = facts.programs.get(name)
        if path:
            out.append(Finding(f"program-{name}", "runtimes", "ok", f"{name} installed: {path}",
                               facts.versions.get(name, "version unknown")))
        else:
            out.append(Finding(f"program-{name}", "runtimes", "info", f"{name} not installed"))
    shims = [n for n in facts.programs if n.startswith("containerd-shim-")]
    out.append(Finding("shims", "runtimes", "info", "containerd shims on PATH: " + (", ".join(sorted(shims)) or "none")))
    return out


def check_crun(facts: NodeFacts, *, wasm_wanted: bool, engines: tuple[str, ...] = ()) -> list[Finding]:
    """crun's Wasm handler (``+WASM:<engine>`` in ``crun --version``) and >= 1.8.5 for Wasm stdout.

    ``engines``: the engines the configured crun runtimes are named for (``crun-wasmtime``): crun is
    built with one Wasm engine, and a handler named for another one runs nothing.
    """
    if "crun" not in facts.programs:
        status: Status = "fail" if wasm_wanted else "info"
        return [Finding("crun-wasm", "crun", status, "crun is not installed",
                        "route R2 needs crun with a Wasm handler" if wasm_wanted else "",
                        "apt-get install crun  # and a WasmEdge-enabled build for Wasm" if wasm_wanted else None)]
    version = facts.versions.get("crun", "?")
    have = [f.split(":", 1)[1] for f in facts.crun_features if f.upper().startswith("+WASM") and ":" in f]
    out = []
    if have:
        out.append(Finding("crun-wasm", "crun", "ok", f"crun {version} has a Wasm handler: {', '.join(have)}",
                           " ".join(facts.crun_features)))
    else:
        out.append(Finding(
            "crun-wasm", "crun", "fail" if wasm_wanted else "warn",
            f"crun {version} has no Wasm handler (no +WASM:<engine> in `crun --version`)",
            "route R2 (module.wasm.image/variant=compat-smart) would exec the .wasm as a Linux binary: "
            "`exec format error`; features: " + (" ".join(facts.crun_features) or "none reported"),
            "install crun >= 1.8.5 built with the Wasm engine you use (crun releases ship +WASM:wasmedge builds, "
            "https://github.com/containers/crun/releases; ./configure --with-wasmtime or --with-wasmer for the "
            "others), or use the runwasi shim of that engine (route R3)",
            "exec-format-error",
        ))
    for engine in engines:
        if engines_have := [e for e in have if e.lower() == engine]:
            out.append(Finding(f"crun-wasm-{engine}", "crun", "ok",
                               f"crun {version} runs {engine} (+WASM:{engines_have[0]}), as runtime crun-{engine} expects"))
        elif have:
            out.append(Finding(
                f"crun-wasm-{engine}", "crun", "fail",
                f"runtime crun-{engine} expects crun built with {engine}, but crun {version} has "
                f"{', '.join('+WASM:' + e for e in have)}",
                f"crun runs Wasm with the one engine it was built with: modules on crun-{engine} would run "
                f"on {have[0]}, not {engine}",
                f"install a crun built with {engine} (e.g. ./configure --with-{engine}) and point the runtime's "
                "BinaryName at it, or use the runwasi shim of that engine (route R3)", "exec-format-error"))
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


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _plain(obj: Any) -> Any:
    if hasattr(obj, "unwrap"):
        return obj.unwrap()
    return obj


#: The CRI plugin's ids in ``disabled_plugins`` (v1 short name, v2, and v3's split plugins).
CRI_PLUGIN_IDS = ("cri", "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images")
#: Writing the migrated config next to the old one, then moving it, keeps every runtime: a shell
#: redirect onto the file containerd is reading truncates it first (an empty config: only runc).
MIGRATE_V1 = ("containerd config dump > /etc/containerd/config.toml.new  # containerd 1.x prints it as version 2; "
              "or `containerd config migrate` on 2.x; review, then mv it over config.toml")


def check_config_shapes(doc: dict[str, Any], source: str, version: int | None) -> list[Finding]:
    """Values containerd cannot decode (:func:`rtadvisor.k8s.containerd.shape_problems`): each a fail
    naming the key, and what stops loading because of it."""
    return [Finding(f"containerd-config-shape-{p.key}", "containerd", "fail", f"{source}: {p.message()}",
                    f"containerd cannot decode the value: {p.consequence()}",
                    f"write {p.key} as {p.expected} (see `containerd config default`)")
            for p in ctd.shape_problems(doc, version)]


def _type_name(value: Any) -> str:
    return ctd.toml_kind(value)


def check_containerd_config(text: str, source: str, facts: NodeFacts) -> tuple[list[Finding], ConfigView]:
    out: list[Finding] = []
    body, hidden = ctd.hide_template_actions(text)
    try:
        doc = _plain(ctd.parse(body, where=source))
    except (ArtifactError, InputError) as exc:
        out.append(Finding("containerd-config-parse", "containerd", "fail", f"{source}: not valid TOML", str(exc),
                           "fix the syntax; `containerd config dump` shows where containerd stops"))
        return out, ConfigView(source, None, {}, None)
    raw_version = doc.get("version")
    plugins = doc.get("plugins") if isinstance(doc.get("plugins"), dict) else {}
    by_version = {v: ctd.configured_runtimes(doc, v) for v in (1, 2, 3)}
    # MicroK8s's containerd-template.toml (and similar) carry ${VAR}s the distribution expands.
    placeholders = "${" in body
    version: int | None
    if raw_version is None and hidden:
        version = 3 if by_version[3] and not by_version[2] else 2
        out.append(Finding("containerd-config-version", "containerd", "info",
                           f"{source}: a K3s/RKE2 template; version comes from the base template"))
    elif raw_version is None:
        version = 1
        qualified = [k for k in (ctd.CRI_PLUGIN[2], ctd.CRI_PLUGIN[3]) if k in plugins]
        if qualified and "cri" not in plugins:
            wanted = 2 if qualified[0] == ctd.CRI_PLUGIN[2] else 3
            out.append(Finding(
                "containerd-config-version", "containerd", "fail",
                f'{source}: no `version` key, but plugins."{qualified[0]}" is a version {wanted} name',
                "without `version`, containerd reads the file as config version 1, where the CRI plugin is "
                f'`plugins.cri`: everything under plugins."{qualified[0]}" is ignored, runtimes included',
                f"add `version = {wanted}` as the first line (the keys already are version {wanted} names)",
                "no-runtime-configured"))
        elif plugins:
            out.append(Finding(
                "containerd-config-version", "containerd", "info",
                f"{source}: config version 1 (no `version` key; CRI plugin at plugins.cri)",
                "deprecated but read by containerd 1.x and migrated in memory by containerd 2.x; do not just add "
                "`version = 2`: that renames nothing, and containerd then ignores plugins.cri and every runtime in it",
                MIGRATE_V1))
            out += _check_version_vs_daemon(1, source, facts)
    elif isinstance(raw_version, bool) or not isinstance(raw_version, int) or raw_version not in ctd.CRI_PLUGIN:
        out.append(Finding("containerd-config-version", "containerd", "fail",
                           f"{source}: version = {_short(raw_version)} is not a containerd config version",
                           "containerd refuses to start", "set version = 2 (containerd 1.x) or 3 (containerd 2.x)"))
        version = None
    else:
        version = int(raw_version)
        if version == 1:
            out.append(Finding("containerd-config-version", "containerd", "info",
                               f"{source}: config version 1 (CRI plugin at plugins.cri)",
                               "deprecated but read by containerd 1.x and migrated in memory by containerd 2.x",
                               MIGRATE_V1))
        else:
            out.append(Finding("containerd-config-version", "containerd", "ok", f"{source}: config version {version}"))
        out += _check_version_vs_daemon(version, source, facts)
    if version == 3 and by_version[2]:
        out.append(Finding(
            "containerd-v2-keys-in-v3", "containerd", "fail",
            f"{source}: version 3 file configures runtimes under version 2 keys: {', '.join(sorted(by_version[2]))}",
            f'plugins."{ctd.CRI_PLUGIN[2]}" is ignored by containerd 2: pods fail with '
            '`no runtime for "<handler>" is configured`',
            f'move those tables to [plugins."{ctd.CRI_PLUGIN[3]}".containerd.runtimes.<name>] (same names and '
            "contents); `containerd config migrate` does not: the file already says version 3",
            "no-runtime-configured",
        ))
    if version == 2 and by_version[3]:
        out.append(Finding(
            "containerd-v3-keys-in-v2", "containerd", "fail",
            f"{source}: version 2 file configures runtimes under version 3 keys: {', '.join(sorted(by_version[3]))}",
            f'containerd 1.x ignores plugins."{ctd.CRI_PLUGIN[3]}"',
            f'move them to [plugins."{ctd.CRI_PLUGIN[2]}".containerd.runtimes.<name>]', "no-runtime-configured",
        ))
    if version in (2, 3) and by_version[1]:
        out.append(Finding(
            "containerd-v1-keys", "containerd", "fail",
            f"{source}: version {version} file configures runtimes under version 1 keys (plugins.cri): "
            f"{', '.join(sorted(by_version[1]))}",
            f"with version = {version}, `cri` is not a plugin name: those runtimes are ignored",
            f'move them to [plugins."{ctd.CRI_PLUGIN[version]}".containerd.runtimes.<name>] (same names and '
            "contents)", "no-runtime-configured",
        ))
    out += check_config_shapes(doc, source, version)
    runtimes = by_version.get(version or 0, {})
    disabled = [str(p) for p in as_list(doc.get("disabled_plugins"))]
    off = [p for p in disabled if p in CRI_PLUGIN_IDS]
    if off:
        out.append(Finding("containerd-cri-disabled", "containerd", "fail",
                           f"{source}: the CRI plugin is disabled ({', '.join(off)} in disabled_plugins)",
                           "kubelet cannot talk to this containerd at all: no pod starts on the node, whatever "
                           "runtimes are configured (package defaults such as Docker's containerd.io ship it so)",
                           f"remove {', '.join(repr(p) for p in off)} from disabled_plugins and restart containerd",
                           "no-runtime-configured"))
    cri_key = ctd.CRI_PLUGIN.get(version or 0, "")
    cri_plugin = _table(plugins.get(cri_key))
    cri = _table(cri_plugin.get("containerd"))
    default = cri.get("default_runtime_name")
    effective_default = str(default or "runc")
    extends_base = bool(hidden) or placeholders
    # containerd 1.x replaces its built-in runtimes map with the file's, so once a file defines any
    # runtime, the default one must be among them or the whole CRI plugin fails to load (seen on a
    # real containerd 1.6: "no corresponding runtime configured in containerd.runtimes for
    # default_runtime_name"). Templates extend a base that defines runc, so they are exempt, and a
    # default the distribution fills in (${RUNTIME}) is not known here.
    if ctd.is_placeholder(default):
        out.append(Finding("containerd-default-runtime", "containerd", "info",
                           f"{source}: default_runtime_name = {default!r} is filled in by the distribution"))
    elif runtimes and effective_default not in runtimes and not hidden:
        out.append(Finding(
            "containerd-default-runtime", "containerd", "fail",
            f"{source}: defines runtimes ({', '.join(sorted(runtimes))}) but not the default {effective_default!r}",
            "the CRI plugin does not load: `no corresponding runtime configured in containerd.runtimes for "
            f"default_runtime_name = \"{effective_default}\"`; every pod fails",
            f"add {ctd.runtimes_header(version or 2, effective_default)} with runtime_type = "
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
    return out, ConfigView(source, version, runtimes, None if ctd.is_placeholder(default) else default, extends_base)


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
                        "upgrade to containerd >= 2.0, or write the file as version 2: `version = 2` and every "
                        f'plugins."{ctd.CRI_PLUGIN[3]}" table moved to plugins."{ctd.CRI_PLUGIN[2]}" (same names)')]
    if version in (1, 2) and major >= 2:
        return [Finding("containerd-config-daemon", "containerd", "info",
                        f"{source}: config version {version} on containerd {label}: migrated to version 3 in memory "
                        "on every start",
                        fix="containerd config migrate > /etc/containerd/config.toml.new  # review, then mv it over "
                        "config.toml (never redirect onto the file containerd is reading)")]
    return [Finding("containerd-config-daemon", "containerd", "ok",
                    f"{source}: config version {version} is read by the installed containerd {label}")]


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
    if ctd.is_placeholder(runtime_type) and not table.get("runtime_path"):
        out.append(Finding(f"runtime-{name}-shim", "containerd", "info",
                           f"{where}: runtime_type {runtime_type} is filled in by the distribution (shim not checked)"))
    else:
        shim = str(table.get("runtime_path") or shim_binary(runtime_type))
        found = facts.which(shim)
        if found:
            out.append(Finding(f"runtime-{name}-shim", "containerd", "ok", f"{where}: shim {shim} found at {found}"))
        else:
            out.append(Finding(
                f"runtime-{name}-shim", "containerd", "fail", f"{where}: shim {shim} not found"
                + ("" if shim.startswith("/") else " on PATH"),
                f"{'runtime_path' if table.get('runtime_path') else 'runtime_type ' + runtime_type} makes containerd "
                f"exec {shim}; pods fail with `failed to start shim: ... {shim}: file does not exist`",
                SHIM_FIXES.get(Path(shim).name, f"install {Path(shim).name} into /usr/local/bin"), "shim-not-found",
            ))
    if "kata" in runtime_type and not table.get("privileged_without_host_devices"):
        out.append(Finding(
            f"runtime-{name}-privileged", "containerd", "warn",
            f"{where}: Kata runtime without privileged_without_host_devices = true",
            "a privileged pod then gets every host block device inside its VM (Kata docs, "
            "how-to/privileged.md; kata-deploy sets it)",
            "add privileged_without_host_devices = true to the runtime table"))
    options = table.get("options") or {}
    if not isinstance(options, dict):
        out.append(Finding(f"runtime-{name}-options", "containerd", "fail", f"{where}: options is not a table",
                           "containerd refuses the config (it cannot decode options)",
                           f"write it as a table: [{'...'}.runtimes.{name}.options]"))
        options = {}
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
    if config_path and not ctd.is_placeholder(config_path) and not Path(str(config_path)).exists():
        out.append(Finding(f"runtime-{name}-configpath", "containerd", "fail",
                           f"{where}: options.ConfigPath {config_path} does not exist",
                           "the shim reads this file at every container start and fails without it "
                           "(gVisor: `decode config file`; Kata: no configuration)",
                           f"create {config_path} (runsc: rtadvisor generate writes containerd/runsc.toml; Kata: "
                           "installed with Kata under /opt/kata/share/defaults/kata-containers/), or remove ConfigPath"))
    is_crun = binary is not None and Path(str(binary)).name == "crun"
    if is_crun:
        annotations = [str(a) for a in as_list(table.get("pod_annotations"))]
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
    """Every RuntimeClass object in ``docs``, also inside ``List``/``RuntimeClassList`` items (what
    ``kubectl get runtimeclass -o yaml`` prints); anything else is skipped."""
    out = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "RuntimeClass":
            out.append(doc)
        elif isinstance(doc, dict) and doc.get("kind") in ("List", "RuntimeClassList"):
            items = doc.get("items")
            out += runtime_classes_from_docs(items if isinstance(items, list) else [])
    return out


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_runtime_classes(docs: list[Any], source: str) -> tuple[list[dict[str, Any]], list[Finding]]:
    """The RuntimeClasses of a file, each checked against the Kubernetes schema (kubernetes-validate):
    ``(valid classes, a fail finding per class the API server would refuse)``.

    A class with a list for ``handler`` or ``metadata`` never reaches a node (``kubectl apply``
    refuses it), so it is reported with the failing field instead of being checked against containerd.
    """
    from rtadvisor.k8s.validate import validate_manifest

    valid: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") in ("List", "RuntimeClassList") \
                and not isinstance(doc.get("items"), list | None):
            findings.append(Finding("rc-list-items", "runtimeclass", "fail",
                                    f"{source}: {doc.get('kind')}.items: expected a list, found "
                                    f"{_type_name(doc.get('items'))}",
                                    "kubectl cannot read the list: none of its RuntimeClasses is applied",
                                    "items is a list of RuntimeClass objects"))
    for index, rc in enumerate(runtime_classes_from_docs(docs)):
        meta = rc.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        label = name if isinstance(name, str) and name else f"#{index + 1}"
        try:
            validate_manifest(rc, where=f"RuntimeClass {_short(label, 63)}")
        except ArtifactError as exc:
            findings.append(Finding(f"rc-{_short(label, 63)}-schema", "runtimeclass", "fail",
                                    f"{source}: {_short(str(exc), 200)}",
                                    "the API server refuses this RuntimeClass (`kubectl apply` fails validation), "
                                    "so no pod can use it",
                                    "fix the field named (RuntimeClass node.k8s.io/v1: metadata.name, handler, "
                                    "overhead.podFixed, scheduling)"))
            continue
        valid.append(rc)
    return valid, findings


def _rc_name(rc: dict[str, Any]) -> str:
    meta = rc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else "?"


def _rc_handler(rc: dict[str, Any]) -> str:
    handler = rc.get("handler")
    return handler if isinstance(handler, str) else ""


def check_runtime_classes(classes: list[dict[str, Any]], source: str, view: ConfigView | None) -> list[Finding]:
    out: list[Finding] = []
    if not classes:
        return [Finding("runtimeclasses", "runtimeclass", "info", f"{source}: no RuntimeClass found")]
    for rc in classes:
        name, handler = _rc_name(rc), _rc_handler(rc)
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


def check_class_conflicts(classes: list[dict[str, Any]], source: str, existing: dict[str, str],
                          owner: str) -> list[Finding]:
    """RuntimeClasses that cannot be applied: the name exists with another handler (immutable)."""
    out: list[Finding] = []
    for rc in classes:
        name, handler = _rc_name(rc), _rc_handler(rc)
        theirs = existing.get(name)
        if theirs is not None and theirs != handler:
            out.append(Finding(
                f"rc-{name}-conflict", "runtimeclass", "fail",
                f"RuntimeClass {name} in {source}: handler {handler!r}, but {owner} already has {name} -> {theirs!r}",
                "RuntimeClass.handler is immutable: `kubectl apply` fails (field is immutable), and pods naming "
                f"{name} keep running on {theirs!r}",
                f"use the existing class (runtimeClassName: {name}, handler {theirs}) or give yours another name "
                "(rtadvisor generate --distro k3s reuses K3s's classes)"))
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
            options = table.get("options")
            value = options.get("SystemdCgroup") if isinstance(options, dict) else None
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
                   "K3s writes them into its base template and ships RuntimeClasses of the same names "
                   "(handler = name); a config.toml.tmpl must not define tables of those names, and "
                   "pods use the classes as they are")]
    if "crun" in facts.k3s_detected:
        out.append(Finding("k3s-crun-annotations", "k3s", "info",
                           "K3s's auto-detected `crun` runtime has no pod_annotations",
                           f"Wasm pods through it lose {WASM_VARIANT_ANNOTATION}",
                           "rtadvisor generate --distro k3s --runtime wasmedge --route R2 (adds crun-wasmedge, "
                           "with the annotations, next to K3s's crun)"))
    return out
