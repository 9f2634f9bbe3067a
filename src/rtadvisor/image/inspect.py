"""Tell what kind of image an OCI layout holds and which route / runtime handler can run it.

The signals, strongest first:

0. Spin application (``spin registry push``): config media type
   ``application/vnd.fermyon.spin.application.v1+config`` -> SpinKube's shim only (R3, handler
   ``spin``, RuntimeClass ``wasmtime-spin-v2``).
1. CNCF Wasm OCI artifact: config media type ``application/vnd.wasm.config.v0+json`` or layers
   ``application/wasm`` -> only runwasi shims (R3); crun has no rootfs to start from.
2. compat image: manifest annotation ``module.wasm.image/variant`` = ``compat``/``compat-smart``
   -> crun with a Wasm handler (R2) or runwasi (R3).
3. Wasm platform: config ``architecture: wasm`` / ``os: wasi*`` without the annotation -> runwasi
   (R3); crun only if the *pod* carries the annotation.
4. plain Linux image whose entrypoint is a ``.wasm`` file -> needs a Wasm-aware handler; under
   runc it fails with ``exec format error``.
5. plain Linux image -> ordinary container runtimes; R1 when the entrypoint runs a Wasm engine.

The handlers of each route are the ones ``rtadvisor generate`` writes (:mod:`rtadvisor.k8s.handlers`):
R2 is crun built with the engine (``crun-wasmedge``, ``crun-wasmtime``, ``crun-wasmer``), R3 the runwasi
shim of the engine (``wasmedge``, ``wasmtime``, ``wasmer``), a Linux image runc, crun, gVisor's
``runsc`` and Kata's ``kata-qemu``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rtadvisor.errors import InputError
from rtadvisor.safeio import show

from .build import (
    CONTAINERD_NAME,
    MT_INDEX,
    MT_MANIFEST,
    MT_WASM_CONFIG,
    MT_WASM_LAYER,
    REF_NAME,
    VARIANT_ANNOTATION,
)
from .layout import LayoutSource, require, schema_message, validate_layout

WASM_ENGINES = ("wasmedge", "wasmtime", "wasmer", "iwasm", "wasm3")
#: ``spin registry push`` (fermyon/spin, crates/oci): the config of a Spin application artifact.
MT_SPIN_CONFIG = "application/vnd.fermyon.spin.application.v1+config"


@dataclass(frozen=True)
class RouteHandler:
    """A containerd runtime handler that can run the image, and the route it belongs to."""

    route: str | None  # R1, R2, R3; None: an ordinary container image, no Wasm route
    handler: str  # the containerd runtime name == RuntimeClass.handler
    runtime_class: str
    runtime_type: str
    engine: str | None = None  # the Wasm engine that runs the module


def _handlers(routes: tuple[str, ...], *, linux: bool = False, spin: bool = False) -> tuple[RouteHandler, ...]:
    """The handlers of each route, as ``rtadvisor generate`` writes them (pure data, k8s.handlers)."""
    from rtadvisor.k8s.handlers import handlers_for
    from rtadvisor.k8s.upstream import CRUN_WASM_ENGINES, RUNWASI_ENGINES

    wanted: list[tuple[str | None, str, str | None]] = []  # (route, rtadvisor runtime, wasm route)
    if spin:
        wanted.append(("R3", "spin", "R3"))
    for route in routes:
        if route == "R2":
            wanted += [("R2", e, "R2") for e in CRUN_WASM_ENGINES]
        elif route == "R3" and not spin:
            wanted += [("R3", e, "R3") for e in RUNWASI_ENGINES]
    if linux:
        container_route = "R1" if "R1" in routes else None
        wanted += [(container_route, r, None) for r in ("runc", "crun", "gvisor", "kata")]
    out: list[RouteHandler] = []
    for on_route, runtime, wasm_route in wanted:
        for h in handlers_for(runtime, wasm_route):
            item = RouteHandler(on_route, h.name, h.runtime_class, h.runtime_type, h.engine)
            if item not in out:
                out.append(item)
    return tuple(out)


@dataclass(frozen=True)
class ImageReport:
    """Classification of one manifest in a layout."""

    ref: str | None
    digest: str
    kind: str  # wasm-artifact | wasm-compat | wasm-platform | linux-wasm-entrypoint | linux | unknown
    platform: str
    routes: tuple[str, ...]
    handlers: tuple[RouteHandler, ...]  # the containerd handlers of each route that can run it
    evidence: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    size_bytes: int = 0
    annotations: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def classify(manifest: dict[str, Any], config: dict[str, Any], config_media_type: str, ref: str | None,
             digest: str) -> ImageReport:
    annotations = dict(manifest.get("annotations") or {})
    layers = manifest.get("layers") or []
    size = sum(int(d.get("size", 0)) for d in layers) + int((manifest.get("config") or {}).get("size", 0))
    arch, os_ = str(config.get("architecture", "?")), str(config.get("os", "?"))
    cfg = config.get("config") or {}  # validated by inspect_layout (CLASSIFY_CONFIG)
    entry = tuple(str(x) for x in (cfg.get("Entrypoint") or []) + (cfg.get("Cmd") or []))
    evidence: list[str] = []
    warnings: list[str] = []
    common: dict[str, Any] = {"ref": ref, "digest": digest, "platform": f"{os_}/{arch}", "entrypoint": entry,
              "size_bytes": size, "annotations": annotations}

    if config_media_type == MT_SPIN_CONFIG:
        evidence.append(f"config media type {MT_SPIN_CONFIG} (spin registry push)")
        warnings.append("a Spin application needs the Spin host (triggers, HTTP server): SpinKube's "
                        "containerd-shim-spin-v2, not crun or the plain runwasi shims")
        return ImageReport(kind="spin-app", routes=("R3",), handlers=_handlers((), spin=True),
                           evidence=tuple(evidence), warnings=tuple(warnings), **common)

    wasm_layers = [d for d in layers if d.get("mediaType") == MT_WASM_LAYER]
    if config_media_type == MT_WASM_CONFIG or wasm_layers:
        if config_media_type == MT_WASM_CONFIG:
            evidence.append(f"config media type {MT_WASM_CONFIG}")
        if wasm_layers:
            evidence.append(f"{len(wasm_layers)} layer(s) of media type {MT_WASM_LAYER}")
        warnings.append("crun (route R2) cannot run a Wasm OCI artifact: it has no rootfs; use a runwasi shim")
        return ImageReport(kind="wasm-artifact", routes=("R3",), handlers=_handlers(("R3",)),
                           evidence=tuple(evidence), warnings=tuple(warnings), **common)

    variant = annotations.get(VARIANT_ANNOTATION)
    if variant in ("compat", "compat-smart"):
        evidence.append(f"manifest annotation {VARIANT_ANNOTATION}={variant}")
        if arch == "wasm":
            evidence.append(f"platform {os_}/{arch}")
        warnings.append("containerd does not copy image annotations into the OCI spec: the pod must carry "
                        f"{VARIANT_ANNOTATION}={variant} too and the runtime must list it in pod_annotations")
        warnings.append("crun needs a Wasm handler built with the engine (+WASM:<engine> in `crun --version`) "
                        "and >= 1.8.5 for stdout")
        return ImageReport(kind="wasm-compat", routes=("R2", "R3"), handlers=_handlers(("R2", "R3")),
                           evidence=tuple(evidence), warnings=tuple(warnings), **common)

    if arch == "wasm" or os_.startswith("wasi"):
        evidence.append(f"platform {os_}/{arch}")
        warnings.append(f"no {VARIANT_ANNOTATION} annotation: crun runs it as Wasm only if the pod is annotated")
        return ImageReport(kind="wasm-platform", routes=("R3", "R2"), handlers=_handlers(("R3", "R2")),
                           evidence=tuple(evidence), warnings=tuple(warnings), **common)

    if entry and entry[0].endswith(".wasm"):
        evidence.append(f"platform {os_}/{arch} with entrypoint {entry[0]}")
        warnings.append("under runc/gVisor/Kata this fails with `exec format error`: annotate the pod "
                        f"{VARIANT_ANNOTATION}=compat-smart and use crun with a Wasm handler, or a runwasi shim")
        return ImageReport(kind="linux-wasm-entrypoint", routes=("R2", "R3"), handlers=_handlers(("R2", "R3")),
                           evidence=tuple(evidence), warnings=tuple(warnings), **common)

    if os_ == "linux":
        evidence.append(f"platform {os_}/{arch}")
        engine = next((e for e in WASM_ENGINES if any(e in part for part in entry)), None)
        if engine:
            evidence.append(f"entrypoint runs {engine}: a Wasm engine inside a Linux image")
            return ImageReport(kind="linux", routes=("R1",), handlers=_handlers(("R1",), linux=True),
                               evidence=tuple(evidence), **common)
        return ImageReport(kind="linux", routes=(), handlers=_handlers((), linux=True),
                           evidence=tuple(evidence), **common)

    return ImageReport(kind="unknown", routes=(), handlers=(), evidence=(f"platform {os_}/{arch}",),
                       warnings=("not a Linux or Wasm image rtadvisor knows how to run",), **common)


#: The parts of an image config :func:`classify` reads, with the types it needs (any config media type:
#: OCI, Docker, Wasm); validated before use so a crafted config is one error line, not a TypeError.
CLASSIFY_CONFIG: dict[str, Any] = {
    "type": "object",
    "properties": {
        "architecture": {"type": "string"},
        "os": {"type": "string"},
        "config": {
            "type": ["object", "null"],
            "properties": {
                "Entrypoint": {"type": ["array", "null"], "items": {"type": "string"}},
                "Cmd": {"type": ["array", "null"], "items": {"type": "string"}},
            },
        },
    },
}


def _config_errors(config: Any, where: str) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(CLASSIFY_CONFIG)
    return [f"{where}: {'/'.join(show(str(p)) for p in e.absolute_path) or '(top)'}: {schema_message(e)}"
            for e in validator.iter_errors(config)]


def inspect_layout(path: Path, *, validate: bool = True) -> dict[str, Any]:
    """Classify every image of an OCI layout (directory or tar); optionally validate it too.

    Each document is checked against its schema before it is looked into; a layout whose index,
    manifests or configs cannot be used raises one :class:`InputError` line naming the document and
    field. Digest and size mismatches do not stop the inspection: they are listed under ``errors``.
    """
    reports: list[ImageReport] = []
    with LayoutSource(path) as src:
        if not src.exists("index.json"):
            raise InputError(f"{src.where}: not an OCI image layout (no index.json); "
                             "`skopeo copy docker-archive:X oci:DIR` converts a docker save archive")
        index = src.json("index.json")
        require(index, MT_INDEX, f"{src.where}: index.json")
        for i, desc in enumerate(index["manifests"]):
            where = f"{src.where}: index.json manifests[{i}]"
            manifest = src.blob_json(desc["digest"], where)
            if not isinstance(manifest, dict):
                raise InputError(f"{where}: the manifest is a JSON {type(manifest).__name__}, expected an object")
            if manifest.get("mediaType") == MT_INDEX or "manifests" in manifest:
                continue  # nested index: the images it lists are inspected via the top index only
            require(manifest, MT_MANIFEST, f"{where} (manifest {desc['digest'][:19]})")
            cdesc = manifest["config"]
            try:
                config = src.blob_json(cdesc["digest"], f"{where} config")
            except InputError:
                config = {}  # missing or unreadable: classified as unknown; validation says why
            errors = _config_errors(config, f"{where} config {cdesc['digest'][:19]}")
            if errors:
                raise InputError(errors[0])
            annotations = desc.get("annotations") or {}
            ref = annotations.get(CONTAINERD_NAME) or annotations.get(REF_NAME)
            reports.append(classify(manifest, config, str(cdesc.get("mediaType", "")), ref, desc["digest"]))
    out: dict[str, Any] = {"path": str(path), "images": [r.to_json() for r in reports]}
    if validate:
        check = validate_layout(path)
        out["valid"] = check.ok
        out["errors"] = list(check.errors)
    return out
