"""Build OCI image layouts (directory or tar) without Docker.

Three kinds:

``compat``
    An ordinary OCI image whose single layer holds the module at ``/app.wasm``, platform
    ``wasi/wasm``, entrypoint ``/app.wasm``, and the manifest annotation
    ``module.wasm.image/variant=compat-smart`` (or ``compat``). crun (route R2) hands such a
    container to its Wasm handler; runwasi (R3) runs it too.
``artifact``
    The CNCF TAG-Runtime *Wasm OCI artifact*: config ``application/vnd.wasm.config.v0+json``
    (architecture ``wasm``, os ``wasip1``/``wasip2``, ``layerDigests``), one layer per module with
    media type ``application/wasm``. For runwasi shims (R3); crun cannot run it.
``linux``
    A plain ``linux/amd64`` image from files on this machine (e.g. busybox-static): what runc,
    crun and runsc run, and what the containerd proof imports.

Output is deterministic (fixed timestamps, sorted tar members, gzip mtime 0): the same input
always yields the same digests. Written with the standard library (tarfile, gzip, hashlib)
because the layout is small and umoci/skopeo are only used to *check* it, independently.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rtadvisor.errors import ArtifactError, InputError

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_WASM_CONFIG = "application/vnd.wasm.config.v0+json"
MT_WASM_LAYER = "application/wasm"
VARIANT_ANNOTATION = "module.wasm.image/variant"
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
TITLE = "org.opencontainers.image.title"
# A fixed creation time keeps digests reproducible (SOURCE_DATE_EPOCH overrides it, as in Debian).
CREATED = "1970-01-01T00:00:00Z"

Kind = Literal["compat", "artifact", "linux"]
WASM_MAGIC = b"\0asm"


@dataclass(frozen=True)
class LayerFile:
    """A file (or symlink, when ``link`` is set) to put in a layer."""

    path: str  # absolute path inside the image
    data: bytes = b""
    mode: int = 0o644
    link: str | None = None


@dataclass(frozen=True)
class BuiltImage:
    kind: Kind
    ref: str
    manifest_digest: str
    manifest: dict[str, Any]
    config: dict[str, Any]


@dataclass
class LayoutWriter:
    """Accumulates blobs and index entries of one OCI image layout in a directory."""

    root: Path
    manifests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)

    def blob(self, data: bytes, media_type: str, **extra: Any) -> dict[str, Any]:
        digest = hashlib.sha256(data).hexdigest()
        path = self.root / "blobs" / "sha256" / digest
        if not path.exists():
            path.write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data), **extra}

    def json_blob(self, obj: dict[str, Any], media_type: str, **extra: Any) -> dict[str, Any]:
        return self.blob(canonical_json(obj), media_type, **extra)

    def add_manifest(self, manifest: dict[str, Any], ref: str, platform: dict[str, str] | None) -> str:
        desc = self.json_blob(manifest, MT_MANIFEST)
        if platform:
            desc["platform"] = platform
        # OCI convention: ref.name is the tag (``skopeo oci:DIR:TAG``, ``ctr import --base-name``);
        # containerd's own annotation carries the full name for a plain ``ctr images import``.
        name, _, tag = ref.rpartition(":")
        desc["annotations"] = {REF_NAME: tag, CONTAINERD_NAME: ref} if name else {REF_NAME: ref}
        self.manifests = [m for m in self.manifests if m.get("annotations", {}).get(REF_NAME) != desc["annotations"][REF_NAME]]
        self.manifests.append(desc)
        return str(desc["digest"])

    def finish(self) -> None:
        (self.root / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))
        index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": self.manifests}
        (self.root / "index.json").write_bytes(canonical_json(index))


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _created() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        import datetime as dt

        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return CREATED


def layer_tar(files: list[LayerFile]) -> bytes:
    """An uncompressed, reproducible tar of ``files`` (parent directories added, sorted, owner 0)."""
    dirs: set[str] = set()
    for f in files:
        parts = f.path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in sorted(dirs):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for f in sorted(files, key=lambda f: f.path):
            info = tarfile.TarInfo(f.path.strip("/"))
            info.mtime = 0
            if f.link is not None:
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, f.link, 0o777
                tar.addfile(info)
            else:
                info.size, info.mode = len(f.data), f.mode
                tar.addfile(info, io.BytesIO(f.data))
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def check_module(data: bytes, where: str) -> Literal["module", "component"]:
    """Refuse anything that is not a Wasm binary; tell a core module from a component."""
    if len(data) < 8 or data[:4] != WASM_MAGIC:
        raise InputError(f"{where}: not a WebAssembly binary (missing the \\0asm magic)")
    return "module" if data[4:8] == b"\x01\x00\x00\x00" else "component"


def _image_config(arch: str, os_: str, entrypoint: list[str], diff_ids: list[str], env: list[str] | None = None,
                  cmd: list[str] | None = None, history: str = "") -> dict[str, Any]:
    cfg: dict[str, Any] = {"Entrypoint": entrypoint}
    if cmd:
        cfg["Cmd"] = cmd
    if env:
        cfg["Env"] = env
    return {
        "created": _created(),
        "architecture": arch,
        "os": os_,
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": _created(), "created_by": history or "rtadvisor image build"}],
    }


def add_compat(writer: LayoutWriter, module: bytes, ref: str, variant: str = "compat-smart",
               module_name: str = "app.wasm") -> BuiltImage:
    if variant not in ("compat", "compat-smart"):
        raise InputError(f"--variant: expected compat or compat-smart, got {variant!r}")
    check_module(module, module_name)
    tar = layer_tar([LayerFile("/app.wasm", module, 0o755)])
    layer = writer.blob(gzip_bytes(tar), MT_LAYER_GZIP)
    config = _image_config("wasm", "wasi", ["/app.wasm"], [f"sha256:{hashlib.sha256(tar).hexdigest()}"],
                           history=f"rtadvisor image build {module_name} (compat)")
    config_desc = writer.json_blob(config, MT_CONFIG)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": config_desc,
        "layers": [layer],
        "annotations": {VARIANT_ANNOTATION: variant, TITLE: module_name, "org.opencontainers.image.created": _created()},
    }
    digest = writer.add_manifest(manifest, ref, {"architecture": "wasm", "os": "wasi"})
    return BuiltImage("compat", ref, digest, manifest, config)


def add_artifact(writer: LayoutWriter, module: bytes, ref: str, module_name: str = "app.wasm") -> BuiltImage:
    flavour = check_module(module, module_name)
    layer = writer.blob(module, MT_WASM_LAYER, annotations={TITLE: module_name})
    config: dict[str, Any] = {
        "created": _created(),
        "architecture": "wasm",
        "os": "wasip1" if flavour == "module" else "wasip2",
        "layerDigests": [layer["digest"]],
    }
    config_desc = writer.json_blob(config, MT_WASM_CONFIG)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": config_desc,
        "layers": [layer],
        "annotations": {TITLE: module_name, "org.opencontainers.image.created": _created()},
    }
    digest = writer.add_manifest(manifest, ref, {"architecture": "wasm", "os": config["os"]})
    return BuiltImage("artifact", ref, digest, manifest, config)


def add_linux(writer: LayoutWriter, files: list[LayerFile], entrypoint: list[str], ref: str,
              cmd: list[str] | None = None, arch: str = "amd64") -> BuiltImage:
    if not entrypoint:
        raise InputError("--entrypoint: a linux image needs an entrypoint")
    tar = layer_tar(files)
    layer = writer.blob(gzip_bytes(tar), MT_LAYER_GZIP)
    config = _image_config(arch, "linux", entrypoint, [f"sha256:{hashlib.sha256(tar).hexdigest()}"],
                           env=["PATH=/bin:/usr/bin"], cmd=cmd, history="rtadvisor image build --kind linux")
    config_desc = writer.json_blob(config, MT_CONFIG)
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": config_desc, "layers": [layer]}
    digest = writer.add_manifest(manifest, ref, {"architecture": arch, "os": "linux"})
    return BuiltImage("linux", ref, digest, manifest, config)


def busybox_files(busybox: Path, applets: tuple[str, ...] = ("sh", "echo", "cat", "ls", "uname")) -> list[LayerFile]:
    """``/bin/busybox`` plus applet symlinks: a ~2 MB static userland for the plain Linux image."""
    try:
        data = busybox.read_bytes()
    except OSError as exc:
        raise InputError(f"{busybox}: cannot read: {exc.strerror}") from exc
    return [LayerFile("/bin/busybox", data, 0o755)] + [LayerFile(f"/bin/{a}", link="busybox") for a in applets]


def tar_layout(layout: Path, dest: Path) -> None:
    """Tar an OCI layout directory (members at the archive root, as ``ctr import`` expects)."""
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(layout.rglob("*")):
            rel = path.relative_to(layout).as_posix()
            info = tar.gettarinfo(str(path), rel)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if path.is_file():
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)


def write_output(dest: Path, build: Any) -> list[BuiltImage]:
    """Run ``build(writer)`` and write the layout to ``dest`` (a directory, or ``*.tar``), atomically.

    ``build`` returns the list of images it added. An existing layout directory is added to
    (images with the same ref are replaced); a tar is always written anew.
    """
    as_tar = dest.suffix == ".tar"
    parent = dest.parent if dest.parent != Path("") else Path(".")
    if not parent.is_dir():
        raise InputError(f"--output {dest}: directory {parent} does not exist")
    if not as_tar and dest.exists() and not (dest / "oci-layout").exists() and any(dest.iterdir()):
        raise InputError(f"--output {dest}: exists, is not empty and is not an OCI layout")
    stage = Path(tempfile.mkdtemp(prefix=".rtadvisor-image-", dir=parent))
    try:
        layout = stage / "layout"
        if not as_tar and (dest / "oci-layout").exists():
            shutil.copytree(dest, layout)
        writer = LayoutWriter(layout)
        if (layout / "index.json").exists():
            writer.manifests = json.loads((layout / "index.json").read_text()).get("manifests", [])
        images = list(build(writer))
        writer.finish()
        if as_tar:
            tmp_tar = stage / "image.tar"
            tar_layout(layout, tmp_tar)
            os.replace(tmp_tar, dest)
        else:
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(layout, dest)
        return images
    except OSError as exc:
        raise ArtifactError(f"{dest}: cannot write the image: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)
