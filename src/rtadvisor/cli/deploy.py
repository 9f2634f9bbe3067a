"""CLI commands of the deploy area: ``generate``, ``image build|inspect`` and ``doctor``.

Option parsing and rendering only: every answer comes from :mod:`rtadvisor.app.deploy` and
:mod:`rtadvisor.app.image`, the functions ``POST /api/generate`` and ``GET /api/doctor`` call too.
Names, paths and messages printed here come from the user's files: they are printed as plain text
(never rich markup) with control characters made visible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .common import console, print_json

_STYLE = {"ok": "green", "info": "dim", "warn": "yellow", "fail": "red"}


def _printable(text: str) -> str:
    """Control characters (an ESC from a file name) shown escaped, never sent to the terminal."""
    from .common import strip_control

    return strip_control(text)


def _say(text: str) -> None:
    """Print a line that may hold markup or control characters from user input, as plain text."""
    from rich.text import Text

    console.print(Text(_printable(text)), highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    from .fleet import GenerateWithFleet

    @app.command(cls=GenerateWithFleet)
    def generate(
        output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write the artifacts to.")],
        decision: Annotated[str | None, typer.Argument(
            help="Decision JSON from `rtadvisor recommend PROFILE --json`: a file, or '-' for stdin; "
            "or the word fleet: the fleet agent's manifests (`rtadvisor generate fleet --help`).")] = None,
        runtime: Annotated[list[str] | None, typer.Option(
            "--runtime", "-r",
            help="Runtime id (runc, crun, gvisor, kata, vm, wasmedge, wasmtime, wasmer, spin); repeatable.")] = None,
        route: Annotated[str | None, typer.Option(
            "--route", help="Wasm route R1, R2 or R3 (default R2; Spin R3).")] = None,
        kata_hypervisor: Annotated[str, typer.Option(
            "--kata-hypervisor", help="Kata shim as kata-deploy names it: qemu, clh, fc, dragonball, "
            "qemu-runtime-rs (handler kata-<shim>).")] = "qemu",
        distro: Annotated[str | None, typer.Option(
            "--distro", help="containerd, k3s, rke2, microk8s or k0s (default: k3s when the decision says K3s, "
            "else containerd).")] = None,
        name: Annotated[str | None, typer.Option("--name", help="Workload name (a DNS label).")] = None,
        image: Annotated[str | None, typer.Option(
            "--image", help="Image reference for the sample Deployment (REGISTRY/NAME:TAG).")] = None,
        containerd_config: Annotated[Path | None, typer.Option(
            "--containerd-config", help="Existing config.toml (or K3s template) to merge the entries into.")] = None,
        containerd_version: Annotated[int | None, typer.Option(
            "--containerd-version", help="Config version (2 or 3) for a new file; an existing file decides.")] = None,
        manifest: Annotated[Path | None, typer.Option("--manifest", help="Your Pod/Deployment YAML to patch.")] = None,
        variant: Annotated[str, typer.Option(
            "--variant", help="module.wasm.image/variant: compat-smart or compat.")] = "compat-smart",
        wasi_socket: Annotated[bool | None, typer.Option(
            "--wasi-socket/--no-wasi-socket", help="Set WASMEDGE_WASI_SOCKET=true (default: for edge).")] = None,
        db: Annotated[str | None, typer.Option("--db", help="Result store with this node's measurements.")] = None,
        force: Annotated[bool, typer.Option("--force", help="Overwrite files in a non-empty output directory.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Write RuntimeClass, containerd entries, Pod patches and Dockerfiles for a decision."""
        from rtadvisor.app import deploy as use

        data = use.load_decision(decision) if decision is not None else None
        bundle = use.generate(data, runtimes=list(runtime or []) or None, route=route,
                              kata_hypervisor=kata_hypervisor, distro=distro, name=name, image=image,
                              containerd_config=containerd_config, containerd_version=containerd_version,
                              manifest=manifest, variant=variant, wasi_socket=wasi_socket, db=db,
                              decision_source=use.decision_label(decision) if decision is not None else "decision")
        use.write_bundle(bundle, output, force=force)
        summary = bundle.summary
        if as_json:
            print_json({"output": str(output), **summary})
            return
        _say(f"wrote {len(bundle.files)} files to {output}")
        for rel in sorted(f.path for f in bundle.files):
            _say(f"  {rel}")
        for h in summary["handlers"]:
            given = " (provided by the distribution)" if h["provided_by_distro"] else ""
            engine = f", runs {h['engine']}" if h["engine"] else ""
            _say(f"RuntimeClass {h['runtime_class']} -> handler {h['handler']} ({h['runtime_type']}{engine}){given}")
        for rc, source in summary["overhead_sources"].items():
            _say(f"overhead of {rc}: {source}")
        for f in summary["containerd"]["files"]:
            merged = f.get("merge")
            how = (f"merged into {merged['from']}: added {merged['added'] or 'none'}, updated {merged['updated'] or 'none'}"
                   if merged else "new")
            version = f"config version {f['version']}, " if f["version"] else ""
            _say(f"{f['file']} -> {f['action']} {f['install_to']} ({version}{how})")

    register_image(app)
    register_doctor(app)


def register_image(app: typer.Typer) -> None:
    """The ``image`` group: ``build`` and ``inspect``."""
    image_app = typer.Typer(help="Build and inspect Wasm OCI images without Docker.", no_args_is_help=True)

    @image_app.command("build")
    def image_build(
        output: Annotated[Path, typer.Option(
            "--output", "-o", help="OCI layout directory, or a file ending in .tar.")],
        module: Annotated[Path | None, typer.Argument(
            help="The Wasm module (app.wasm); not needed for --kind linux.")] = None,
        kind: Annotated[str, typer.Option(
            "--kind", help="compat, artifact, both (compat + artifact) or linux.")] = "both",
        name: Annotated[str, typer.Option("--name", help="Image name used in the ref.")] = "app",
        tag: Annotated[str, typer.Option(
            "--tag", help="Tag; with --kind both the artifact gets TAG-artifact.")] = "latest",
        variant: Annotated[str, typer.Option(
            "--variant", help="compat-smart or compat (compat image).")] = "compat-smart",
        add: Annotated[list[str] | None, typer.Option(
            "--add", help="linux: SRC:/dest file to add; repeatable.")] = None,
        busybox: Annotated[Path | None, typer.Option(
            "--busybox", help="linux: add this static busybox as /bin/busybox.")] = None,
        entrypoint: Annotated[str | None, typer.Option(
            "--entrypoint", help="linux: entrypoint as a JSON list.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print what was built as JSON.")] = False,
    ) -> None:
        """Build a compat image (crun, R2), a CNCF Wasm OCI artifact (runwasi, R3) or a plain Linux image."""
        from rtadvisor.app.image import build_image

        result = build_image(output, module=module, kind=kind, name=name, tag=tag, variant=variant,
                             add=list(add or []), busybox=busybox, entrypoint=entrypoint)
        if as_json:
            print_json(result)
            return
        for i in result["images"]:
            _say(f"built {i['kind']} image {i['ref']} ({i['platform']}, {i['size_bytes']} bytes) "
                 f"{i['manifest_digest'][:19]} -> {output}")

    @image_app.command("inspect")
    def image_inspect(
        path: Annotated[Path, typer.Argument(help="OCI layout directory or tar.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    ) -> None:
        """Say which kind of image a layout holds and which routes / runtime handlers can run it.

        Exit code: 0 the layout is valid, 1 it is not (digests, sizes, schemas, layers: listed under
        errors), 2 it cannot be read at all (bad input).
        """
        from rtadvisor.app.image import inspect_image

        report = inspect_image(path)
        if as_json:
            print_json(report)
        else:
            _print_inspection(report)
        if report["exit_code"]:
            raise SystemExit(report["exit_code"])  # SystemExit: see register_doctor

    app.add_typer(image_app, name="image")


def _print_inspection(report: dict[str, Any]) -> None:
    from rich.text import Text

    for img in report["images"]:
        console.print(Text.assemble((_printable(img["ref"] or img["digest"][:19]), "bold"),
                                    _printable(f": {img['kind']} ({img['platform']}, {img['size_bytes']} bytes)")),
                      highlight=False, soft_wrap=True)
        for e in img["evidence"]:
            _say(f"  because: {e}")
        _say(f"  routes: {', '.join(img['routes']) or 'none (not Wasm)'}")
        by_route: dict[str, list[str]] = {}
        for h in img["handlers"]:
            label = h["handler"] if h["handler"] == h["runtime_class"] else \
                f"{h['handler']} (RuntimeClass {h['runtime_class']})"
            by_route.setdefault(h["route"] or "container", []).append(label)
        for route, names in by_route.items():
            _say(f"  handlers {route}: {', '.join(names)}")
        if not by_route:
            _say("  handlers: none")
        for w in img["warnings"]:
            console.print(Text.assemble(("  note: ", "yellow"), _printable(w)), highlight=False, soft_wrap=True)
    if report["valid"]:
        _say("layout valid (OCI schemas, digests)")
    else:
        console.print(Text.assemble(("layout invalid", "red"), _printable(f": {'; '.join(report['errors'][:5])}")),
                      highlight=False, soft_wrap=True)


def register_doctor(app: typer.Typer) -> None:
    @app.command()
    def doctor(
        containerd_config: Annotated[Path | None, typer.Option(
            "--containerd-config", help="Check this containerd config instead of the live/on-disk one.")] = None,
        runtimeclasses: Annotated[list[Path] | None, typer.Option(
            "--runtimeclasses", help="RuntimeClass manifest(s) to check against containerd; repeatable.")] = None,
        symptom: Annotated[str | None, typer.Option(
            "--symptom", help="Explain a symptom, e.g. 'kubectl logs empty' or 'exec format error'.")] = None,
        dry_run: Annotated[bool, typer.Option(
            "--dry-run", help="Report what dead rtadvisor runs left (processes, cgroups, temp dirs); remove "
            "nothing.")] = False,
        no_cleanup: Annotated[bool, typer.Option(
            "--no-cleanup", help="Do not look for what dead rtadvisor runs left.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
    ) -> None:
        """Check the node's runtimes, shims, containerd config, RuntimeClasses, cgroups and KVM; remove what
        dead rtadvisor runs left.

        Killed rtadvisor runs (SIGKILL) leave processes, cgroups and temp dirs behind: they are removed by
        rtadvisor's own markers and each is named (--dry-run: reported only; --no-cleanup: not looked for).

        Exit code: 0 all ok, 1 warnings, 3 failures (2: bad input).
        """
        from rtadvisor.app import deploy as use

        classes = list(runtimeclasses or [])
        if symptom is not None:
            result = use.diagnose(symptom, containerd_config=containerd_config, runtimeclasses=classes)
            if as_json:
                print_json(result)
                return
            for d in result.diagnoses:
                _say(f"{d.symptom}  ({d.source}, match {d.score:.2f})")
                _say(f"  root cause: {d.root_cause}")
                _say("  checks:")
                for c in d.checks:
                    _say(f"    $ {c}")
                _say(f"  fix: {d.fix}")
                for f in d.on_this_node:
                    _say(f"  on this node: {f.status}: {f.title}")
            return
        if dry_run and no_cleanup:
            from rtadvisor.errors import InputError

            raise InputError("--dry-run, --no-cleanup: give one (--dry-run reports what dead runs left, "
                             "--no-cleanup does not look for it)")
        leftovers: use.Leftovers = "skip" if no_cleanup else "report" if dry_run else "remove"
        report = use.doctor(containerd_config=containerd_config, runtimeclasses=classes, leftovers=leftovers)
        if as_json:
            print_json(report)
        else:
            from rich.text import Text

            for f in report.findings:
                # Titles quote names and paths from the files read: plain text, never markup.
                console.print(Text.assemble((f"{f.status:>4}", _STYLE[f.status]), "  ", _printable(f.title)),
                              highlight=False, soft_wrap=True)
                if f.detail and f.status in ("warn", "fail"):
                    _say(f"        {f.detail}")
                if f.fix and f.status in ("warn", "fail"):
                    _say(f"        fix: {f.fix}")
            counts = report.counts
            _say(f"worst: {report.worst} ({counts['fail']} fail, {counts['warn']} warn, {counts['ok']} ok); "
                 f"containerd: {report.sources.get('containerd')}; "
                 f"RuntimeClasses: {report.sources.get('runtimeclasses')}; "
                 f"leftovers: {report.sources.get('leftovers')}")
        if report.exit_code:
            # SystemExit, not typer.Exit: click returns (rather than raises) Exit codes when
            # main() runs it with standalone_mode=False, which would turn every finding into 0.
            raise SystemExit(report.exit_code)
