"""CLI commands of the deploy area: ``generate``, ``image build|inspect`` and ``doctor``."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rtadvisor.errors import InputError

from .common import console, print_json

if TYPE_CHECKING:
    from rtadvisor.k8s.runtimeclass import Overhead

def _read_text(path: Path, what: str, limit_name: str = "max_bytes") -> str:
    """A user's file, bounded (rtadvisor.safeio: regular files only, size limit, UTF-8)."""
    from rtadvisor import safeio

    return safeio.read_text(path, what=what, limit_name=limit_name)


def pod_overheads(runtimes: list[str], db: str | None, kata_shim: str = "qemu") -> dict[str, Overhead]:
    """Per-pod overhead of sandbox/VM runtimes: this node's measurement of that very runtime, else the
    installer's default (kata-deploy), else the kb claim."""
    from rtadvisor import kb
    from rtadvisor.k8s.overhead import OVERHEAD_RUNTIMES
    from rtadvisor.k8s.overhead import pod_overheads as overheads_for
    from rtadvisor.store import try_load_evidence

    if not any(r in OVERHEAD_RUNTIMES for r in runtimes):
        return {}  # nothing to look up: do not open the store
    return overheads_for(runtimes, try_load_evidence(db), kb.load().claims, kata_shim=kata_shim)


def _write_bundle(files: dict[str, str], out: Path, force: bool) -> None:
    """Write all files or none: stage in a temp dir beside ``out``, then move into place."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--output {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"--output {out}: directory is not empty (use --force to overwrite generated files)")
    for rel in files:
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise InputError(f"generate: refusing to write {rel!r} outside --output")
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".rtadvisor-generate-", dir=out.parent))
    try:
        for rel, text in files.items():
            path = stage / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            if rel.endswith(".sh"):
                path.chmod(0o755)
        out.mkdir(exist_ok=True)
        for rel in files:
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    from .fleet import GenerateWithFleet

    @app.command(cls=GenerateWithFleet)
    def generate(
        decision: str | None = typer.Argument(
            None, help="Decision JSON from `rtadvisor recommend PROFILE --json`: a file, or '-' for stdin; "
            "or the word fleet: the fleet agent's manifests (`rtadvisor generate fleet --help`)."),
        runtime: list[str] | None = typer.Option(
            None, "--runtime", "-r",
            help="Runtime id (runc, crun, gvisor, kata, vm, wasmedge, wasmtime, wasmer, spin); repeatable."),
        route: str | None = typer.Option(None, "--route", help="Wasm route R1, R2 or R3 (default R2; Spin R3)."),
        kata_hypervisor: str = typer.Option(
            "qemu", "--kata-hypervisor", help="Kata shim as kata-deploy names it: qemu, clh, fc, dragonball, "
            "qemu-runtime-rs (handler kata-<shim>)."),
        distro: str | None = typer.Option(
            None, "--distro", help="containerd, k3s, rke2, microk8s or k0s (default: k3s when the decision says K3s, "
            "else containerd)."),
        output: Path = typer.Option(..., "--output", "-o", help="Directory to write the artifacts to."),
        name: str | None = typer.Option(None, "--name", help="Workload name (a DNS label)."),
        image: str | None = typer.Option(None, "--image", help="Image reference for the sample Deployment."),
        containerd_config: Path | None = typer.Option(
            None, "--containerd-config", help="Existing config.toml (or K3s template) to merge the entries into."),
        containerd_version: int | None = typer.Option(
            None, "--containerd-version", help="Config version (2 or 3) for a new file; an existing file decides."),
        manifest: Path | None = typer.Option(None, "--manifest", help="Your Pod/Deployment YAML to patch."),
        variant: str = typer.Option("compat-smart", "--variant", help="module.wasm.image/variant: compat-smart or compat."),
        wasi_socket: bool | None = typer.Option(
            None, "--wasi-socket/--no-wasi-socket", help="Set WASMEDGE_WASI_SOCKET=true (default: for edge)."),
        db: str | None = typer.Option(None, "--db", help="Result store with this node's measurements."),
        force: bool = typer.Option(False, "--force", help="Overwrite files in a non-empty output directory."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Write RuntimeClass, containerd entries, Pod patches and Dockerfiles for a decision."""
        from rtadvisor.k8s.bundle import GenerateRequest, build_bundle, request_from_decision

        if containerd_version is not None and containerd_version not in (2, 3):
            raise InputError(f"--containerd-version: expected 2 or 3, got {containerd_version}")
        overrides: dict[str, Any] = {
            "distro": distro, "name": name, "image": image, "containerd_version": containerd_version,
            "variant": variant, "wasi_socket": wasi_socket, "kata_hypervisor": kata_hypervisor,
        }
        from rtadvisor import safeio

        if containerd_config is not None:
            overrides["existing_config"] = _read_text(containerd_config, "--containerd-config", "max_config_bytes")
            overrides["existing_config_name"] = str(containerd_config)
        if manifest is not None:
            overrides["manifest"] = _read_text(manifest, "--manifest")
            # ruamel.yaml (round trip, pure Python) edits it: bounded nodes, depth and aliases first
            safeio.check_yaml(overrides["manifest"], where=f"--manifest {safeio.show(str(manifest))}", for_edit=True)
            overrides["manifest_name"] = str(manifest)
        if decision is not None:
            where = "decision on stdin" if decision == "-" else f"decision {safeio.show(decision)}"
            raw = safeio.read_stdin(what=where) if decision == "-" else _read_text(Path(decision), "decision")
            data = safeio.load_json(raw, where=where)
            if runtime:
                overrides["runtimes"] = tuple(runtime)
            if route:
                overrides["route"] = route
            req = request_from_decision(data, **overrides)
        else:
            if not runtime:
                raise InputError("generate: give a decision ('-' for stdin) or --runtime ID")
            req = GenerateRequest(runtimes=tuple(runtime), route=route,
                                  **{k: v for k, v in overrides.items() if v is not None})
        overheads = pod_overheads(list(req.runtimes), db, req.kata_hypervisor)
        from dataclasses import replace

        bundle = build_bundle(replace(req, overheads=overheads))
        _write_bundle(bundle.files, output, force)
        if as_json:
            print_json({"output": str(output), **bundle.summary})
            return
        # Paths, names and sources come from the user's files: printed as plain text, never as markup.
        say = _plain_printer()
        say(f"wrote {len(bundle.files)} files to {output}")
        for rel in sorted(bundle.files):
            say(f"  {rel}")
        for h in bundle.summary["handlers"]:
            given = " (provided by the distribution)" if h["provided_by_distro"] else ""
            engine = f", runs {h['engine']}" if h["engine"] else ""
            say(f"RuntimeClass {h['runtime_class']} -> handler {h['handler']} ({h['runtime_type']}{engine}){given}")
        for rc, source in bundle.summary["overhead_sources"].items():
            say(f"overhead of {rc}: {source}")
        for f in bundle.summary["containerd"]["files"]:
            merged = f.get("merge")
            how = (f"merged into {merged['from']}: added {merged['added'] or 'none'}, updated {merged['updated'] or 'none'}"
                   if merged else "new")
            version = f"config version {f['version']}, " if f["version"] else ""
            say(f"{f['file']} -> {f['action']} {f['install_to']} ({version}{how})")

    register_image(app)
    register_doctor(app)


def _printable(text: str) -> str:
    """Control characters (an ESC from a file name) shown escaped, never sent to the terminal."""
    return "".join(c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in text)


def _plain_printer() -> Any:
    """``print`` for text that may hold markup or control characters from user input."""
    from rich.text import Text

    def say(text: str) -> None:
        console.print(Text(_printable(text)), highlight=False, soft_wrap=True)

    return say


def register_image(app: typer.Typer) -> None:
    """The ``image`` group: ``build`` and ``inspect``."""
    image_app = typer.Typer(help="Build and inspect Wasm OCI images without Docker.", no_args_is_help=True)

    @image_app.command("build")
    def image_build(
        module: Path | None = typer.Argument(None, help="The Wasm module (app.wasm); not needed for --kind linux."),
        output: Path = typer.Option(..., "--output", "-o", help="OCI layout directory, or a file ending in .tar."),
        kind: str = typer.Option("both", "--kind", help="compat, artifact, both (compat + artifact) or linux."),
        name: str = typer.Option("app", "--name", help="Image name used in the ref."),
        tag: str = typer.Option("latest", "--tag", help="Tag; with --kind both the artifact gets TAG-artifact."),
        variant: str = typer.Option("compat-smart", "--variant", help="compat-smart or compat (compat image)."),
        add: list[str] | None = typer.Option(None, "--add", help="linux: SRC:/dest file to add; repeatable."),
        busybox: Path | None = typer.Option(None, "--busybox", help="linux: add this static busybox as /bin/busybox."),
        entrypoint: str | None = typer.Option(None, "--entrypoint", help="linux: entrypoint as a JSON list."),
        as_json: bool = typer.Option(False, "--json", help="Print what was built as JSON."),
    ) -> None:
        """Build a compat image (crun, R2), a CNCF Wasm OCI artifact (runwasi, R3) or a plain Linux image."""
        from rtadvisor.image import build as b

        if kind not in ("compat", "artifact", "both", "linux"):
            raise InputError(f"--kind: expected compat, artifact, both or linux, got {kind!r}")
        ref = b.check_ref(name, tag)
        if kind == "linux":
            files: list[b.LayerFile] = []
            if busybox is not None:
                files += b.busybox_files(busybox)
            files += b.added_files(list(add or []))
            if not files:
                raise InputError("--kind linux: give --busybox PATH and/or --add SRC:/dest")
            if not entrypoint:
                raise InputError("--entrypoint: a linux image needs an entrypoint (a JSON list of strings)")
            argv = b.parse_entrypoint(entrypoint)

            def build(w: b.LayoutWriter) -> list[b.BuiltImage]:
                return [b.add_linux(w, files, argv, ref)]
        else:
            if module is None:
                raise InputError("image build: give the Wasm module (MODULE argument)")
            data = b.read_module(module)

            def build(w: b.LayoutWriter) -> list[b.BuiltImage]:
                out = []
                if kind in ("compat", "both"):
                    out.append(b.add_compat(w, data, ref, variant, module.name))
                if kind in ("artifact", "both"):
                    out.append(b.add_artifact(w, data, f"{ref}-artifact" if kind == "both" else ref, module.name))
                return out

        images = b.write_output(output, build)
        from rtadvisor.image.layout import validate_layout

        check = validate_layout(output)
        if not check.ok:  # our own writer produced something invalid: a bug, say so loudly
            from rtadvisor.errors import ArtifactError

            raise ArtifactError(f"{output}: built layout is invalid: {check.errors[0]}")
        result: dict[str, Any] = {"output": str(output), "images": [
            {"ref": i.ref, "kind": i.kind, "manifest_digest": i.manifest_digest,
             "platform": f"{i.config.get('os')}/{i.config.get('architecture')}",
             "size_bytes": sum(d["size"] for d in i.manifest["layers"]) + i.manifest["config"]["size"]}
            for i in images]}
        if as_json:
            print_json(result)
            return
        for i in result["images"]:
            console.print(f"built {i['kind']} image [cyan]{i['ref']}[/cyan] ({i['platform']}, "
                          f"{i['size_bytes']} bytes) {i['manifest_digest'][:19]} -> {output}")

    @image_app.command("inspect")
    def image_inspect(
        path: Path = typer.Argument(..., help="OCI layout directory or tar."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Say which kind of image a layout holds and which route / runtime handler can run it."""
        from rtadvisor.image.inspect import inspect_layout

        report = inspect_layout(path)
        if as_json:
            print_json(report)
            return
        for img in report["images"]:
            console.print(f"[bold]{img['ref'] or img['digest'][:19]}[/bold]: {img['kind']} ({img['platform']}, "
                          f"{img['size_bytes']} bytes)")
            for e in img["evidence"]:
                console.print(f"  because: {e}")
            routes = ", ".join(img["routes"]) or "none (not Wasm)"
            console.print(f"  routes: {routes}; handlers: {', '.join(img['handlers']) or 'none'}")
            for w in img["warnings"]:
                console.print(f"  [yellow]note:[/yellow] {w}")
        console.print("layout valid (OCI schemas, digests)" if report["valid"]
                      else f"[red]layout invalid[/red]: {'; '.join(report['errors'][:5])}")

    app.add_typer(image_app, name="image")


_STYLE = {"ok": "green", "info": "dim", "warn": "yellow", "fail": "red"}


def register_doctor(app: typer.Typer) -> None:
    @app.command()
    def doctor(
        containerd_config: Path | None = typer.Option(
            None, "--containerd-config", help="Check this containerd config instead of the live/on-disk one."),
        runtimeclasses: list[Path] | None = typer.Option(
            None, "--runtimeclasses", help="RuntimeClass manifest(s) to check against containerd; repeatable."),
        symptom: str | None = typer.Option(
            None, "--symptom", help="Explain a symptom, e.g. 'kubectl logs empty' or 'exec format error'."),
        as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
    ) -> None:
        """Check the node's runtimes, shims, containerd config, RuntimeClasses, cgroups and KVM.

        Exit code: 0 all ok, 1 warnings, 3 failures (2: bad input).
        """
        if symptom is not None:
            from rtadvisor.doctor import run_doctor
            from rtadvisor.doctor.symptoms import diagnose, related

            diagnoses = diagnose(symptom)
            # Run the node checks too: a matching warn/fail finding here is the likely cause.
            node = run_doctor(containerd_config=containerd_config, runtimeclasses=list(runtimeclasses or [])).findings
            if as_json:
                print_json({"symptom": symptom, "diagnoses": [
                    {**d.to_json(), "on_this_node": [f.to_json() for f in related(d.id, node)]} for d in diagnoses]})
                return
            for d in diagnoses:
                console.print(f"[bold]{d.symptom}[/bold]  ({d.source}, match {d.score:.2f})")
                console.print(f"  root cause: {d.root_cause}")
                console.print("  checks:")
                for c in d.checks:
                    console.print(f"    $ {c}", markup=False, highlight=False)
                console.print(f"  fix: {d.fix}", markup=False, highlight=False)
                for f in related(d.id, node):
                    console.print(f"  on this node: {f.status}: {f.title}", markup=False, highlight=False)
            return
        from rtadvisor.doctor import run_doctor

        report = run_doctor(containerd_config=containerd_config, runtimeclasses=list(runtimeclasses or []))
        if as_json:
            print_json(report.to_json())
        else:
            from rich.text import Text

            say = _plain_printer()
            for f in report.findings:
                # Titles quote names and paths from the files read: plain text, never markup.
                console.print(Text.assemble((f"{f.status:>4}", _STYLE[f.status]), "  ", _printable(f.title)),
                              highlight=False, soft_wrap=True)
                if f.detail and f.status in ("warn", "fail"):
                    say(f"        {f.detail}")
                if f.fix and f.status in ("warn", "fail"):
                    say(f"        fix: {f.fix}")
            counts = report.to_json()["counts"]
            say(f"worst: {report.worst} ({counts['fail']} fail, {counts['warn']} warn, {counts['ok']} ok); "
                f"containerd: {report.sources.get('containerd')}; "
                f"RuntimeClasses: {report.sources.get('runtimeclasses')}")
        if report.exit_code:
            # SystemExit, not typer.Exit: click returns (rather than raises) Exit codes when
            # main() runs it with standalone_mode=False, which would turn every finding into 0.
            raise SystemExit(report.exit_code)
