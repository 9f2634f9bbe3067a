"""Read and validate OCI image layouts (directory or tar) against the OCI image-spec schemas.

The JSON schemas below are the parts of the OCI image-spec v1.1 schemas (``schema/*.json`` in
opencontainers/image-spec) that matter for what we write and read: descriptor, manifest, index,
image config, layout file, plus the CNCF Wasm config. Beyond the schemas, :func:`validate_layout`
checks what a schema cannot: every referenced blob exists, its sha256 and size match, and each
gzip layer decompresses to the ``diff_id`` the config promises.

A layout is untrusted input: a digest is checked to be ``sha256:<64 hex>`` before it becomes a path,
nothing is read through a symbolic link or outside the layout, documents are validated against their
schema *before* anything looks into them, and blobs are streamed with size and decompression limits
(:mod:`rtadvisor.safeio`), so a crafted layout ends in one line, not a traceback or a gzip bomb.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from rtadvisor import safeio
from rtadvisor.errors import InputError
from rtadvisor.safeio import show

from .build import MT_CONFIG, MT_INDEX, MT_LAYER_GZIP, MT_MANIFEST, MT_WASM_CONFIG

DIGEST = r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"
#: What rtadvisor reads: the registered algorithms with their exact encodings (see ``DIGEST_HEX``).
DIGEST_STRICT = r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$"
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
        "digest": {"type": "string", "pattern": DIGEST_STRICT},
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


#: Digest algorithms of the OCI image spec (``descriptor.md``: sha256 required, sha512 optional) with the
#: length of their lowercase hex encoding. A digest is also a path (``blobs/<alg>/<hex>``), so anything
#: else - ``sha256:../../etc/passwd`` - is refused before it comes near the file system.
DIGEST_HEX = {"sha256": 64, "sha512": 128}
_HEX = re.compile(r"^[a-f0-9]+$")
#: Members a layout tar may hold: a layout has a handful of files per image; a tar with more entries is
#: not a layout we can check in bounded time.
MAX_TAR_MEMBERS = 100_000
_CHUNK = 1 << 20


def parse_digest(digest: object, where: str) -> tuple[str, str]:
    """``sha256:<64 hex>`` (or ``sha512:<128 hex>``) split in two; anything else raises InputError."""
    if isinstance(digest, str):
        algo, sep, hexpart = digest.partition(":")
        if sep and algo in DIGEST_HEX and len(hexpart) == DIGEST_HEX[algo] and _HEX.fullmatch(hexpart):
            return algo, hexpart
    shown = show(repr(digest))
    shown = shown if len(shown) <= 90 else shown[:87] + "..."
    raise InputError(f"{where}: digest {shown} is not sha256:<64 lowercase hex> (or sha512:<128 hex>)")


def _short(text: str, n: int = 160) -> str:
    text = show(text)
    return text if len(text) <= n else text[: n - 3] + "..."


class LayoutSource:
    """Read files of an OCI layout stored as a directory or as a (plain) tar archive, within bounds.

    Directory layouts are read with :func:`rtadvisor.safeio.open_beneath`: no ``..``, no symbolic link
    anywhere on the way, regular files only. Tar layouts index their regular-file members by
    normalised name (``./blobs/x`` = ``blobs/x``; names with ``..`` are ignored, symlink and hardlink
    members are never followed). JSON documents are limited to :attr:`Limits.max_bytes` and parsed
    strictly; blobs are streamed, never read whole.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = show(str(path))
        self._tar: tarfile.TarFile | None = None
        self._fh: Any = None
        self._members: dict[str, tarfile.TarInfo] = {}
        try:
            st = path.stat()
        except OSError as exc:
            reason = "no such file or directory" if exc.errno == 2 else (exc.strerror or str(exc))
            raise InputError(f"{self.where}: {reason}") from exc
        if stat.S_ISDIR(st.st_mode):
            return
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{self.where}: not an OCI layout directory or tar archive (expected a directory or a "
                             "regular file)")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
            self._fh = os.fdopen(fd, "rb")
            self._tar = tarfile.open(fileobj=self._fh, mode="r:")  # noqa: SIM115 - open as long as the source
            for count, member in enumerate(self._tar, start=1):
                if count > MAX_TAR_MEMBERS:
                    raise InputError(f"{self.where}: more than {MAX_TAR_MEMBERS} tar members; not an OCI layout")
                name = member.name
                while name.startswith("./"):
                    name = name[2:]
                parts = name.split("/")
                if member.isfile() and not name.startswith("/") and ".." not in parts:
                    self._members[name] = member
        except (tarfile.TarError, OSError, EOFError, ValueError, UnicodeError) as exc:
            self.close()
            raise InputError(f"{self.where}: neither an OCI layout directory nor a tar archive "
                             "(an OCI layout archive is a plain, uncompressed tar)") from exc
        except BaseException:
            self.close()
            raise

    # -- raw access

    def _open(self, name: str) -> tuple[Any, int]:
        """A binary reader of member/file ``name`` and its size; InputError if missing or unsafe."""
        if self._tar is None:
            fd = safeio.open_beneath(self.path, name, what=f"{self.where}: {name}")
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                os.close(fd)
                raise InputError(f"{self.where}: {name}: not a regular file")
            return os.fdopen(fd, "rb"), st.st_size
        member = self._members.get(name)
        fh = self._tar.extractfile(member) if member else None
        if fh is None or member is None:
            raise InputError(f"{self.where}: missing {name}")
        return fh, member.size

    def read(self, name: str, *, limit: int | None = None) -> bytes:
        """The whole file ``name`` (a JSON document), at most ``limit`` bytes (:attr:`Limits.max_bytes`)."""
        limit = limit if limit is not None else safeio.limits().max_bytes
        fh, size = self._open(name)
        with fh:
            if size > limit:
                raise InputError(f"{self.where}: {name}: {size} bytes is more than the {safeio.size_text(limit)} "
                                 f"limit for a JSON document (set {safeio.ENV['max_bytes']} to raise it)")
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise InputError(f"{self.where}: {name}: more than the {safeio.size_text(limit)} limit")
        return bytes(data)

    def chunks(self, name: str, limit: int) -> Iterator[bytes]:
        """The file ``name`` in chunks; stops with InputError after ``limit`` bytes."""
        fh, _ = self._open(name)
        total = 0
        with fh:
            while True:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    return
                total += len(chunk)
                if total > limit:
                    raise InputError(f"{self.where}: {name}: more than {safeio.size_text(limit)} "
                                     f"(set {safeio.ENV['max_layer_bytes']} to raise the limit)")
                yield chunk

    def exists(self, name: str) -> bool:
        if self._tar is not None:
            return name in self._members
        return os.path.lexists(os.path.join(self.path, name))

    def blob_name(self, digest: object, where: str) -> str:
        algo, hexpart = parse_digest(digest, where)
        return f"blobs/{algo}/{hexpart}"

    def blob(self, digest: object, where: str = "descriptor") -> bytes:
        return self.read(self.blob_name(digest, where))

    def json(self, name: str) -> Any:
        return safeio.load_json(self.read(name), where=f"{self.where}: {name}")

    def blob_json(self, digest: object, where: str) -> Any:
        name = self.blob_name(digest, where)
        return safeio.load_json(self.read(name), where=f"{self.where}: {where} ({name})")

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tar = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
               float: "a number", type(None): "null"}


def schema_message(e: Any) -> str:
    """jsonschema's message, without repeating a (possibly huge, hostile) instance in full."""
    if e.validator == "type":
        want = e.validator_value if isinstance(e.validator_value, str) else " or ".join(e.validator_value)
        return f"expected {want}, got {_JSON_TYPES.get(type(e.instance), type(e.instance).__name__)}"
    if e.validator in ("pattern", "const", "enum", "format", "minimum", "maximum", "minItems"):
        got = _short(repr(e.instance), 100)
        return f"{got} does not match the {e.validator} {_short(repr(e.validator_value), 80)}"
    return _short(e.message)


def schema_errors(obj: Any, schema_key: str, where: str) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMAS[schema_key])
    return [f"{where}: {'/'.join(show(str(p)) for p in e.absolute_path) or '(top)'}: {schema_message(e)}"
            for e in sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])]


def require(obj: Any, schema_key: str, where: str) -> None:
    """Validate before use: the first schema error becomes one InputError line naming file and field."""
    errors = schema_errors(obj, schema_key, where)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(f"{errors[0]}{more}")


@dataclass(frozen=True)
class LayoutCheck:
    manifests: int
    blobs: int
    errors: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def _verify_blob(src: LayoutSource, desc: dict[str, Any], where: str, errors: list[str],
                 gunzip: bool = False) -> tuple[bool, str | None]:
    """Stream a blob: its sha256 and size against the descriptor, and (``gunzip``) the digest of its
    decompressed content, with :attr:`Limits.max_layer_bytes` on both. Returns (found, diff_id)."""
    limit = safeio.limits().max_layer_bytes
    try:
        name = src.blob_name(desc.get("digest"), where)
        algo = name.split("/")[1]
        raw = hashlib.new(algo)
        size = 0
        plain = hashlib.sha256()

        def counted() -> Iterator[bytes]:
            nonlocal size
            for chunk in src.chunks(name, limit):
                raw.update(chunk)
                size += len(chunk)
                yield chunk

        if gunzip:
            safeio.gunzip_stream(counted(), limit=limit, where=f"{where}: blob {desc['digest'][:19]}",
                                 on_output=plain.update)
        else:
            for _ in counted():
                pass
    except InputError as exc:
        errors.append(f"{where}: {exc}" if not str(exc).startswith(where) else str(exc))
        return False, None
    if f"{algo}:{raw.hexdigest()}" != desc["digest"]:
        errors.append(f"{where}: blob {desc['digest'][:19]} content does not match its digest")
    if size != desc.get("size"):
        errors.append(f"{where}: blob {desc['digest'][:19]} size {size} != descriptor size {_short(str(desc.get('size')), 40)}")
    return True, f"sha256:{plain.hexdigest()}" if gunzip else None


def validate_layout(path: Path) -> LayoutCheck:
    """Check an OCI layout (dir or tar) against the schemas and its own digests.

    Every problem is collected as one line (nothing here raises for bad content, only for a path
    that is no layout at all); a document that fails its schema is not looked into further.
    """
    errors: list[str] = []
    blobs = 0
    manifests: list[Any] = []
    with LayoutSource(path) as src:
        for name, key in (("oci-layout", "oci-layout"), ("index.json", MT_INDEX)):
            try:
                doc = src.json(name)
            except InputError as exc:
                errors.append(str(exc))
                continue
            more = schema_errors(doc, key, name)
            errors += more
            if key == MT_INDEX and not more:
                manifests = doc.get("manifests", [])
        for i, mdesc in enumerate(manifests):
            where = f"index.json manifests[{i}]"
            found, _ = _verify_blob(src, mdesc, where, errors)
            blobs += 1
            if not found:
                continue
            try:
                manifest = src.blob_json(mdesc["digest"], where)
            except InputError as exc:
                errors.append(str(exc))
                continue
            if mdesc.get("mediaType") == MT_INDEX or (isinstance(manifest, dict) and "manifests" in manifest):
                errors += schema_errors(manifest, MT_INDEX, f"index {mdesc['digest'][:19]}")
                continue  # a nested index: its own manifests are not followed
            more = schema_errors(manifest, MT_MANIFEST, f"manifest {mdesc['digest'][:19]}")
            errors += more
            if more:
                continue
            cdesc = manifest["config"]
            found, _ = _verify_blob(src, cdesc, f"{where} config", errors)
            blobs += 1
            config: Any = {}
            if found:
                try:
                    config = src.blob_json(cdesc["digest"], f"{where} config")
                except InputError as exc:
                    errors.append(str(exc))
            config_ok = True
            if cdesc.get("mediaType") in SCHEMAS:
                more = schema_errors(config, cdesc["mediaType"], f"config {cdesc['digest'][:19]}")
                errors += more
                config_ok = not more
            diff_ids = config["rootfs"]["diff_ids"] if config_ok and cdesc.get("mediaType") == MT_CONFIG else []
            for j, ldesc in enumerate(manifest["layers"]):
                gz = ldesc.get("mediaType") == MT_LAYER_GZIP and cdesc.get("mediaType") == MT_CONFIG and config_ok
                _, diff = _verify_blob(src, ldesc, f"{where} layers[{j}]", errors, gunzip=gz)
                blobs += 1
                if diff is not None and (j >= len(diff_ids) or diff_ids[j] != diff):
                    errors.append(f"{where} layers[{j}]: uncompressed digest {diff[:19]} is not rootfs.diff_ids[{j}]")
            if cdesc.get("mediaType") == MT_WASM_CONFIG and config_ok:
                layer_digests = [ld.get("digest") for ld in manifest["layers"]]
                if config.get("layerDigests") != layer_digests:
                    errors.append(f"{where}: Wasm config layerDigests do not list the manifest's layers")
    return LayoutCheck(len(manifests), blobs, tuple(errors))
