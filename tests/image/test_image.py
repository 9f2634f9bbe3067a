"""Wasm OCI images: layout validity (our schemas + digests, and umoci/skopeo independently), inspection."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from rtadvisor.cli import main
from rtadvisor.errors import InputError
from rtadvisor.image import build as b
from rtadvisor.image.inspect import classify, inspect_layout
from rtadvisor.image.layout import validate_layout

# The smallest valid core module: magic + version 1, no sections.
EMPTY_MODULE = b"\0asm\x01\x00\x00\x00"


@pytest.fixture
def module(tmp_path: Path) -> Path:
    path = tmp_path / "app.wasm"
    path.write_bytes(EMPTY_MODULE)
    return path


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (scripts/debian-packages.txt lists it)")
    return path


def test_both_kinds_in_one_layout_validate_and_are_reproducible(tmp_path: Path, module: Path) -> None:
    out1, out2 = tmp_path / "a", tmp_path / "b"
    assert main(["image", "build", str(module), "-o", str(out1), "--json"]) == 0
    assert main(["image", "build", str(module), "-o", str(out2)]) == 0
    assert validate_layout(out1).ok
    assert (out1 / "index.json").read_bytes() == (out2 / "index.json").read_bytes()  # same digests
    index = json.loads((out1 / "index.json").read_text())
    refs = {m["annotations"]["io.containerd.image.name"]: m for m in index["manifests"]}
    assert set(refs) == {"app:latest", "app:latest-artifact"}
    tags = {m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]}
    assert tags == {"latest", "latest-artifact"}  # OCI convention: ref.name is the tag
    assert refs["app:latest"]["platform"] == {"architecture": "wasm", "os": "wasi"}
    compat = json.loads((out1 / "blobs" / "sha256" / refs["app:latest"]["digest"][7:]).read_text())
    assert compat["annotations"]["module.wasm.image/variant"] == "compat-smart"
    assert len(compat["layers"]) == 1
    artifact = json.loads((out1 / "blobs" / "sha256" / refs["app:latest-artifact"]["digest"][7:]).read_text())
    assert artifact["config"]["mediaType"] == "application/vnd.wasm.config.v0+json"
    assert [layer["mediaType"] for layer in artifact["layers"]] == ["application/wasm"]
    wasm_blob = (out1 / "blobs" / "sha256" / artifact["layers"][0]["digest"][7:]).read_bytes()
    assert wasm_blob == EMPTY_MODULE


def test_compat_layer_holds_the_module(tmp_path: Path, module: Path) -> None:
    out = tmp_path / "img.tar"
    assert main(["image", "build", str(module), "-o", str(out), "--kind", "compat", "--variant", "compat"]) == 0
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
    assert {"oci-layout", "index.json"} <= names
    report = inspect_layout(out)
    assert report["valid"], report["errors"]
    (img,) = report["images"]
    assert img["kind"] == "wasm-compat" and img["annotations"]["module.wasm.image/variant"] == "compat"


def test_skopeo_and_umoci_accept_our_layouts(tmp_path: Path, module: Path) -> None:
    skopeo, umoci = _tool("skopeo"), _tool("umoci")
    wasm = tmp_path / "wasm"
    assert main(["image", "build", str(module), "-o", str(wasm)]) == 0
    raw = subprocess.run([skopeo, "inspect", "--raw", f"oci:{wasm}:latest-artifact"], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    assert json.loads(raw)["config"]["mediaType"] == "application/vnd.wasm.config.v0+json"
    info = json.loads(subprocess.run([skopeo, "inspect", f"oci:{wasm}:latest"], check=True,
                                     capture_output=True, text=True, timeout=60).stdout)
    assert (info["Os"], info["Architecture"]) == ("wasi", "wasm")
    linux = tmp_path / "linux"
    busybox = _tool("busybox")
    assert main(["image", "build", "-o", str(linux), "--kind", "linux", "--busybox", busybox,
                 "--entrypoint", '["/bin/echo", "hi"]']) == 0
    subprocess.run([umoci, "stat", "--image", f"{linux}:latest"], check=True, capture_output=True, timeout=60)
    bundle = tmp_path / "bundle"
    subprocess.run([umoci, "unpack", "--rootless", "--image", f"{linux}:latest", str(bundle)], check=True,
                   capture_output=True, timeout=120)
    assert (bundle / "rootfs" / "bin" / "busybox").read_bytes()[:4] == b"\x7fELF"
    assert (bundle / "rootfs" / "bin" / "echo").is_symlink()
    spec = json.loads((bundle / "config.json").read_text())
    assert spec["process"]["args"] == ["/bin/echo", "hi"]


def test_validation_catches_a_corrupted_blob(tmp_path: Path, module: Path) -> None:
    out = tmp_path / "lay"
    assert main(["image", "build", str(module), "-o", str(out), "--kind", "artifact"]) == 0
    index = json.loads((out / "index.json").read_text())
    manifest = json.loads((out / "blobs/sha256" / index["manifests"][0]["digest"][7:]).read_text())
    layer = out / "blobs/sha256" / manifest["layers"][0]["digest"][7:]
    layer.write_bytes(b"\0asm\x01\x00\x00\x00 tampered")
    check = validate_layout(out)
    assert not check.ok
    assert any("does not match its digest" in e for e in check.errors)
    # and a schema violation is caught too
    index["schemaVersion"] = 3
    (out / "index.json").write_text(json.dumps(index))
    assert any("schemaVersion" in e for e in validate_layout(out).errors)


def test_refuses_non_wasm_input(tmp_path: Path) -> None:
    bad = tmp_path / "app.wasm"
    bad.write_bytes(b"#!/bin/sh\necho hi\n")
    with pytest.raises(InputError, match="not a WebAssembly binary"):
        b.check_module(bad.read_bytes(), str(bad))
    assert main(["image", "build", str(bad), "-o", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()  # nothing half-written


def _config(os_: str, arch: str, entry: list[str]) -> dict:
    return {"architecture": arch, "os": os_, "config": {"Entrypoint": entry}, "rootfs": {"type": "layers", "diff_ids": []}}


@pytest.mark.parametrize("manifest,config,mt,kind,routes", [
    ({"layers": [{"mediaType": "application/wasm", "size": 8}]}, {"architecture": "wasm", "os": "wasip1"},
     "application/vnd.wasm.config.v0+json", "wasm-artifact", ("R3",)),
    ({"layers": [], "annotations": {"module.wasm.image/variant": "compat-smart"}}, _config("wasi", "wasm", ["/app.wasm"]),
     b.MT_CONFIG, "wasm-compat", ("R2", "R3")),
    ({"layers": []}, _config("wasi", "wasm", ["/app.wasm"]), b.MT_CONFIG, "wasm-platform", ("R3", "R2")),
    ({"layers": []}, _config("linux", "amd64", ["/app/hello.wasm"]), b.MT_CONFIG, "linux-wasm-entrypoint", ("R2", "R3")),
    ({"layers": []}, _config("linux", "amd64", ["/entrypoint.sh", "wasmedge", "/app/app.wasm"]), b.MT_CONFIG, "linux",
     ("R1",)),
    ({"layers": []}, _config("linux", "amd64", ["/bin/sh"]), b.MT_CONFIG, "linux", ()),
])
def test_classification(manifest: dict, config: dict, mt: str, kind: str, routes: tuple) -> None:
    report = classify(manifest, config, mt, "x:y", "sha256:00")
    assert report.kind == kind
    assert report.routes == routes
    if kind == "linux-wasm-entrypoint":
        assert any("exec format error" in w for w in report.warnings)


def test_inspect_cli_json(tmp_path: Path, module: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lay"
    assert main(["image", "build", str(module), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["image", "inspect", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True
    assert sorted(i["kind"] for i in report["images"]) == ["wasm-artifact", "wasm-compat"]
    assert main(["image", "inspect", str(tmp_path / "missing")]) == 2


def test_linux_image_with_added_files_and_layout_append(tmp_path: Path, module: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    out = tmp_path / "lay"
    assert main(["image", "build", "-o", str(out), "--kind", "linux", "--add", f"{script}:/app/run.sh",
                 "--add", f"{module}:/app/app.wasm", "--entrypoint", '["/app/app.wasm"]', "--tag", "v1"]) == 0
    # a second build into the same layout adds an image instead of replacing the layout
    assert main(["image", "build", str(module), "-o", str(out), "--kind", "compat", "--tag", "v2"]) == 0
    report = inspect_layout(out)
    assert report["valid"], report["errors"]
    kinds = {i["ref"]: i["kind"] for i in report["images"]}
    assert kinds == {"app:v1": "linux-wasm-entrypoint", "app:v2": "wasm-compat"}
    assert main(["image", "build", "-o", str(out), "--kind", "linux", "--add", "nocolon"]) == 2
    assert main(["image", "build", "-o", str(out), "--kind", "linux", "--add", f"{script}:/x",
                 "--entrypoint", "not json"]) == 2


def test_inspect_refuses_a_tar_that_is_not_a_layout(tmp_path: Path) -> None:
    bogus = tmp_path / "docker-save.tar"
    with tarfile.open(bogus, "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        data = b"[]"
        info.size = len(data)
        import io

        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(InputError, match="not an OCI image layout"):
        inspect_layout(bogus)
    assert main(["image", "inspect", str(bogus)]) == 2


# --------------------------------------------------------------------------- untrusted layouts and inputs
# (tests/hostile runs crafted layouts through the real CLI)


@pytest.mark.parametrize("digest", ["sha256:../../etc/passwd", "sha256:" + "A" * 64, "sha256:abc", "sha1:" + "a" * 40,
                                    "sha256:" + "a" * 63 + "/", ["sha256:" + "a" * 64], None, "sha256" + "a" * 64])
def test_digest_must_be_registered_hex_before_it_becomes_a_path(digest: object) -> None:
    from rtadvisor.image.layout import parse_digest

    with pytest.raises(InputError, match="is not sha256:<64 lowercase hex>"):
        parse_digest(digest, "here")


def test_parse_digest_accepts_sha256_and_sha512() -> None:
    from rtadvisor.image.layout import parse_digest

    assert parse_digest("sha256:" + "0" * 64, "x") == ("sha256", "0" * 64)
    assert parse_digest("sha512:" + "f" * 128, "x") == ("sha512", "f" * 128)


def _rewrite_index(out: Path, mutate) -> None:
    index = json.loads((out / "index.json").read_text())
    mutate(index)
    (out / "index.json").write_text(json.dumps(index))


def test_inspect_validates_before_use(tmp_path: Path, module: Path) -> None:
    out = tmp_path / "lay"
    assert main(["image", "build", str(module), "-o", str(out), "--kind", "compat"]) == 0
    _rewrite_index(out, lambda i: i["manifests"][0].__setitem__("digest", "sha256:../../../../etc/passwd"))
    with pytest.raises(InputError, match=r"index.json: manifests/0/digest: .* does not match the pattern"):
        inspect_layout(out)
    _rewrite_index(out, lambda i: i.__setitem__("manifests", {"a": 1}))
    with pytest.raises(InputError, match="manifests: expected array, got an object"):
        inspect_layout(out)
    (out / "index.json").write_text('{"schemaVersion": NaN, "manifests": []}')
    with pytest.raises(InputError, match="NaN is not a JSON number"):
        inspect_layout(out)


def test_layout_symlinks_are_not_followed(tmp_path: Path, module: Path) -> None:
    out = tmp_path / "lay"
    assert main(["image", "build", str(module), "-o", str(out), "--kind", "artifact"]) == 0
    index = json.loads((out / "index.json").read_text())
    blob = out / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]
    blob.unlink()
    blob.symlink_to("/etc/passwd")
    with pytest.raises(InputError, match="is a symbolic link; not followed"):
        inspect_layout(out)
    assert any("symbolic link" in e for e in validate_layout(out).errors)


def test_gzip_bomb_layer_is_stopped_at_the_limit(tmp_path: Path, module: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip
    import hashlib

    out = tmp_path / "lay"
    assert main(["image", "build", str(module), "-o", str(out), "--kind", "compat"]) == 0
    index = json.loads((out / "index.json").read_text())
    mpath = out / "blobs/sha256" / index["manifests"][0]["digest"][7:]
    manifest = json.loads(mpath.read_text())
    bomb = gzip.compress(b"\0" * (8 << 20), compresslevel=9)
    digest = hashlib.sha256(bomb).hexdigest()
    (out / "blobs/sha256" / digest).write_bytes(bomb)
    manifest["layers"][0].update(digest=f"sha256:{digest}", size=len(bomb))
    data = json.dumps(manifest).encode()
    mdigest = hashlib.sha256(data).hexdigest()
    (out / "blobs/sha256" / mdigest).write_bytes(data)
    _rewrite_index(out, lambda i: i["manifests"][0].update(digest=f"sha256:{mdigest}", size=len(data)))
    monkeypatch.setenv("RTADVISOR_MAX_LAYER_BYTES", "1MiB")
    check = validate_layout(out)
    assert any("decompresses to more than 1 MiB" in e for e in check.errors), check.errors


def test_tar_members_are_normalised_and_dotdot_ignored(tmp_path: Path, module: Path) -> None:
    import io

    from rtadvisor.image.layout import LayoutSource

    lay = tmp_path / "lay"
    assert main(["image", "build", str(module), "-o", str(lay), "--kind", "compat"]) == 0
    tar_path = tmp_path / "x.tar"
    with tarfile.open(tar_path, "w") as tar:
        for path in sorted(lay.rglob("*")):
            if path.is_file():
                tar.add(path, arcname="./" + path.relative_to(lay).as_posix())
        info = tarfile.TarInfo("../../escape")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with LayoutSource(tar_path) as src:
        assert src.exists("index.json") and not src.exists("../../escape") and not src.exists("escape")
    assert inspect_layout(tar_path)["valid"]


@pytest.mark.parametrize("spec, fragment", [
    ("f:/../../etc/x", "without . or .."), ("f:/a/./b", "without . or .."), ("f:rel", "absolute path"),
    ("f:/", "absolute path"), ("f:/a\x1bb", "absolute path"), ("nocolon", "expected SRC:/absolute/dest"),
    ("/dev/zero:/x", "a character device"),
])
def test_add_targets_and_sources(tmp_path: Path, spec: str, fragment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("hi\n")
    with pytest.raises(InputError, match=fragment.replace(".", r"\.")):
        b.added_files([spec])


def test_add_refuses_duplicates_and_file_directory_clash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("hi\n")
    with pytest.raises(InputError, match="given twice"):
        b.added_files(["f:/x", "f://x"])
    with pytest.raises(InputError, match="is a file and also the directory"):
        b.added_files(["f:/x", "f:/x/y"])
    assert [f.path for f in b.added_files(["f:/app//run.sh"])] == ["/app/run.sh"]


@pytest.mark.parametrize("name, tag, ok", [
    ("app", "latest", True), ("registry.example.com:5000/team/app", "v1.2", True), ("localhost/x", "t", True),
    ("../x", "t", False), ("App", "t", False), ("[/bold]", "t", False), ("a\x1b", "t", False),
    ("app", "-x", False), ("app", "a" * 129, False), ("app", "v1\n", False),
])
def test_image_reference_grammar(name: str, tag: str, ok: bool) -> None:
    if ok:
        assert b.check_ref(name, tag) == f"{name}:{tag}"
    else:
        with pytest.raises(InputError, match=r"--name|--tag"):
            b.check_ref(name, tag)


def test_append_refuses_a_layout_with_a_symlink(tmp_path: Path, module: Path) -> None:
    out = tmp_path / "lay"
    assert main(["image", "build", str(module), "-o", str(out), "--kind", "compat"]) == 0
    (out / "blobs" / "sha256" / ("0" * 64)).symlink_to("/etc/passwd")
    before = sorted(p.name for p in (out / "blobs" / "sha256").iterdir())
    assert main(["image", "build", str(module), "-o", str(out), "--kind", "artifact"]) == 2
    assert sorted(p.name for p in (out / "blobs" / "sha256").iterdir()) == before


def _handlers(report: object) -> dict[str | None, list[str]]:
    out: dict[str | None, list[str]] = {}
    for h in report.handlers:  # type: ignore[attr-defined]
        out.setdefault(h.route, []).append(h.handler)
    return out


def test_handlers_per_route_are_the_ones_generate_writes() -> None:
    """R2 is crun built with the engine, R3 the engine's runwasi shim (wasmer too), a Linux image runc,
    crun, runsc and kata-qemu: the names k8s/handlers.py gives RuntimeClass.handler."""
    from rtadvisor.k8s.handlers import handlers_for

    compat = classify({"layers": [], "annotations": {"module.wasm.image/variant": "compat"}},
                      _config("wasi", "wasm", ["/app.wasm"]), b.MT_CONFIG, None, "sha256:00")
    assert _handlers(compat) == {"R2": ["crun-wasmedge", "crun-wasmtime", "crun-wasmer"],
                                 "R3": ["wasmedge", "wasmtime", "wasmer"]}
    for h in compat.handlers:
        (expected,) = handlers_for(h.engine or "", h.route)
        assert (h.handler, h.runtime_class, h.runtime_type) == (expected.name, expected.runtime_class,
                                                              expected.runtime_type)
    artifact = classify({"layers": [{"mediaType": "application/wasm", "size": 8}]},
                        {"architecture": "wasm", "os": "wasip1"}, b.MT_WASM_CONFIG, None, "sha256:00")
    assert _handlers(artifact) == {"R3": ["wasmedge", "wasmtime", "wasmer"]}
    linux = classify({"layers": []}, _config("linux", "amd64", ["/bin/sh"]), b.MT_CONFIG, None, "sha256:00")
    assert _handlers(linux) == {None: ["runc", "crun", "runsc", "kata-qemu"]}
    r1 = classify({"layers": []}, _config("linux", "amd64", ["/usr/bin/wasmtime", "/app.wasm"]), b.MT_CONFIG,
                  None, "sha256:00")
    assert _handlers(r1) == {"R1": ["runc", "crun", "runsc", "kata-qemu"]}
    kata = next(h for h in linux.handlers if h.handler == "kata-qemu")
    assert kata.runtime_class == "kata" and kata.runtime_type == "io.containerd.kata-qemu.v2"


def test_a_spin_app_runs_on_spinkubes_shim_only() -> None:
    from rtadvisor.image.inspect import MT_SPIN_CONFIG

    spin = classify({"layers": [{"mediaType": "application/vnd.wasm.content.layer.v1+wasm", "size": 8}]},
                    {}, MT_SPIN_CONFIG, "ghcr.io/x/app:v1", "sha256:00")
    assert spin.kind == "spin-app" and spin.routes == ("R3",)
    (h,) = spin.handlers
    assert (h.route, h.handler, h.runtime_class, h.runtime_type) == \
        ("R3", "spin", "wasmtime-spin-v2", "io.containerd.spin.v2")


def test_inspect_exit_codes(tmp_path: Path, module: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """0 valid; 1 read but invalid (the errors listed); 2 cannot be read at all."""
    out = tmp_path / "lay"
    assert main(["image", "build", str(module), "-o", str(out), "--kind", "compat"]) == 0
    capsys.readouterr()
    assert main(["image", "inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "handlers R2: crun-wasmedge, crun-wasmtime, crun-wasmer" in text
    assert "handlers R3: wasmedge, wasmtime, wasmer" in text and "layout valid" in text
    index = json.loads((out / "index.json").read_text())
    manifest = json.loads((out / "blobs/sha256" / index["manifests"][0]["digest"][7:]).read_text())
    layer = out / "blobs/sha256" / manifest["layers"][0]["digest"][7:]
    data = layer.read_bytes()
    layer.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, another digest
    assert main(["image", "inspect", str(out), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False and report["exit_code"] == 1
    assert any("layers[0]" in e for e in report["errors"]), report["errors"]
    assert main(["image", "inspect", str(out)]) == 1
    assert "layout invalid" in capsys.readouterr().out
    (out / "index.json").write_text("[]")
    assert main(["image", "inspect", str(out)]) == 2
