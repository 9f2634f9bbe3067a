"""Assemble every deployment artifact of a decision into one bundle of files (pure).

The CLI gathers the inputs (decision, overhead numbers, existing config and manifest texts) and
writes the bundle; here we only render and validate, so the whole generator is unit-testable.

What the distribution already provides is reused, never shadowed: K3s/RKE2 ship RuntimeClasses
(``crun``, ``wasmedge``, ``wasmtime``, ``spin``, ...) with ``handler`` equal to the name and write the
runtime entry themselves when they find the binary, so for those the bundle emits neither the class
(``handler`` is immutable: applying another one fails) nor the table (defined twice, the template
stops containerd), and says where to install the binary instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml as pyyaml

from rtadvisor.errors import ArtifactError, InputError, ManifestError

from . import containerd as ctd
from . import upstream as up
from .dockerfiles import route1_dockerfile, route1_entrypoint, scratch_dockerfile, spin_dockerfile
from .handlers import (
    ROUTES,
    RUNC,
    RUNSC,
    RUNTIME_IDS,
    WASM_RESOURCES_KINDS,
    WASM_ROUTES,
    WASM_VARIANT_ANNOTATION,
    Handler,
    effective_route,
    handlers_for,
    is_dns_label,
)
from .patches import WASI_SOCKET_ENV, WASM_RESOURCES, PodPatch, json_patch, patch_manifest, sample_deployment
from .runtimeclass import Overhead, render_runtime_class
from .validate import validate_manifest

VARIANTS = ("compat-smart", "compat")
_UNSAFE = re.compile(r"[^a-z0-9.-]+")

# The image reference grammar of the distribution project (github.com/distribution/reference,
# reference.go), which kubelet and containerd parse ``image:`` with: [domain[:port]/]path[:tag][@digest].
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_IMAGE_REF = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_PATH_PART}(?:/{_PATH_PART})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?"
)
#: distribution/reference: NameTotalLengthMax
IMAGE_NAME_MAX = 255


def check_image_reference(ref: str, *, option: str = "--image") -> str:
    """``ref`` if it is an image reference kubelet can pull (``registry:5000/team/app:v1@sha256:...``);
    otherwise an InputError naming the option and the value (controls shown escaped by ``repr``)."""
    shown = repr(ref) if len(ref) <= 80 else repr(ref[:60]) + f"... ({len(ref)} characters)"
    match = _IMAGE_REF.fullmatch(ref) if ref.isascii() else None
    if match is None:
        raise InputError(f"{option}: {shown} is not an image reference; expected [REGISTRY[:PORT]/]NAME[:TAG]"
                         "[@DIGEST], lowercase name components (e.g. registry.example.com/team/app:v1)",
                         field=option.lstrip("-"))
    if len(match.group("name")) > IMAGE_NAME_MAX:
        raise InputError(f"{option}: the repository name is longer than {IMAGE_NAME_MAX} characters",
                         field=option.lstrip("-"))
    return ref


@dataclass(frozen=True)
class GenerateRequest:
    """Everything :func:`build_bundle` needs; no file or process access happens here."""

    runtimes: tuple[str, ...]
    route: str | None = None
    distro: str = "containerd"
    name: str = "app"
    image: str | None = None
    overheads: dict[str, Overhead] = field(default_factory=dict)  # by rtadvisor runtime id
    existing_config: str | None = None
    existing_config_name: str = "config.toml"
    containerd_version: int | None = None  # for a new file; an existing file's version wins
    manifest: str | None = None
    manifest_name: str = "manifest.yaml"
    variant: str = "compat-smart"
    wasi_socket: bool = False
    module: str = "app.wasm"
    decision: dict[str, Any] | None = None
    kata_hypervisor: str = up.KATA_DEFAULT_SHIM


@dataclass(frozen=True)
class Bundle:
    files: dict[str, str]
    handlers: tuple[Handler, ...]
    summary: dict[str, Any]


@dataclass(frozen=True)
class Provided:
    """What the distribution supplies for one handler: its RuntimeClass, its containerd entry, or both."""

    runtime_class: bool
    entry: bool
    detected: up.DetectedRuntime | None = None


def _dump_yaml_docs(docs: list[dict[str, Any]]) -> str:
    return "---\n".join(pyyaml.safe_dump(d, sort_keys=False, default_flow_style=False) for d in docs)


def node_handlers(req: GenerateRequest) -> tuple[Handler, ...]:
    """The handlers of all requested runtimes (one per RuntimeClass)."""
    out: dict[tuple[str, str], Handler] = {}
    for runtime in req.runtimes:
        for h in handlers_for(runtime, req.route, kata_shim=req.kata_hypervisor):
            out.setdefault((h.runtime_class, h.name), h)
    return tuple(out.values())


def provided_by_distro(handler: Handler, preset: ctd.Preset) -> Provided:
    """What of ``handler`` the distribution already ships (K3s/RKE2: classes and detected runtimes).

    A class of the same name with another handler, or a detected runtime configured differently, is
    refused: neither can coexist with the distribution's own (immutable handler; duplicate table).
    """
    shipped = preset.runtime_classes.get(handler.runtime_class)
    if shipped is not None and shipped != handler.name:
        raise ArtifactError(
            f"RuntimeClass {handler.runtime_class}: {preset.distro} ships a class of that name with handler "
            f"{shipped!r}; ours would need {handler.name!r} and RuntimeClass.handler is immutable")
    detected = preset.detected.get(handler.name)
    # The entry the distribution writes has runtime_type and BinaryName only.
    needs_more = bool(handler.pod_annotations or handler.runtime_path or handler.privileged_without_host_devices
                      or set(handler.options) - {"BinaryName"})
    if detected is not None and (detected.runtime_type != handler.runtime_type or needs_more):
        raise ArtifactError(
            f"runtime {handler.name}: {preset.distro} configures it itself ({detected.runtime_type}, BinaryName "
            "only); a template cannot define the table again with what this handler needs")
    return Provided(runtime_class=shipped is not None, entry=detected is not None, detected=detected)


def _containerd_files(req: GenerateRequest, handlers: tuple[Handler, ...],
                      provided: dict[str, Provided]) -> tuple[dict[str, str], dict[str, Any]]:
    preset = ctd.preset(req.distro)
    own = [h for h in handlers if not provided[h.name].entry]
    others = [h for h in own if not h.default_runtime]
    # containerd 1.x replaces (does not merge) its built-in runtimes map with the file's: a config
    # that defines any runtime but not the default one stops the CRI plugin from loading ("no
    # corresponding runtime configured in containerd.runtimes for default_runtime_name"). Found by
    # the real-containerd proof. So a full config always carries runc; templates, snippets and
    # drop-ins that extend a distribution's config (which has runc already) must not touch it.
    if preset.extends_base:
        to_configure = others
    else:
        to_configure = [RUNC, *others] if others else list(own)
    files: dict[str, str] = {}
    info: dict[str, Any] = {"distro": preset.distro, "restart": preset.restart, "files": []}
    if req.existing_config is not None:
        ctd.check_config(req.existing_config, where=req.existing_config_name)
    if not to_configure:
        return files, info  # the distribution configures everything this bundle needs
    declared = _declared(req) if req.existing_config is not None else None
    for pf in preset.files:
        base = pf.node_path.rsplit("/", 1)[-1]
        out_name = f"containerd/{base}"
        if req.existing_config is not None:
            # One file: the version the user's file has (its keys; a version-1 file keeps its own).
            if len(preset.files) > 1 and pf.version != (3 if declared == 3 else 2):
                continue
            result = ctd.merge_runtimes(req.existing_config, to_configure, version=declared,
                                        where=req.existing_config_name, runtime_types=preset.runtime_types)
            text, version = result.text, result.version
            merged: dict[str, Any] = {"added": list(result.added), "updated": list(result.updated),
                                      "unchanged": list(result.unchanged), "from": req.existing_config_name}
            action = "replace with this merged copy of your file"
        elif pf.style == "template":
            text, version, merged = ctd.render_template(to_configure, pf.version), pf.version, {}
            action = "install"
        elif pf.style == "snippet":
            version, merged = pf.version, {}
            out_name = f"containerd/{base.removesuffix('.toml')}.rtadvisor.toml"
            text = ctd.render_snippet(to_configure, version, target=pf.node_path, runtime_types=preset.runtime_types)
            action = "merge into (never replace)"
        else:
            version = req.containerd_version or pf.version
            text, merged = ctd.render_config(to_configure, version), {}
            action = "merge into" if pf.style == "config" else "install"
        _check_toml(text, out_name)
        files[out_name] = text
        info["files"].append({"file": out_name, "install_to": pf.node_path, "version": version,
                              "style": pf.style, "action": action, **({"merge": merged} if merged else {})})
    if any(h.name == RUNSC.name for h in to_configure):
        # The shim reads ConfigPath at every container start; a missing file fails every pod.
        files["containerd/runsc.toml"] = runsc_toml()
        info["files"].append({"file": "containerd/runsc.toml", "install_to": up.RUNSC_CONFIG_PATH, "version": None,
                              "style": "shim-config", "action": "install"})
    return files, info


def runsc_toml() -> str:
    """The file the runsc entry's ``ConfigPath`` names: shim options, then runsc flags (gVisor docs)."""
    return (
        "# gVisor shim configuration (containerd-shim-runsc-v1), generated by rtadvisor.\n"
        f"# The containerd runtime entry `runsc` names this file in options.ConfigPath ({up.RUNSC_CONFIG_PATH});\n"
        "# the shim refuses to start containers if it is missing. Shim options go at the top\n"
        "# (e.g. log_level = \"debug\"); keys under [runsc_config] become runsc flags (`runsc flags` lists them),\n"
        "# e.g. platform = \"systrap\" or \"kvm\", or systemd-cgroup = \"true\" when runc uses SystemdCgroup.\n"
        f"# See {up.GVISOR_SOURCE}.\n"
        "[runsc_config]\n"
    )


def _declared(req: GenerateRequest) -> int:
    """The config version of the user's file; for a K3s/RKE2 template (no ``version`` of its own,
    the base has it) the keys it already uses or its name (``config-v3.toml.tmpl``) decide."""
    body, hidden = ctd.hide_template_actions(req.existing_config or "")
    doc = ctd.parse(body, where=req.existing_config_name)
    declared = ctd.detect_version(doc, where=req.existing_config_name, template=bool(hidden))
    if declared is not None:
        return declared
    plugins = _table(doc.get("plugins"))
    if ctd.CRI_PLUGIN[3] in plugins or "v3" in req.existing_config_name.rsplit("/", 1)[-1]:
        return 3
    if ctd.CRI_PLUGIN[2] in plugins:
        return 2
    return req.containerd_version or 2


def _check_toml(text: str, where: str) -> None:
    """Our own output must parse: if it does not, that is our bug, not the user's input."""
    body, _ = ctd.hide_template_actions(text)
    try:
        ctd.parse(body, where=where)
    except ctd.ConfigError as exc:
        raise ArtifactError(f"internal: generated {exc}") from exc


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _safe_file_part(text: str, default: str) -> str:
    """A file-name part from user data (a manifest's kind/name): never a path, never empty."""
    cleaned = _UNSAFE.sub("-", text.lower()).strip(".-")[:100]
    return cleaned or default


def build_bundle(req: GenerateRequest) -> Bundle:
    """Render and validate every artifact for ``req``; raises ArtifactError/InputError on bad input."""
    if not req.runtimes:
        raise InputError("generate: no runtime given (use --runtime ID or a decision on stdin)")
    if req.variant not in VARIANTS:
        raise InputError(f"--variant: expected one of {', '.join(VARIANTS)}, got {req.variant!r}")
    if not is_dns_label(req.name):
        shown = repr(req.name) if len(req.name) <= 80 else repr(req.name[:60]) + "..."
        raise InputError(f"--name: {shown} is not a DNS label (at most 63 lowercase letters, digits, '-')",
                         field="name")
    if req.image is not None:
        check_image_reference(req.image)
    preset = ctd.preset(req.distro)
    handlers = node_handlers(req)
    provided = {h.name: provided_by_distro(h, preset) for h in handlers}
    files: dict[str, str] = {}

    # RuntimeClasses (not those the distribution ships)
    runtime_classes = []
    overhead_sources: dict[str, str] = {}
    for h in handlers:
        if provided[h.name].runtime_class:
            continue
        overhead = req.overheads.get(h.runtime) if h.needs_overhead else None
        if h.needs_overhead and overhead is None:
            raise ArtifactError(f"no pod overhead known for runtime {h.runtime!r} (needed by RuntimeClass {h.runtime_class})")
        rc = render_runtime_class(h, overhead)
        validate_manifest(rc, where=f"RuntimeClass {h.runtime_class}")
        runtime_classes.append(rc)
        if overhead is not None:
            overhead_sources[h.runtime_class] = overhead.source
    if runtime_classes:
        files["runtimeclass.yaml"] = _dump_yaml_docs(runtime_classes)

    # containerd
    ctd_files, ctd_info = _containerd_files(req, handlers, provided)
    files.update(ctd_files)

    # Pod / Deployment patch: the first requested runtime is the one the workload runs on.
    primary = req.runtimes[0]
    route = effective_route(primary, req.route)
    first = handlers_for(primary, req.route, kata_shim=req.kata_hypervisor)[0]
    primary_handler = next(h for h in handlers if h.runtime_class == first.runtime_class)
    wasm_pod = primary_handler.kind in WASM_RESOURCES_KINDS and route in ("R2", "R3")
    patch = PodPatch(
        runtime_class=None if route == "R1" else primary_handler.runtime_class,
        annotations={WASM_VARIANT_ANNOTATION: req.variant} if route == "R2" else {},
        resources=(up.SPIN_RESOURCES if primary == "spin" else WASM_RESOURCES) if wasm_pod else None,
        env={WASI_SOCKET_ENV: "true"} if req.wasi_socket and primary == "wasmedge" and route != "R1" else {},
    )
    image = req.image or f"registry.example.com/{req.name}:{'wasm' if route in ('R2', 'R3') else 'latest'}"
    manifest_text = req.manifest if req.manifest is not None else sample_deployment(req.name, image)
    manifest_base = _safe_file_part(req.manifest_name.rsplit("/", 1)[-1], "manifest.yaml")
    manifest_out = f"patched/{manifest_base}" if req.manifest is not None else "deployment.yaml"
    patched = patch_manifest(manifest_text, patch, where=req.manifest_name if req.manifest else "sample deployment")
    for doc in patched.documents:
        if isinstance(doc, dict) and doc.get("kind"):
            kind, meta = doc.get("kind"), _table(doc.get("metadata"))
            where = f"{manifest_out}: {kind}/{meta.get('name', '?')}"
            # The user's own manifest may carry fields we do not know; ours must be exact.
            if req.manifest is None:
                validate_manifest(json.loads(json.dumps(doc)), where=where)
                continue
            try:
                validate_manifest(json.loads(json.dumps(doc, default=str)), where=where, strict=False)
            except ArtifactError as exc:  # the user's manifest breaks the schema: bad input, exit 2
                raise ManifestError(f"{req.manifest_name}: {str(exc).removeprefix(manifest_out + ': ')}") from exc
    files[manifest_out] = patched.text
    json_patches: dict[str, list[dict[str, Any]]] = {}
    for before, after in zip(patched.originals, patched.documents, strict=False):
        if isinstance(before, dict) and before.get("kind"):
            ops = json_patch(before, after)
            if ops:
                meta = _table(before.get("metadata"))
                key = (f"{_safe_file_part(str(before['kind']), 'object')}-"
                       f"{_safe_file_part(str(meta.get('name', 'unnamed')), 'unnamed')}")
                while key in json_patches:
                    key += "-1"
                json_patches[key] = ops
    for key, ops in json_patches.items():
        files[f"patches/{key}.json"] = json.dumps(ops, indent=2) + "\n"

    # Dockerfiles and, for Spin on its shim, the SpinKube app object
    if route == "R1":
        files["Dockerfile"] = route1_dockerfile(primary, req.module)
        files["entrypoint.sh"] = route1_entrypoint(primary)
    elif primary == "spin":
        files["Dockerfile"] = spin_dockerfile(req.module)
        files["spinapp.yaml"] = _dump_yaml_docs([spin_app(req.name, image)])
    elif route in ("R2", "R3"):
        files["Dockerfile"] = scratch_dockerfile(route, req.module)

    summary: dict[str, Any] = {
        "runtimes": list(req.runtimes),
        "route": route,
        "distro": req.distro,
        "handlers": [
            {"runtime_class": h.runtime_class, "handler": h.name, "runtime_type": h.runtime_type,
             "runtime_path": h.runtime_path, "binary": h.binary, "shim": h.shim, "kind": h.kind, "engine": h.engine,
             "node_label": None if h.default_runtime or provided[h.name].runtime_class else h.node_label,
             "options": dict(h.options), "pod_annotations": list(h.pod_annotations), "note": h.note,
             "follows": h.source or None,
             "provided_by_distro": _provided_json(provided[h.name], preset)}
            for h in handlers
        ],
        "overhead_sources": overhead_sources,
        "containerd": ctd_info,
        "patch": {"runtimeClassName": patch.runtime_class, "annotations": patch.annotations,
                  "resources": patch.resources, "env": patch.env, "changes": list(patched.changes)},
        "files": [*sorted(files), "NOTES.md", "rtadvisor-generate.json"],
    }
    files["NOTES.md"] = _notes(summary, req)
    files["rtadvisor-generate.json"] = json.dumps(summary, indent=2) + "\n"
    for rel in files:  # the CLI writes these under --output: never a path that leaves it
        if rel.startswith("/") or ".." in rel.split("/"):
            raise ArtifactError(f"internal: generated file name {rel!r} is not a relative path inside the output")
    return Bundle(files=files, handlers=handlers, summary=summary)


def _provided_json(p: Provided, preset: ctd.Preset) -> dict[str, Any] | None:
    if not (p.runtime_class or p.entry):
        return None
    out: dict[str, Any] = {"distro": preset.distro, "runtime_class": p.runtime_class, "entry": p.entry}
    if p.detected is not None:
        out["install_binary"] = {"names": list(p.detected.binaries), "dirs": list(p.detected.dirs)}
    return out


def spin_app(name: str, image: str) -> dict[str, Any]:
    """A SpinApp for spin-operator: its ``containerd-shim-spin`` executor runs it on ``wasmtime-spin-v2``."""
    return {"apiVersion": up.SPINAPP_API_VERSION, "kind": "SpinApp", "metadata": {"name": name},
            "spec": {"image": image, "replicas": 1, "executor": up.SPIN_EXECUTOR}}


def _notes(summary: dict[str, Any], req: GenerateRequest) -> str:
    lines = [f"# Deployment artifacts for {req.name}", ""]
    if req.decision:
        lines += [(f"Decision: runtime `{req.decision.get('runtime')}`, architecture "
                  f"`{req.decision.get('architecture')}`, route `{req.decision.get('route')}`."), ""]
    lines += ["## Runtime handlers", ""]
    for h in summary["handlers"]:
        needs = " and ".join(f"`{b}`" for b in dict.fromkeys((h["binary"], h["shim"])))
        label = f"; label nodes `kubectl label node NODE {h['node_label']}=true`" if h["node_label"] else ""
        lines.append(f"- RuntimeClass `{h['runtime_class']}` -> handler `{h['handler']}` "
                     f"(`{h['runtime_type']}`, needs {needs} on the node){label}. {h['note']}")
        given = h["provided_by_distro"]
        if given:
            why = []
            if given["runtime_class"]:
                why.append(f"the RuntimeClass `{h['runtime_class']}` (handler `{h['handler']}`; a second class of "
                           "that name could not change the handler, which is immutable; it has no scheduling: "
                           "install the shim on every node that may run the pod, or add a nodeSelector)")
            if given["entry"]:
                why.append(f"the containerd entry `{h['handler']}` (a second table would stop containerd)")
            lines.append(f"  - {given['distro']} already provides {' and '.join(why)}: not generated here.")
            if "install_binary" in given:
                lines.append(f"  - Install `{given['install_binary']['names'][0]}` into one of "
                             f"{', '.join('`' + d + '`' for d in given['install_binary']['dirs'])} (newer releases "
                             f"also search $PATH) and restart {given['distro']}: it then writes handler "
                             f"`{h['handler']}` itself ({up.K3S_DETECTED_SOURCE}).")
        if h["follows"]:
            lines.append(f"  - Follows {h['follows']}.")
    if summary["overhead_sources"]:
        lines += ["", "## Pod overhead (overhead.podFixed) sources", ""]
        lines += [f"- `{k}`: {v}" for k, v in summary["overhead_sources"].items()]
    ctd_info = summary["containerd"]
    lines += ["", f"## containerd ({ctd_info['distro']})", ""]
    if not ctd_info["files"]:
        lines.append("- nothing to add: the distribution configures every handler above itself")
    for f in ctd_info["files"]:
        version = f" (config version {f['version']}, {f['style']})" if f["version"] else f" ({f['style']})"
        lines.append(f"- `{f['file']}` -> {f['action']} `{f['install_to']}`{version}")
    lines += [f"- then: `{ctd_info['restart']}`"]
    if req.distro == "microk8s":
        lines += [("- MicroK8s expands `${RUNTIME_TYPE}` and its other placeholders when it renders the template; "
                  "entries added here use them too, and the template is never replaced.")]
    if any(h["runtime_path"] and "kata" in h["runtime_path"] for h in summary["handlers"]):
        lines += [("- Kata: kata-deploy writes the same entries (and labels nodes "
                  f"`{up.KATA_NODE_LABEL}=true`); on nodes installed with kata-deploy, skip the containerd part.")]
    mesh = (req.decision or {}).get("service_mesh")
    if mesh:
        lines += ["", "## Service mesh", "",
                  f"The decision adds a service mesh ({', '.join(mesh)}); its installation is not generated here."]
    if "spinapp.yaml" in summary["files"]:
        lines += ["", "## Spin", "",
                  (f"- `spinapp.yaml`: a SpinApp for spin-operator (executor `{up.SPIN_EXECUTOR}`, which runs pods on "
                  f"RuntimeClass `{up.SPIN_RUNTIME_CLASS}`); the Deployment is the same app without the operator."),
                  ("- Build the image with `spin registry push REGISTRY/APP:TAG` (an OCI artifact), or with the "
                  "Dockerfile (spin.toml and the module it references, FROM scratch)."),
                  f"- Resources follow SpinKube's sample ({up.SPIN_RESOURCES_SOURCE})."]
    lines += ["", "## Workload", ""]
    lines += [f"- {c}" for c in summary["patch"]["changes"]] or ["- no change needed"]
    lines += ["", "Check the node with `rtadvisor doctor --containerd-config PATH --runtimeclasses runtimeclass.yaml`.", ""]
    return "\n".join(lines)


def _decision_field(decision: dict[str, Any], key: str, kind: type, what: str, *, where: str,
                    required: bool = False) -> Any:
    """One field of a decision, of the type ``recommend --json`` gives it; else an InputError naming it."""
    value = decision.get(key)
    if value is None:
        if required:
            raise InputError(f"{where}: field '{key}' missing; expected {what} (the JSON of "
                             "`rtadvisor recommend --json`)", field=f"decision.{key}")
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise InputError(f"{where}: field '{key}': expected {what}, got {_json_kind(value)}", field=f"decision.{key}")
    return value


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:50]) + f"... ({len(text)} characters)"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return "a number" if isinstance(value, int | float) else type(value).__name__


def request_from_decision(decision: dict[str, Any], *, where: str = "decision", **overrides: Any) -> GenerateRequest:
    """Build a request from ``recommend --json`` output (a ``model.Decision`` dump).

    Only the fields used here are read, each checked for the type the decision gives it (a list
    where the runtime id belongs is bad input naming the field, never a runtime called ``['runc']``);
    ``where`` names the decision in messages (``decision plan.json``). The edge scenario gets the WASI
    socket env (S-wasm: edge needs networking from Wasm).
    """
    if not isinstance(decision, dict):
        raise InputError(f"{where}: expected the JSON object of `rtadvisor recommend --json`, got "
                         f"{_json_kind(decision)}", field="decision")
    runtime = _decision_field(decision, "runtime", str, "a runtime id (a string)", where=where, required=True)
    route = _decision_field(decision, "route", str, "R1, R2, R3 or null", where=where)
    workload = _decision_field(decision, "workload", dict, "the workload profile (an object)", where=where) or {}
    architecture = _decision_field(decision, "architecture", str, "a string", where=where) or ""
    mesh = _decision_field(decision, "service_mesh", list, "a list of names", where=where)
    if mesh is not None and not all(isinstance(m, str) for m in mesh):
        raise InputError(f"{where}: field 'service_mesh': expected a list of names (strings)",
                         field="decision.service_mesh")
    if "runtimes" not in overrides and runtime not in RUNTIME_IDS:
        # a decision naming a runtime with no handler cannot be deployed: the whole decision is at fault
        raise InputError(f"{where}: field 'runtime': unknown runtime {_shown(runtime)}; expected one of "
                         f"{', '.join(RUNTIME_IDS)}", field="decision")
    if "route" not in overrides and route is not None:
        if route not in ROUTES:
            raise InputError(f"{where}: field 'route': unknown route {_shown(route)}; expected one of "
                             f"{', '.join(ROUTES)} or null", field="decision.route")
        if "runtimes" not in overrides and runtime in WASM_ROUTES and route not in WASM_ROUTES[runtime]:
            raise InputError(f"{where}: field 'route': {runtime} cannot travel route {route}; it can travel "
                             f"{', '.join(WASM_ROUTES[runtime])}", field="decision.route")
    raw_name = workload.get("name")
    if raw_name is not None and not isinstance(raw_name, str):
        raise InputError(f"{where}: field 'workload.name': expected a string, got {_json_kind(raw_name)}",
                         field="decision.workload.name")
    name = (raw_name or "app").lower()
    safe = "".join(c if c.isalnum() and c.isascii() else "-" for c in name).strip("-")[:63].strip("-") or "app"
    args: dict[str, Any] = {
        "runtimes": (runtime,),
        "route": route,
        "name": safe,
        "wasi_socket": workload.get("scenario") == "edge",
        "decision": decision,
    }
    # "WasmEdge + K3s" and friends: the decision already names the distribution.
    if "K3s" in architecture:
        args["distro"] = "k3s"
    args.update({k: v for k, v in overrides.items() if v is not None})
    return GenerateRequest(**args)
