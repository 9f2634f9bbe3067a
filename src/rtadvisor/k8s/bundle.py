"""Assemble every deployment artifact of a decision into one bundle of files (pure).

The CLI gathers the inputs (decision, overhead numbers, existing config and manifest texts) and
writes the bundle; here we only render and validate, so the whole generator is unit-testable.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import yaml as pyyaml

from rtadvisor.errors import ArtifactError, InputError

from . import containerd as ctd
from .dockerfiles import route1_dockerfile, route1_entrypoint, scratch_dockerfile
from .handlers import (
    RUNC,
    WASM_RESOURCES_KINDS,
    WASM_VARIANT_ANNOTATION,
    Handler,
    effective_route,
    handlers_for,
    is_dns_label,
)
from .patches import WASI_SOCKET_ENV, WASM_RESOURCES, PodPatch, json_patch, patch_manifest, sample_deployment
from .runtimeclass import Overhead, render_runtime_class
from .validate import validate_manifest

#: Runtime names K3s/RKE2 detect on their own and write into the base template; adding a table of
#: the same name in config.toml.tmpl would duplicate it (a TOML error that stops containerd).
K3S_DETECTED = ("crun", "nvidia", "nvidia-experimental", "lunatic", "slight", "spin", "wws",
                "wasmedge", "wasmer", "wasmtime")
K3S_SUFFIX = "-rtadvisor"
VARIANTS = ("compat-smart", "compat")


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


@dataclass(frozen=True)
class Bundle:
    files: dict[str, str]
    handlers: tuple[Handler, ...]
    summary: dict[str, Any]


def _dump_yaml_docs(docs: list[dict[str, Any]]) -> str:
    return "---\n".join(pyyaml.safe_dump(d, sort_keys=False, default_flow_style=False) for d in docs)


def _k3s_rename(handler: Handler) -> Handler:
    if handler.default_runtime or handler.name not in K3S_DETECTED:
        return handler
    return dataclasses.replace(handler, name=handler.name + K3S_SUFFIX)


def node_handlers(req: GenerateRequest) -> tuple[Handler, ...]:
    """The handlers of all requested runtimes, renamed where the distribution needs it."""
    out: dict[tuple[str, str], Handler] = {}
    for runtime in req.runtimes:
        for h in handlers_for(runtime, req.route):
            if req.distro in ("k3s", "rke2"):
                h = _k3s_rename(h)
            out.setdefault((h.runtime_class, h.name), h)
    return tuple(out.values())


def _containerd_files(req: GenerateRequest, handlers: tuple[Handler, ...]) -> tuple[dict[str, str], dict[str, Any]]:
    preset = ctd.preset(req.distro)
    # containerd 1.x replaces (does not merge) its built-in runtimes map with the file's: a config
    # that defines any runtime but not the default one stops the CRI plugin from loading ("no
    # corresponding runtime configured in containerd.runtimes for default_runtime_name"). Found by
    # the real-containerd proof. So a full config always carries runc; templates and drop-ins that
    # extend a distribution's config (which has runc already) must not define it a second time.
    extends_base = preset.distro in ("k3s", "rke2", "k0s") or (preset.distro == "microk8s" and req.existing_config is None)
    others = [h for h in handlers if not h.default_runtime]
    to_configure = others if extends_base and others else ([RUNC] + others if not extends_base else list(handlers))
    files: dict[str, str] = {}
    info: dict[str, Any] = {"distro": preset.distro, "restart": preset.restart, "files": []}
    for pf in preset.files:
        base = pf.node_path.rsplit("/", 1)[-1]
        out_name = f"containerd/{base}"
        if req.existing_config is not None and (len(preset.files) == 1 or pf.version == _declared(req)):
            result = ctd.merge_runtimes(req.existing_config, to_configure, version=_declared(req),
                                        where=req.existing_config_name)
            text, version = result.text, result.version
            merged: dict[str, Any] = {"added": list(result.added), "updated": list(result.updated),
                                      "unchanged": list(result.unchanged), "from": req.existing_config_name}
        elif pf.style == "template":
            if req.existing_config is not None:
                continue  # the other template version; the user's file decided which one applies
            text, version, merged = ctd.render_template(to_configure, pf.version), pf.version, {}
        else:
            version = req.containerd_version or pf.version
            text, merged = ctd.render_config(to_configure, version), {}
        _check_toml(text, out_name)
        files[out_name] = text
        info["files"].append({"file": out_name, "install_to": pf.node_path, "version": version,
                              "style": pf.style, **({"merge": merged} if merged else {})})
    return files, info


def _declared(req: GenerateRequest) -> int:
    """The config version of the user's file; for a K3s/RKE2 template (no ``version`` of its own,
    the base has it) the keys it already uses or its name (``config-v3.toml.tmpl``) decide."""
    body, hidden = ctd.hide_template_actions(req.existing_config or "")
    doc = ctd.parse(body, where=req.existing_config_name)
    declared = ctd.detect_version(doc, where=req.existing_config_name, template=bool(hidden))
    if declared is not None:
        return declared
    plugins = doc.get("plugins") or {}
    if ctd.CRI_PLUGIN[3] in plugins or "v3" in req.existing_config_name.rsplit("/", 1)[-1]:
        return 3
    return req.containerd_version or 2


def _check_toml(text: str, where: str) -> None:
    body, _ = ctd.hide_template_actions(text)
    ctd.parse(body, where=where)


def build_bundle(req: GenerateRequest) -> Bundle:
    """Render and validate every artifact for ``req``; raises ArtifactError/InputError on bad input."""
    if not req.runtimes:
        raise InputError("generate: no runtime given (use --runtime ID or a decision on stdin)")
    if req.variant not in VARIANTS:
        raise InputError(f"--variant: expected one of {', '.join(VARIANTS)}, got {req.variant!r}")
    if not is_dns_label(req.name):
        raise InputError(f"--name: {req.name!r} is not a DNS label (lowercase letters, digits, '-')")
    handlers = node_handlers(req)
    files: dict[str, str] = {}

    # RuntimeClasses
    runtime_classes = []
    overhead_sources: dict[str, str] = {}
    for h in handlers:
        overhead = req.overheads.get(h.runtime) if h.needs_overhead else None
        if h.needs_overhead and overhead is None:
            raise ArtifactError(f"no pod overhead known for runtime {h.runtime!r} (needed by RuntimeClass {h.runtime_class})")
        rc = render_runtime_class(h, overhead)
        validate_manifest(rc, where=f"RuntimeClass {h.runtime_class}")
        runtime_classes.append(rc)
        if overhead is not None:
            overhead_sources[h.runtime_class] = overhead.source
    files["runtimeclass.yaml"] = _dump_yaml_docs(runtime_classes)

    # containerd
    ctd_files, ctd_info = _containerd_files(req, handlers)
    files.update(ctd_files)

    # Pod / Deployment patch: the first requested runtime is the one the workload runs on.
    primary = req.runtimes[0]
    route = effective_route(primary, req.route)
    first = handlers_for(primary, req.route)[0]
    primary_handler = next(h for h in handlers if h.runtime_class == first.runtime_class)
    patch = PodPatch(
        runtime_class=None if route == "R1" else primary_handler.runtime_class,
        annotations={WASM_VARIANT_ANNOTATION: req.variant} if route == "R2" else {},
        resources=WASM_RESOURCES if primary_handler.kind in WASM_RESOURCES_KINDS and route in ("R2", "R3") else None,
        env={WASI_SOCKET_ENV: "true"} if req.wasi_socket and primary in ("wasmedge",) and route != "R1" else {},
    )
    image = req.image or f"registry.example.com/{req.name}:{'wasm' if route in ('R2', 'R3') else 'latest'}"
    manifest_text = req.manifest if req.manifest is not None else sample_deployment(req.name, image)
    manifest_out = f"patched/{req.manifest_name.rsplit('/', 1)[-1]}" if req.manifest is not None else "deployment.yaml"
    patched = patch_manifest(manifest_text, patch, where=req.manifest_name if req.manifest else "sample deployment")
    for doc in patched.documents:
        if isinstance(doc, dict) and doc.get("kind"):
            kind, meta = doc.get("kind"), doc.get("metadata") or {}
            # The user's own manifest may carry fields we do not know; ours must be exact.
            validate_manifest(json.loads(json.dumps(doc)), where=f"{manifest_out}: {kind}/{meta.get('name', '?')}",
                              strict=req.manifest is None)
    files[manifest_out] = patched.text
    json_patches = {}
    for before, after in zip(patched.originals, patched.documents):
        if isinstance(before, dict) and before.get("kind"):
            ops = json_patch(before, after)
            if ops:
                key = f"{before['kind'].lower()}-{(before.get('metadata') or {}).get('name', 'unnamed')}"
                json_patches[key] = ops
    for key, ops in json_patches.items():
        files[f"patches/{key}.json"] = json.dumps(ops, indent=2) + "\n"

    # Dockerfiles
    if route == "R1":
        files["Dockerfile"] = route1_dockerfile(primary, req.module)
        files["entrypoint.sh"] = route1_entrypoint(primary)
    elif route in ("R2", "R3"):
        files["Dockerfile"] = scratch_dockerfile(route, req.module)

    summary: dict[str, Any] = {
        "runtimes": list(req.runtimes),
        "route": route,
        "distro": req.distro,
        "handlers": [
            {"runtime_class": h.runtime_class, "handler": h.name, "runtime_type": h.runtime_type,
             "binary": h.binary, "shim": h.shim, "kind": h.kind, "node_label": None if h.default_runtime else h.node_label,
             "options": dict(h.options), "pod_annotations": list(h.pod_annotations), "note": h.note}
            for h in handlers
        ],
        "overhead_sources": overhead_sources,
        "containerd": ctd_info,
        "patch": {"runtimeClassName": patch.runtime_class, "annotations": patch.annotations,
                  "resources": patch.resources, "env": patch.env, "changes": list(patched.changes)},
        "files": sorted(files) + ["NOTES.md", "rtadvisor-generate.json"],
    }
    files["NOTES.md"] = _notes(summary, req)
    files["rtadvisor-generate.json"] = json.dumps(summary, indent=2) + "\n"
    return Bundle(files=files, handlers=handlers, summary=summary)


def _notes(summary: dict[str, Any], req: GenerateRequest) -> str:
    lines = [f"# Deployment artifacts for {req.name}", ""]
    if req.decision:
        lines += [f"Decision: runtime `{req.decision.get('runtime')}`, architecture "
                  f"`{req.decision.get('architecture')}`, route `{req.decision.get('route')}`.", ""]
    lines += ["## Runtime handlers", ""]
    for h in summary["handlers"]:
        needs = " and ".join(f"`{b}`" for b in dict.fromkeys((h["binary"], h["shim"])))
        label = f"; label nodes `kubectl label node NODE {h['node_label']}=true`" if h["node_label"] else ""
        lines.append(f"- RuntimeClass `{h['runtime_class']}` -> handler `{h['handler']}` "
                     f"(`{h['runtime_type']}`, needs {needs} on the node){label}. {h['note']}")
    if summary["overhead_sources"]:
        lines += ["", "## Pod overhead (overhead.podFixed) sources", ""]
        lines += [f"- `{k}`: {v}" for k, v in summary["overhead_sources"].items()]
    ctd_info = summary["containerd"]
    lines += ["", f"## containerd ({ctd_info['distro']})", ""]
    for f in ctd_info["files"]:
        lines.append(f"- `{f['file']}` -> `{f['install_to']}` (config version {f['version']}, {f['style']})")
    lines += [f"- then: `{ctd_info['restart']}`"]
    if req.distro in ("k3s", "rke2"):
        lines += [f"- K3s/RKE2 write runtimes they detect ({', '.join(K3S_DETECTED[:3])}, ...) into the base "
                  f"template themselves; entries added here carry the suffix `{K3S_SUFFIX}` so the template "
                  "never defines a table twice."]
    mesh = (req.decision or {}).get("service_mesh")
    if mesh:
        lines += ["", "## Service mesh", "",
                  f"The decision adds a service mesh ({', '.join(mesh)}); its installation is not generated here."]
    lines += ["", "## Workload", ""]
    lines += [f"- {c}" for c in summary["patch"]["changes"]] or ["- no change needed"]
    lines += ["", "Check the node with `rtadvisor doctor --containerd-config PATH --runtimeclasses runtimeclass.yaml`.", ""]
    return "\n".join(lines)


def request_from_decision(decision: dict[str, Any], **overrides: Any) -> GenerateRequest:
    """Build a request from ``recommend --json`` output (a ``model.Decision`` dump).

    The edge scenario gets the WASI socket env (S-wasm: edge needs networking from Wasm).
    """
    if not isinstance(decision, dict) or "runtime" not in decision:
        raise InputError("decision on stdin: expected the JSON of `rtadvisor recommend --json` (key 'runtime' missing)")
    workload = decision.get("workload") or {}
    name = str(workload.get("name") or "app").lower()
    safe = "".join(c if c.isalnum() else "-" for c in name).strip("-")[:63] or "app"
    args: dict[str, Any] = {
        "runtimes": (str(decision["runtime"]),),
        "route": decision.get("route"),
        "name": safe,
        "wasi_socket": workload.get("scenario") == "edge",
        "decision": decision,
    }
    # "WasmEdge + K3s" and friends: the decision already names the distribution.
    architecture = str(decision.get("architecture") or "")
    if "K3s" in architecture:
        args["distro"] = "k3s"
    args.update({k: v for k, v in overrides.items() if v is not None})
    return GenerateRequest(**args)
