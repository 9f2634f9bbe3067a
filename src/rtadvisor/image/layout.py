"""Read and validate OCI image layouts (directory or tar) against the OCI image-spec schemas.

The JSON schemas below are the parts of the OCI image-spec v1.1 schemas (``schema/*.json`` in
opencontainers/image-spec) that matter for what we write and read: descriptor, manifest, index,
image config, layout file, plus the CNCF Wasm config. Beyond the schemas, :func:`validate_layout`
checks what a schema cannot: every referenced blob exists, its sha256 and size match, and each
gzip layer decompresses to the ``diff_id`` the config promises.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtadvisor.errors import ArtifactError, InputError

from .build import MT_CONFIG, MT_INDEX, MT_LAYER_GZIP, MT_MANIFEST, MT_WASM_CONFIG

DIGEST = r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"
MEDIA_TYPE = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"
ANNOTATIONS = {"type": "object", "additionalProperties": {"type": "string"}}
PLATFORM = {
    "type": "object",
    "required": ["architecture", "os"],
    "properties": {
        "architecture": {"type": "string"},
        "os": {"type": "string"},
        "os.version": {"type": "string"},
        "os.features": {"type": "array", "items": {"type": "string"}},
        "variant": {"type": "string"},
    },
}
DESCRIPTOR = {
    "type": "object",
    "required": ["mediaType", "size", "digest"],
    "properties": {
        "mediaType": {"type": "string", "pattern": MEDIA_TYPE},
        "size": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
        "digest": {"type": "string", "pattern": DIGEST},
        "urls": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "data": {"type": "string", "contentEncoding": "base64"},
        "artifactType": {"type": "string", "pattern": MEDIA_TYPE},
        "annotations": ANNOTATIONS,
        "platform": PLATFORM,
    },
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "oci-layout": {
        "type": "object",
        "required": ["imageLayoutVersion"],
        "properties": {"imageLayoutVersion": {"type": "string", "const": "1.0.0"}},
    },
    MT_INDEX: {
        "type": "object",
        "required": ["schemaVersion", "manifests"],
        "properties": {
            "schemaVersion": {"type": "integer", "const": 2},
            "mediaType": {"type": "string", "const": MT_INDEX},
            "artifactType": {"type": "string", "pattern": MEDIA_TYPE},
            "manifests": {"type": "array", "items": DESCRIPTOR},
            "subject": DESCRIPTOR,
            "annotations": ANNOTATIONS,
        },
    },
    MT_MANIFEST: {
        "type": "object",
        "required": ["schemaVersion", "config", "layers"],
        "properties": {
            "schemaVersion": {"type": "integer", "const": 2},
            "mediaType": {"type": "string", "const": MT_MANIFEST},
            "artifactType": {"type": "string", "pattern": MEDIA_TYPE},
            "config": DESCRIPTOR,
            "layers": {"type": "array", "items": DESCRIPTOR},
            "subject": DESCRIPTOR,
            "annotations": ANNOTATIONS,
        },
    },
    MT_CONFIG: {
        "type": "object",
        "required": ["architecture", "os", "rootfs"],
        "properties": {
            "created": {"type": "string", "format": "date-time"},
            "author": {"type": "string"},
            "architecture": {"type": "string"},
            "variant": {"type": "string"},
            "os": {"type": "string"},
            "config": {
                "type": "object",
                "properties": {
                    "User": {"type": "string"},
                    "Env": {"type": "array", "items": {"type": "string", "pattern": "^[^=]+=.*$"}},
                    "Entrypoint": {"type": ["array", "null"], "items": {"type": "string"}},
                    "Cmd": {"type": ["array", "null"], "items": {"type": "string"}},
                    "WorkingDir": {"type": "string"},
                    "Labels": ANNOTATIONS,
                },
            },
            "rootfs": {
                "type": "object",
                "required": ["type", "diff_ids"],
                "properties": {
                    "type": {"type": "string", "enum": ["layers"]},
                    "diff_ids": {"type": "array", "items": {"type": "string", "pattern": DIGEST}},
                },
            },
            "history": {"type": "array", "items": {"type": "object"}},
        },
    },
    MT_WASM_CONFIG: {  # CNCF TAG-Runtime Wasm OCI artifact config
        "type": "object",
        "required": ["architecture", "os", "layerDigests"],
        "properties": {
            "created": {"type": "string"},
            "author": {"type": "string"},
            "architecture": {"type": "string", "const": "wasm"},
            "os": {"type": "string", "enum": ["wasip1", "wasip2"]},
            "layerDigests": {"type": "array", "items": {"type": "string", "pattern": DIGEST}, "minItems": 1},
            "component": {"type": "object"},
        },
    },
}


class LayoutSource:
    """Read files of an OCI layout stored as a directory or as a tar archive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tar: tarfile.TarFile | None = None
        if path.is_dir():
            return
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        try:
            self._tar = tarfile.open(path)
        except (tarfile.TarError, OSError) as exc:
            raise InputError(f"{path}: neither an OCI layout directory nor a tar archive") from exc
        self._members = {m.name.lstrip("./"): m for m in self._tar.getmembers() if m.isfile()}

    def read(self, name: str) -> bytes:
        if self._tar is None:
            try:
                return (self.path / name).read_bytes()
            except OSError as exc:
                raise ArtifactError(f"{self.path}: missing {name}") from exc
        member = self._members.get(name)
        fh = self._tar.extractfile(member) if member else None
        if fh is None:
            raise ArtifactError(f"{self.path}: missing {name}")
        return fh.read()

    def blob(self, digest: str) -> bytes:
        algo, _, hexpart = digest.partition(":")
        return self.read(f"blobs/{algo}/{hexpart}")

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name))
        except json.JSONDecodeError as exc:
            raise ArtifactError(f"{self.path}: {name} is not JSON: {exc}") from exc

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()

    def __enter__(self) -> LayoutSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def schema_errors(obj: Any, schema_key: str, where: str) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMAS[schema_key])
    return [f"{where}: {'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
            for e in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))]


@dataclass(frozen=True)
class LayoutCheck:
    manifests: int
    blobs: int
    errors: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def _verified_blob(src: LayoutSource, desc: dict[str, Any], where: str, errors: list[str]) -> bytes | None:
    try:
        data = src.blob(desc["digest"])
    except (ArtifactError, KeyError) as exc:
        errors.append(f"{where}: blob {desc.get('digest')} missing ({exc})")
        return None
    if f"sha256:{hashlib.sha256(data).hexdigest()}" != desc["digest"]:
        errors.append(f"{where}: blob {desc['digest']} content does not match its digest")
    if len(data) != desc.get("size"):
        errors.append(f"{where}: blob {desc['digest']} size {len(data)} != descriptor size {desc.get('size')}")
    return data


def validate_layout(path: Path) -> LayoutCheck:
    """Check an OCI layout (dir or tar) against the schemas and its own digests."""
    errors: list[str] = []
    blobs = 0
    with LayoutSource(path) as src:
        errors += schema_errors(src.json("oci-layout"), "oci-layout", "oci-layout")
        index = src.json("index.json")
        errors += schema_errors(index, MT_INDEX, "index.json")
        manifests = index.get("manifests", []) if isinstance(index, dict) else []
        for i, mdesc in enumerate(manifests):
            where = f"index.json manifests[{i}]"
            data = _verified_blob(src, mdesc, where, errors)
            blobs += 1
            if data is None:
                continue
            manifest = json.loads(data)
            errors += schema_errors(manifest, MT_MANIFEST, f"manifest {mdesc['digest'][:19]}")
            cdesc = manifest.get("config", {})
            cdata = _verified_blob(src, cdesc, f"{where} config", errors)
            blobs += 1
            config = json.loads(cdata) if cdata else {}
            if cdesc.get("mediaType") in SCHEMAS:
                errors += schema_errors(config, cdesc["mediaType"], f"config {cdesc.get('digest', '')[:19]}")
            diff_ids = (config.get("rootfs") or {}).get("diff_ids", [])
            for j, ldesc in enumerate(manifest.get("layers", [])):
                ldata = _verified_blob(src, ldesc, f"{where} layers[{j}]", errors)
                blobs += 1
                if ldata is not None and ldesc.get("mediaType") == MT_LAYER_GZIP and cdesc.get("mediaType") == MT_CONFIG:
                    diff = f"sha256:{hashlib.sha256(gzip.decompress(ldata)).hexdigest()}"
                    if j >= len(diff_ids) or diff_ids[j] != diff:
                        errors.append(f"{where} layers[{j}]: uncompressed digest {diff[:19]} is not rootfs.diff_ids[{j}]")
            if cdesc.get("mediaType") == MT_WASM_CONFIG:
                layer_digests = [ld.get("digest") for ld in manifest.get("layers", [])]
                if config.get("layerDigests") != layer_digests:
                    errors.append(f"{where}: Wasm config layerDigests do not list the manifest's layers")
    return LayoutCheck(len(manifests), blobs, tuple(errors))
