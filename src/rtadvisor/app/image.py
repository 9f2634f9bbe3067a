"""Wasm OCI images without Docker: ``image build`` and ``image inspect`` as use cases.

Both take untrusted input (a module, files to add, a layout someone handed over) through
:mod:`rtadvisor.safeio`, so a refused input is one :class:`~rtadvisor.errors.InputError` line and
nothing is left half-written (:func:`build_image` stages its output beside the destination).

>>> from pathlib import Path
>>> report = inspect_image(Path("hello-image"))          # doctest: +SKIP
>>> report["valid"], [i["kind"] for i in report["images"]]  # doctest: +SKIP
(True, ['wasm-compat', 'wasm-artifact'])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rtadvisor.errors import ArtifactError, InputError

#: ``image build --kind`` values.
KINDS = ("compat", "artifact", "both", "linux")

#: ``image inspect`` exit codes: the layout is valid / it was read but failed verification (digest or
#: size mismatch, a layer over the limit, not gzip: listed under ``errors``) / it cannot be read at
#: all (bad input: not a layout, a document of the wrong shape, a digest that is not one).
INSPECT_VALID, INSPECT_INVALID = 0, 1


def build_image(
    output: Path,
    *,
    module: Path | None = None,
    kind: str = "both",
    name: str = "app",
    tag: str = "latest",
    variant: str = "compat-smart",
    add: Sequence[str] = (),
    busybox: Path | None = None,
    entrypoint: str | None = None,
) -> dict[str, Any]:
    """Build a compat image (crun, route R2), a CNCF Wasm OCI artifact (runwasi, R3), both, or a plain
    Linux image into ``output`` (an OCI layout directory, added to if it exists, or a ``.tar``).

    Returns ``{"output": str, "images": [{"ref", "kind", "manifest_digest", "platform",
    "size_bytes"}]}``; the layout written is validated (schemas and digests) before it is reported.
    """
    from rtadvisor.image import build as b
    from rtadvisor.image.layout import validate_layout

    if kind not in KINDS:
        raise InputError(f"--kind: expected {', '.join(KINDS[:-1])} or {KINDS[-1]}, got {kind!r}", field="kind")
    ref = b.check_ref(name, tag)
    if kind == "linux":
        files: list[b.LayerFile] = []
        if busybox is not None:
            files += b.busybox_files(busybox)
        files += b.added_files(list(add))
        if not files:
            raise InputError("--kind linux: give --busybox PATH and/or --add SRC:/dest", field="add")
        if not entrypoint:
            raise InputError("--entrypoint: a linux image needs an entrypoint (a JSON list of strings)",
                             field="entrypoint")
        argv = b.parse_entrypoint(entrypoint)

        def build(w: b.LayoutWriter) -> list[b.BuiltImage]:
            return [b.add_linux(w, files, argv, ref)]
    else:
        if module is None:
            raise InputError("image build: give the Wasm module (MODULE argument)", field="module")
        data = b.read_module(module)
        module_name = module.name

        def build(w: b.LayoutWriter) -> list[b.BuiltImage]:
            out = []
            if kind in ("compat", "both"):
                out.append(b.add_compat(w, data, ref, variant, module_name))
            if kind in ("artifact", "both"):
                out.append(b.add_artifact(w, data, f"{ref}-artifact" if kind == "both" else ref, module_name))
            return out

    images = b.write_output(output, build)
    check = validate_layout(output)
    if not check.ok:  # our own writer produced something invalid: a bug, say so loudly
        raise ArtifactError(f"{output}: built layout is invalid: {check.errors[0]}")
    return {"output": str(output), "images": [
        {"ref": i.ref, "kind": i.kind, "manifest_digest": i.manifest_digest,
         "platform": f"{i.config.get('os')}/{i.config.get('architecture')}",
         "size_bytes": sum(d["size"] for d in i.manifest["layers"]) + i.manifest["config"]["size"]}
        for i in images]}


def inspect_image(path: Path) -> dict[str, Any]:
    """Which kind of image each manifest of a layout (directory or tar) holds, the routes that can run
    it and the containerd handlers of each route (named as ``generate`` names them), and whether the
    layout is valid (OCI schemas, digests, sizes, layers within the limits).

    Keys: ``path``, ``valid``, ``errors``, ``exit_code`` (:data:`INSPECT_VALID` or
    :data:`INSPECT_INVALID`), ``images[]`` (see ``rtadvisor.image.inspect.ImageReport``).
    """
    from rtadvisor.image.inspect import inspect_layout

    report = inspect_layout(path)
    report["exit_code"] = INSPECT_VALID if report["valid"] else INSPECT_INVALID
    return report
