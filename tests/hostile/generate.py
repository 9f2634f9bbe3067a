"""Hostile inputs too big, too special or too binary to commit: built once per test session.

``build_generated(dir)`` writes them under ``dir`` (the ``{g}`` placeholder of ``cases.yaml``):
50 MB files, a FIFO, symbolic-link loops, an 80 MB "Wasm module", a million-node YAML file and OCI
layouts with traversal digests, gzip bombs and lists where objects belong. ``PREPARE`` holds the
per-case set-ups (``prepare:`` in ``cases.yaml``) that need a private, writable copy - a tree for
``scan --fix`` with a symbolic link out of it, say. Every function here is deterministic.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

BIG = 50 * 1024 * 1024
POD = """apiVersion: v1
kind: Pod
metadata:
  name: {name}
  annotations:
    rtadvisor.io/isolation: strong
spec:
  containers:
  - name: c
    image: nginx
"""


def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)


def _big_text(path: Path, head: str, line: str) -> None:
    """A real (not sparse) text file of 50 MB: ``head`` then ``line`` repeated."""
    with path.open("w") as fh:
        fh.write(head)
        chunk = line * ((1 << 20) // len(line))
        written = len(head)
        while written < BIG:
            fh.write(chunk)
            written += len(chunk)


def _files(g: Path) -> None:
    _big_text(g / "big.yaml", "name: big\n", "# padding padding padding padding padding padding\n")
    _big_text(g / "big.toml", 'name = "big"\n', "# padding padding padding padding padding padding\n")
    _big_text(g / "big.json", '{"runtime": "runc", "pad": "', "x" * 63 + "\n")
    _big_text(g / "big-manifest.yaml", POD.format(name="big"), "# padding padding padding padding padding padding\n")
    with (g / "sparse.yaml").open("wb") as fh:  # 50 MB of NULs, no disk
        fh.truncate(BIG)
    with (g / "huge.wasm").open("wb") as fh:  # valid magic, 80 MB
        fh.write(b"\0asm\x01\x00\x00\x00")
        fh.truncate(80 * 1024 * 1024)
    _write(g / "flat-2m.yaml", "[" + ",".join(["a"] * 2_000_000) + "]\n")
    _write(g / "tagged-nodes.yaml", "---\n".join("[" + ",".join(["!!str a"] * 150_000) + "]\n" for _ in range(6)))
    _write(g / "blockseq.yaml", "-\n" * 3_000_000)
    _write(g / "deep-block.yaml", "".join(" " * i + "a:\n" for i in range(2000)) + " " * 2000 + "x\n")
    deep = "[" * 990 + "]" * 990  # within libyaml's own 1000 levels, beyond Python's stack when built
    _write(g / "manifest-deep-990.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: " + deep + "\n")
    _write(g / "profile-deep-990.yaml", "name: x\ndevices: " + deep + "\n")
    _write(g / "huge-key.yaml", "name: x\n" + "k" * 1_000_000 + ": 1\n")
    _write(g / "containerd-200k.toml", "version = 2\n" + "".join(f"[t{i}]\nk = {i}\n" for i in range(12_000)))
    # many small fixable Pods: over the edit limit of `generate --manifest` (ruamel.yaml is pure Python)
    _write(g / "manifest-30k-nodes.yaml", "---\n".join(POD.format(name=f"p{i}") for i in range(1500)))
    _write(g / "entrypoint-nan.json", "[NaN]")
    os.mkfifo(g / "fifo.yaml")
    os.mkfifo(g / "fifo.toml")
    os.mkfifo(g / "fifo.json")
    os.mkfifo(g / "fifo.wasm")
    os.mkfifo(g / "fifo.tar")
    (g / "dir.yaml").mkdir()
    (g / "dir.wasm").mkdir()
    os.symlink("loop.yaml", g / "loop.yaml")
    os.symlink("/dev/zero", g / "zero.yaml")
    os.symlink("nowhere.yaml", g / "dangling.yaml")
    os.symlink("/dev/zero", g / "zero.tar")


# --------------------------------------------------------------------------- OCI layouts


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _blob(layout: Path, data: bytes) -> str:
    digest = _sha(data)
    _write(layout / "blobs" / "sha256" / digest, data)
    return f"sha256:{digest}"


def _layout(path: Path, index_mutator: Callable[[dict[str, Any]], Any] | None = None,
            layer: bytes | None = None, config: Any = None, manifest_override: Any = None,
            annotations: dict[str, str] | None = None,
            config_media_type: str = "application/vnd.oci.image.config.v1+json",
            layer_media_type: str = "application/vnd.oci.image.layer.v1.tar+gzip") -> None:
    """A one-image OCI layout (a compat image of the empty module), with hostile parts swapped in."""
    module = b"\0asm\x01\x00\x00\x00"
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        info = tarfile.TarInfo("app.wasm")
        info.size = len(module)
        t.addfile(info, io.BytesIO(module))
    layer_bytes = layer if layer is not None else gzip.compress(tar.getvalue(), mtime=0)
    cfg = config if config is not None else {
        "architecture": "wasm", "os": "wasi", "config": {"Entrypoint": ["/app.wasm"]},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{_sha(tar.getvalue())}"]},
    }
    cfg_bytes = json.dumps(cfg).encode()
    manifest = manifest_override if manifest_override is not None else {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config_media_type, "digest": _blob(path, cfg_bytes), "size": len(cfg_bytes)},
        "layers": [{"mediaType": layer_media_type, "digest": _blob(path, layer_bytes), "size": len(layer_bytes)}],
        "annotations": {"module.wasm.image/variant": "compat-smart"},
    }
    man_bytes = json.dumps(manifest).encode()
    index: dict[str, Any] = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": _blob(path, man_bytes),
                       "size": len(man_bytes),
                       "annotations": annotations or {"org.opencontainers.image.ref.name": "latest"}}],
    }
    if index_mutator is not None:
        replaced = index_mutator(index)
        index = replaced if replaced is not None else index
    _write(path / "oci-layout", '{"imageLayoutVersion": "1.0.0"}')
    _write(path / "index.json", json.dumps(index) if not isinstance(index, str) else index)


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(index: dict[str, Any]) -> None:
        index["manifests"][0][key] = value
    return mutate


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    def mutate(index: dict[str, Any]) -> None:
        del index["manifests"][0][key]
    return mutate


def _layouts(g: Path) -> None:
    o = g / "oci"
    _layout(o / "good")
    _layout(o / "digest-traversal", _set("digest", "sha256:../../../../../../etc/passwd"))
    _layout(o / "digest-traversal-64", _set("digest", "sha256:" + "../" * 21 + "x"))
    _layout(o / "digest-uppercase", _set("digest", "sha256:" + "A" * 64))
    _layout(o / "digest-short", _set("digest", "sha256:abc"))
    _layout(o / "digest-sha1", _set("digest", "sha1:" + "a" * 40))
    _layout(o / "digest-not-string", _set("digest", ["sha256:" + "a" * 64]))
    _layout(o / "digest-missing", _drop("digest"))
    _layout(o / "size-string", _set("size", "123"))
    _layout(o / "size-negative", _set("size", -1))
    _layout(o / "size-float", _set("size", 1.5e300))
    _layout(o / "index-list", lambda index: [index])
    _layout(o / "manifests-object", lambda index: {**index, "manifests": {"a": 1}})
    _layout(o / "manifest-entry-list", lambda index: {**index, "manifests": [[1, 2]]})
    _layout(o / "index-nan", lambda index: json.dumps(index).replace('"schemaVersion": 2', '"schemaVersion": NaN'))
    _layout(o / "index-deep", lambda index: '{"schemaVersion": 2, "manifests": ' + "[" * 100_000 + "]" * 100_000 + "}")
    _layout(o / "manifest-is-list", manifest_override=[1, 2, 3])
    _layout(o / "manifest-layers-object", manifest_override={
        "schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                       "digest": "sha256:" + "a" * 64, "size": 2}, "layers": {"a": 1}})
    _layout(o / "config-entrypoint-string", config={"architecture": "amd64", "os": "linux",
                                                    "config": {"Entrypoint": "/bin/sh"},
                                                    "rootfs": {"type": "layers", "diff_ids": []}})
    _layout(o / "config-is-list", config=[1, 2])
    _layout(o / "layer-gzip-bomb", layer=gzip.compress(b"\0" * (600 << 20), compresslevel=1))
    _layout(o / "layer-not-gzip", layer=b"this is not gzip at all")
    _layout(o / "ref-markup", annotations={"org.opencontainers.image.ref.name": "[/bold]\x1b[31mred\x1b]0;title\x07",
                                           "io.containerd.image.name": "[/]\x1b[2J"})
    # symbolic links: index.json to a host file, the blobs directory to elsewhere, a blob to a host file
    _layout(o / "index-symlink")
    (o / "index-symlink" / "index.json").unlink()
    os.symlink("/etc/hostname", o / "index-symlink" / "index.json")
    _layout(o / "blobs-symlink")
    shutil.move(o / "blobs-symlink" / "blobs", o / "elsewhere-blobs")
    os.symlink(o / "elsewhere-blobs", o / "blobs-symlink" / "blobs")
    _layout(o / "blob-symlink")
    index = json.loads((o / "blob-symlink" / "index.json").read_text())
    target = o / "blob-symlink" / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]
    target.unlink()
    os.symlink("/etc/passwd", target)
    (o / "big-index").mkdir()
    _write(o / "big-index" / "oci-layout", '{"imageLayoutVersion": "1.0.0"}')
    with (o / "big-index" / "index.json").open("wb") as fh:
        fh.truncate(BIG)
    # tars: a member escaping with ../, a compressed tar, 50 MB of noise
    with tarfile.open(o / "traversal.tar", "w") as t:
        for name, data in (("../../escape", b"x"), ("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for path in sorted((o / "good").rglob("*")):
            t.add(path, arcname=path.relative_to(o / "good").as_posix(), recursive=False)
    _write(o / "good.tar", buf.getvalue())
    _write(o / "compressed.tar", gzip.compress(buf.getvalue(), mtime=0))
    _write(o / "noise.tar", (hashlib.sha256(b"noise").digest() * (BIG // 32)))
    # a Spin application as `spin registry push` stores it: Spin's config media type, Wasm content layers
    _layout(o / "spin-app", layer=b"\0asm\x01\x00\x00\x00", config={"spin_lock_version": 1, "components": []},
            config_media_type="application/vnd.fermyon.spin.application.v1+config",
            layer_media_type="application/vnd.wasm.content.layer.v1+wasm",
            annotations={"org.opencontainers.image.ref.name": "v1"})
    # a layout whose layer blob was swapped for other bytes after the manifest was written
    _layout(o / "layer-digest-mismatch")
    index = json.loads((o / "layer-digest-mismatch" / "index.json").read_text())
    blobs = o / "layer-digest-mismatch" / "blobs" / "sha256"
    manifest = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_text())
    (blobs / manifest["layers"][0]["digest"][7:]).write_bytes(gzip.compress(b"other bytes", mtime=0))
    # a layout `image build -o` is asked to add to, holding a symlink to a host file
    _layout(o / "append-symlink")
    os.symlink("/etc/passwd", o / "append-symlink" / "blobs" / "sha256" / ("0" * 64))
    _layout(o / "append-bad-index", lambda index: {"schemaVersion": 2, "manifests": "nope"})


def build_generated(g: Path) -> None:
    """Write every generated input under ``g`` (an empty directory)."""
    _files(g)
    _layouts(g)


# --------------------------------------------------------------------------- per-case set-ups (writable)


def _outside_target(ws: Path) -> Path:
    target = ws / "outside" / "pod.yaml"
    _write(target, POD.format(name="outside"))
    return target


def fix_tree_with_link_out(ws: Path) -> None:
    """``tree/`` with a fixable Pod and a symbolic link to a Pod outside the tree."""
    target = _outside_target(ws)
    _write(ws / "tree" / "real.yaml", POD.format(name="real"))
    os.symlink(target, ws / "tree" / "link-out.yaml")
    os.symlink("real.yaml", ws / "tree" / "link-in.yaml")
    os.symlink("loop.yaml", ws / "tree" / "loop.yaml")
    os.mkfifo(ws / "tree" / "fifo.yaml")
    (ws / "tree" / "dir.yaml").mkdir()
    os.symlink(ws / "outside", ws / "tree" / "linked-dir")


def fix_given_link(ws: Path) -> None:
    """``given.yaml`` is a symbolic link to a Pod outside: named on the command line, read, never written."""
    target = _outside_target(ws)
    os.symlink(target, ws / "given.yaml")


def fix_parent_link(ws: Path) -> None:
    """``tree/sub`` is a symbolic link to a directory outside; the scan is given ``tree/sub/pod.yaml``."""
    _outside_target(ws)
    (ws / "tree").mkdir()
    os.symlink(ws / "outside", ws / "tree" / "sub")


def fix_alias_spec(ws: Path) -> None:
    """Two Pods in a List share their spec through an anchor: --fix must not edit the shared text."""
    _write(ws / "tree" / "shared.yaml", """apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: a
    annotations: {rtadvisor.io/isolation: strong}
  spec: &spec
    containers:
    - name: c
      image: nginx
- apiVersion: v1
  kind: Pod
  metadata:
    name: b
  spec: *spec
""")


def fix_stale_temp(ws: Path) -> None:
    """A temp file a SIGKILLed ``scan --fix`` left (dead pid): the next fix removes it, nothing else."""
    _write(ws / "tree" / "pod.yaml", POD.format(name="p"))
    _write(ws / "tree" / ".pod.yaml.999999999.deadbeef.rtadvisor-tmp", "half a manif")
    _write(ws / "tree" / ".other.yaml.999999999.deadbeef.rtadvisor-tmp", "not ours to touch: other file")


def escape_names(ws: Path) -> None:
    """File names with an escape sequence, a newline and rich markup."""
    _write(ws / "tree" / "\x1b[31mred.yaml", POD.format(name="red"))
    _write(ws / "tree" / "two\nlines.yaml", "not: [valid")
    _write(ws / "tree" / "[bold]x[/bold].yaml", POD.format(name="markup"))


def layout_copy_append_symlink(ws: Path, g: Path) -> None:
    shutil.copytree(g / "oci" / "append-symlink", ws / "out", symlinks=True)


def layout_copy_append_bad_index(ws: Path, g: Path) -> None:
    shutil.copytree(g / "oci" / "append-bad-index", ws / "out", symlinks=True)


def output_is_file(ws: Path) -> None:
    _write(ws / "out", "I am a file, not a directory\n")


def output_with_link_out(ws: Path) -> None:
    """A generated bundle's directory where one file is a symbolic link to a file outside: `generate
    --force` must not write through it (nor write any file)."""
    _write(ws / "out" / "runtimeclass.yaml", "# an earlier bundle\n")
    os.symlink(ws / "outside" / "sentinel.yaml", ws / "out" / "NOTES.md")


def output_with_file_for_dir(ws: Path) -> None:
    """`out/containerd` is a file where the bundle needs a directory: nothing may be written."""
    _write(ws / "out" / "containerd", "not a directory\n")


def output_is_symlink(ws: Path) -> None:
    """`out` is a symbolic link to a directory outside."""
    os.symlink(ws / "outside", ws / "out")


PREPARE: dict[str, Callable[..., None]] = {
    "fix-tree-with-link-out": fix_tree_with_link_out,
    "fix-given-link": fix_given_link,
    "fix-parent-link": fix_parent_link,
    "fix-alias-spec": fix_alias_spec,
    "fix-stale-temp": fix_stale_temp,
    "escape-names": escape_names,
    "layout-append-symlink": layout_copy_append_symlink,
    "layout-append-bad-index": layout_copy_append_bad_index,
    "output-is-file": output_is_file,
    "output-with-link-out": output_with_link_out,
    "output-with-file-for-dir": output_with_file_for_dir,
    "output-is-symlink": output_is_symlink,
}
