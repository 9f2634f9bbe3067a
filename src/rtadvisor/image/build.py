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
import re
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rtadvisor import safeio
from rtadvisor.errors import ArtifactError, InputError
from rtadvisor.safeio import show

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
    data = read_input_file(busybox, "--busybox")
    return [LayerFile("/bin/busybox", data, 0o755)] + [LayerFile(f"/bin/{a}", link="busybox") for a in applets]


# --------------------------------------------------------------------------- reading what the user gives


def read_input_file(path: Path, option: str) -> bytes:
    """A module or file to put in an image: a regular file within :attr:`Limits.max_binary_bytes`."""
    return safeio.read_bytes(path, what=option, limit_name="max_binary_bytes")


def read_module(path: Path) -> bytes:
    """The Wasm module argument, bounded and checked for the ``\\0asm`` magic."""
    data = read_input_file(path, "module")
    check_module(data, show(str(path)))
    return data


#: OCI distribution spec: a repository name component and a tag.
_NAME = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DOMAIN = re.compile(r"^(?:localhost|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)"
                     r"(?::[0-9]{1,5})?$")


def check_ref(name: str, tag: str) -> str:
    """``name:tag`` if both follow the OCI distribution grammar (what skopeo and ctr accept); the
    first component is a registry when it has a dot or a port, or is ``localhost``."""
    first, _, rest = name.partition("/")
    has_domain = bool(rest) and ("." in first or ":" in first or first == "localhost")
    repo = rest if has_domain else name
    if (not name or len(name) > 255 or not _NAME.fullmatch(repo)) or (has_domain and not _DOMAIN.fullmatch(first)):
        raise InputError(f"--name: expected an image name such as app or registry.example.com/team/app "
                         f"(lowercase letters, digits, . _ - separators, / between parts), got {_short(name)}")
    if not _TAG.fullmatch(tag):
        raise InputError(f"--tag: expected a tag of letters, digits, _ . - (at most 128, not starting with . or -), "
                         f"got {_short(tag)}")
    return f"{name}:{tag}"


def _short(text: str) -> str:
    shown = show(repr(text))
    return shown if len(shown) <= 80 else shown[:77] + "..."


def layer_path(dest: str, option: str = "--add") -> str:
    """An absolute path inside the image, normalised: no ``..``/``.``/empty components, no control
    characters, not ``/`` itself (a tar member ``../../etc/x`` escapes the rootfs of whoever unpacks it)."""
    parts = dest.split("/")
    if (not dest.startswith("/") or any(p in (".", "..") for p in parts) or dest.strip("/") == ""
            or show(dest) != dest or "\\" in dest):
        raise InputError(f"{option}: expected an absolute path inside the image without . or .. components "
                         f"(e.g. /app/run.sh), got {_short(dest)}")
    return "/" + "/".join(p for p in parts if p)


def added_files(specs: list[str]) -> list[LayerFile]:
    """``--add SRC:/dest`` options as layer files: sources bounded regular files, destinations safe and
    distinct (a file may not also be the parent directory of another one)."""
    files: list[LayerFile] = []
    dests: set[str] = set()
    for spec in specs:
        src, sep, dest = spec.partition(":")
        if not sep or not src:
            raise InputError(f"--add {_short(spec)}: expected SRC:/absolute/dest")
        target = layer_path(dest, f"--add {_short(spec)}")
        if target in dests:
            raise InputError(f"--add: {_short(target)} given twice")
        dests.add(target)
        path = Path(src)
        data, st = safeio.read_bytes_stat(path, what=f"--add {_short(spec)}:", limit_name="max_binary_bytes")
        files.append(LayerFile(target, data, stat.S_IMODE(st.st_mode) & 0o777))
    for d in dests:
        parent = d.rsplit("/", 1)[0]
        while parent:
            if parent in dests:
                raise InputError(f"--add: {_short(parent)} is a file and also the directory of {_short(d)}")
            parent = parent.rsplit("/", 1)[0]
    return files


def parse_entrypoint(text: str) -> list[str]:
    """``--entrypoint`` as a JSON list of strings (strict JSON, bounded)."""
    try:
        argv = safeio.load_json(text, where="--entrypoint")
    except InputError as exc:
        raise InputError(f"--entrypoint: expected a JSON list such as '[\"/bin/sh\",\"-c\",\"echo hi\"]' ({exc})") from exc
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) and "\0" not in a for a in argv):
        raise InputError("--entrypoint: expected a non-empty JSON list of strings")
    return argv


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


def _existing_manifests(dest: Path) -> list[dict[str, Any]]:
    """The index entries of a layout we are about to add to, after checking it is one we may copy:
    only directories and regular files (a symlink would be copied as a link to who knows what), a
    valid ``index.json``."""
    from .layout import LayoutSource, require

    where = f"--output {show(str(dest))}"
    for root, dirs, files in os.walk(dest):
        for name in dirs + files:
            st = os.lstat(os.path.join(root, name))
            if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
                rel = os.path.relpath(os.path.join(root, name), dest)
                raise InputError(f"{where}: {show(rel)} is not a regular file or directory; not adding to this layout")
    with LayoutSource(dest) as src:
        index = src.json("index.json")
        require(index, MT_INDEX, f"{where}: index.json")
    return list(index["manifests"])


def write_output(dest: Path, build: Any) -> list[BuiltImage]:
    """Run ``build(writer)`` and write the layout to ``dest`` (a directory, or ``*.tar``), atomically.

    ``build`` returns the list of images it added. An existing layout directory is added to
    (images with the same ref are replaced); a tar is always written anew.
    """
    as_tar = dest.suffix == ".tar"
    where = f"--output {show(str(dest))}"
    parent = dest.parent if dest.parent != Path("") else Path(".")
    if not parent.is_dir():
        raise InputError(f"{where}: directory {show(str(parent))} does not exist")
    if dest.is_symlink():
        raise InputError(f"{where}: a symbolic link; give the path it points to (the output replaces what is there)")
    if dest.exists():
        if as_tar and not dest.is_file():
            raise InputError(f"{where}: exists and is not a regular file")
        if not as_tar and not dest.is_dir():
            raise InputError(f"{where}: exists and is not a directory (an OCI layout directory, or a file "
                             "ending in .tar)")
    try:
        if not as_tar and dest.exists() and not (dest / "oci-layout").exists() and any(dest.iterdir()):
            raise InputError(f"{where}: exists, is not empty and is not an OCI layout")
    except OSError as exc:
        raise InputError(f"{where}: cannot read: {exc.strerror or exc}") from exc
    existing: list[dict[str, Any]] | None = None
    if not as_tar and (dest / "oci-layout").exists():
        existing = _existing_manifests(dest)
    try:
        stage = Path(tempfile.mkdtemp(prefix=".rtadvisor-image-", dir=parent))
    except OSError as exc:  # the output's directory cannot hold our staging directory
        raise InputError(f"{where}: cannot write in {show(str(parent))}: {exc.strerror or exc}") from exc
    try:
        layout = stage / "layout"
        if existing is not None:
            shutil.copytree(dest, layout, symlinks=True)
        writer = LayoutWriter(layout)
        if existing is not None:
            writer.manifests = existing
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
