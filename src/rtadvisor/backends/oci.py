"""OCI runtime backends: ``runc``, ``crun`` and ``runsc`` (gVisor) on bundles built by rtadvisor.

What is shared by the three (and reused by :mod:`.containerd` and :mod:`.microvm`):

* :func:`build_rootfs`: a real directory (runc rejects a symlinked rootfs path) holding
  busybox-static with applet symlinks plus the built-in workloads ``/hello`` and ``/idle`` (the same
  static C programs the ``native`` row runs). About 2 MB.
* :func:`oci_spec`: the ``config.json`` we generate ourselves (the shape ``runc spec`` prints, with
  ``process.terminal=false`` so output flows through plain pipes, and ``root.readonly=true`` so many
  instances can share one rootfs). One bundle per workload under ``<cache>/oci/bundles/<w>``;
  ``root.path`` is absolute, so bundles share the rootfs and never get written to.
* :func:`build_oci_layout`: an OCI image layout (one gzip layer, tags ``hello`` and ``idle``) of
  the same rootfs, for containerd (``ctr images import``).

Per-runtime facts found on this machine kind (see ``docs/backends.md``):

* Every instance gets its own state root (``--root <workdir>/state``) and a host-unique id, and a
  cleanup ``delete -f``: nothing is left even when the harness kills a run half-way.
* ``crun`` 1.8 refuses a *hybrid* cgroup layout ("cgroups in hybrid mode not supported, drop all
  controllers from cgroupv2") when the cgroup2 mount at ``/sys/fs/cgroup/unified`` has a
  controller (``hugetlb`` here). The robust fix that changes nothing on the host: run each crun
  command in a private mount namespace in which the cgroup2 mount is unmounted, so crun sees a plain
  cgroup v1 layout: ``unshare --mount --propagation private -- sh -c 'umount
  /sys/fs/cgroup/unified && exec "$@"' - crun ...``. The container's cgroups are the usual v1
  directories (``/sys/fs/cgroup/<controller>/<id>``), visible to every later crun call (``delete``
  runs the same way) and removed by ``crun delete``. Moving ``hugetlb`` to a v1 hierarchy would
  also satisfy crun, but changes the host for every other program; not done.
* ``runsc`` needs ``--network=none`` when run as root in the root network namespace, its own
  ``--root``, and the ``ptrace`` platform (``kvm`` hangs under this node's ``kvm_pvm``). Its output
  is read through a pipe (gVisor writes regular files at offset 0). ``delete -force`` sometimes needs
  a retry, so cleanup retries.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rtadvisor.backends import register
from rtadvisor.backends.base import (
    HELLO_OUTPUT,
    IDLE_READY,
    Assets,
    Availability,
    Backend,
    Command,
    Family,
    LaunchPlan,
    Stage,
)
from rtadvisor.errors import ArtifactError, BenchError, InputError

#: Busybox applets linked in the rootfs (what the fallback commands and a curious user need).
APPLETS: tuple[str, ...] = ("sh", "echo", "sleep", "true", "cat", "ls", "mount", "reboot", "poweroff", "ps")
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_BUSYBOX_CANDIDATES: tuple[str, ...] = ("/bin/busybox", "/usr/bin/busybox")
#: Bumped whenever the layout of what prepare() builds changes (invalidates the cache).
ASSET_VERSION = "1"


# --------------------------------------------------------------------------------------------------
# Host facts (cheap, read-only)
# --------------------------------------------------------------------------------------------------


def find_busybox() -> Path | None:
    """A *static* busybox (Debian ``busybox-static``), or None. A dynamic one cannot run in our rootfs."""
    for candidate in _BUSYBOX_CANDIDATES:
        path = Path(candidate)
        if path.is_file() and is_static_elf(path):
            return path
    return None


def is_static_elf(path: Path) -> bool:
    """True if ``path`` is an ELF executable without a program interpreter (PT_INTERP)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
            if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2:  # ELF64 only (x86-64 here)
                return False
            phoff, = struct.unpack_from("<Q", head, 0x20)
            phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
            fh.seek(phoff)
            table = fh.read(phentsize * phnum)
    except OSError:
        return False
    for i in range(phnum):
        p_type, = struct.unpack_from("<I", table, i * phentsize)
        if p_type == 3:  # PT_INTERP
            return False
    return True


def tool_version(binary: str, args: Sequence[str] = ("--version",)) -> str | None:
    """First line of ``binary --version`` (a few ms; no side effects), or None."""
    try:
        proc = subprocess.run([binary, *args], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (proc.stdout or proc.stderr).strip()
    return text.splitlines()[0].strip() if text else None


@dataclass(frozen=True)
class CgroupLayout:
    """How cgroups are mounted here: ``v1``, ``v2`` (unified) or ``hybrid`` (v1 + cgroup2 beside)."""

    mode: str
    unified_mount: str | None = None  # the cgroup2 mount point in hybrid mode
    unified_controllers: tuple[str, ...] = ()

    @property
    def crun_needs_private_view(self) -> bool:
        """crun 1.8 refuses hybrid mode when the cgroup2 side has any controller."""
        return self.mode == "hybrid" and bool(self.unified_controllers)


@lru_cache(maxsize=1)
def cgroup_layout() -> CgroupLayout:
    """Read /proc/self/mountinfo (read-only) to classify the cgroup layout."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return CgroupLayout(mode="unknown")
    v1 = False
    v2_mounts: list[str] = []
    for line in lines:
        left, _, right = line.partition(" - ")
        fields = left.split()
        fstype = right.split()[0] if right else ""
        mount_point = fields[4] if len(fields) > 4 else ""
        if fstype == "cgroup":
            v1 = True
        elif fstype == "cgroup2":
            v2_mounts.append(mount_point)
    if v1 and v2_mounts:
        unified = v2_mounts[0]
        try:
            controllers = tuple(Path(unified, "cgroup.controllers").read_text().split())
        except OSError:
            controllers = ()
        return CgroupLayout(mode="hybrid", unified_mount=unified, unified_controllers=controllers)
    if v2_mounts:
        return CgroupLayout(mode="v2", unified_mount=v2_mounts[0])
    return CgroupLayout(mode="v1" if v1 else "none")


# --------------------------------------------------------------------------------------------------
# The OCI runtime spec (pure)
# --------------------------------------------------------------------------------------------------

_DEFAULT_MASKED = (
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
)
_DEFAULT_READONLY = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
_DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def oci_spec(
    args: Sequence[str],
    *,
    root_path: str | Path,
    env: Sequence[str] = (DEFAULT_PATH,),
    cwd: str = "/",
    hostname: str = "rtadvisor",
) -> dict[str, Any]:
    """An OCI runtime ``config.json`` (spec 1.0.2, the shape of ``runc spec``), as a dict.

    ``process.terminal`` is false (plain pipes; the harness reads stdout), ``root.readonly`` is true
    (instances share one rootfs). Namespaces: pid, ipc, uts, mount, network (no interfaces: the
    workloads need none, and it is what gVisor's ``--network=none`` gives too).

    >>> spec = oci_spec(["/hello"], root_path="/r")
    >>> spec["process"]["terminal"], spec["root"]
    (False, {'path': '/r', 'readonly': True})
    """
    if not args:
        raise ValueError("an OCI process needs at least one argument")
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": list(env),
            "cwd": cwd,
            "capabilities": {k: list(_DEFAULT_CAPS) for k in ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": str(root_path), "readonly": True},
        "hostname": hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777", "size=16m"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": list(_DEFAULT_MASKED),
            "readonlyPaths": list(_DEFAULT_READONLY),
        },
    }


# --------------------------------------------------------------------------------------------------
# Building rootfs, bundles and image layouts (prepare only)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkloadCommands:
    """The argv of ``hello`` and ``idle`` inside our rootfs."""

    hello: tuple[str, ...]
    idle: tuple[str, ...]

    def of(self, workload: str) -> tuple[str, ...]:
        if workload == "hello":
            return self.hello
        if workload == "idle":
            return self.idle
        raise ValueError(f"no built-in command for workload {workload!r}")


#: The built-in workloads as the static C programs (the normal case: same code as ``native``).
STATIC_COMMANDS = WorkloadCommands(hello=("/hello",), idle=("/idle",))
#: Fallback when the native workloads could not be linked statically: busybox does the same.
BUSYBOX_COMMANDS = WorkloadCommands(
    hello=("/bin/sh", "-c", f"echo '{HELLO_OUTPUT}'"),
    idle=("/bin/sh", "-c", f"echo '{IDLE_READY}'; exec sleep 2147483647"),
)


def _atomic_dir(dest: Path) -> Path:
    """A fresh staging directory next to ``dest`` (renamed over it by :func:`_commit_dir`)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))


def _commit_dir(staged: Path, dest: Path) -> None:
    # Replace atomically enough for a cache: a running bench keeps its open files; a concurrent
    # prepare that loses the race just removes its own staging copy.
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old.{os.getpid()}")
        os.rename(dest, old)
    try:
        os.rename(staged, dest)
    except OSError:
        shutil.rmtree(staged, ignore_errors=True)
        if old is not None and not dest.exists():
            os.rename(old, dest)
            old = None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_rootfs(dest: Path, *, busybox: Path, workloads: Mapping[str, Path]) -> WorkloadCommands:
    """Build the rootfs directory ``dest`` (replaced atomically); returns the workload commands.

    ``workloads`` maps ``hello``/``idle`` to native executables; they are copied to ``/hello`` and
    ``/idle`` when static, else the busybox equivalents are used.
    """
    staged = _atomic_dir(dest)
    try:
        for sub in ("bin", "proc", "dev", "sys", "tmp", "etc", "root"):
            (staged / sub).mkdir(mode=0o755)
        os.chmod(staged, 0o755)
        shutil.copy2(busybox, staged / "bin" / "busybox")
        for applet in APPLETS:
            os.symlink("busybox", staged / "bin" / applet)
        (staged / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        (staged / "etc" / "group").write_text("root:x:0:\n")
        static = all(p.is_file() and is_static_elf(p) for p in workloads.values()) and set(workloads) >= {
            "hello", "idle"}
        if static:
            for name, exe in workloads.items():
                shutil.copyfile(exe, staged / name)
                os.chmod(staged / name, 0o755)
        commands = STATIC_COMMANDS if static else BUSYBOX_COMMANDS
        (staged / ".rtadvisor-commands.json").write_text(json.dumps({"hello": commands.hello, "idle": commands.idle}))
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    _commit_dir(staged, dest)
    return commands


def rootfs_commands(rootfs: Path) -> WorkloadCommands:
    """The commands recorded by :func:`build_rootfs` (reading a file; used by plan())."""
    try:
        data = json.loads((rootfs / ".rtadvisor-commands.json").read_text())
        return WorkloadCommands(hello=tuple(data["hello"]), idle=tuple(data["idle"]))
    except (OSError, ValueError, KeyError):
        return STATIC_COMMANDS


def write_bundle(bundle: Path, spec: Mapping[str, Any]) -> None:
    """Write ``bundle/config.json`` (atomic rename)."""
    bundle.mkdir(parents=True, exist_ok=True)
    tmp = bundle / f".config.json.{os.getpid()}"
    tmp.write_text(json.dumps(spec, indent=2) + "\n")
    os.replace(tmp, bundle / "config.json")


def _tar_directory(root: Path) -> bytes:
    """A reproducible tar of ``root`` (sorted, owner 0, mtime 0): same rootfs, same layer digest."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        paths = sorted(p for p in root.rglob("*"))
        for path in paths:
            rel = path.relative_to(root).as_posix()
            info = tar.gettarinfo(str(path), arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            if info.isreg():
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
    return buf.getvalue()


def _blob(layout: Path, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def build_oci_layout(dest: Path, rootfs: Path, commands: WorkloadCommands, *, image_name: str,
                     tags: Mapping[str, Sequence[str]] | None = None) -> None:
    """An OCI image layout directory ``dest``: one gzip layer of ``rootfs``, one manifest per tag
    (``hello``, ``idle``, or the given ``tags`` -> commands; ``Cmd`` = the workload command). Written
    in Python rather than with umoci because it is ~40 lines, needs no unpack/repack round trip, and
    gives reproducible digests.
    """
    staged = _atomic_dir(dest)
    tag_commands = dict(tags) if tags is not None else {t: commands.of(t) for t in ("hello", "idle")}
    try:
        layer_tar = _tar_directory(rootfs)
        layer = _blob(staged, gzip.compress(layer_tar, mtime=0))
        diff_id = "sha256:" + hashlib.sha256(layer_tar).hexdigest()
        manifests = []
        for tag, command in tag_commands.items():
            config = {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Cmd": list(command), "Env": [DEFAULT_PATH], "WorkingDir": "/"},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            }
            config_desc = _blob(staged, json.dumps(config, sort_keys=True).encode())
            manifest = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_desc},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
            }
            manifest_desc = _blob(staged, json.dumps(manifest, sort_keys=True).encode())
            manifests.append({
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **manifest_desc,
                "annotations": {
                    "org.opencontainers.image.ref.name": tag,
                    "io.containerd.image.name": f"{image_name}:{tag}",
                },
            })
        (staged / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        (staged / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}, indent=1))
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    _commit_dir(staged, dest)


def tar_layout(layout: Path, dest: Path) -> None:
    """Tar an OCI layout directory (what ``ctr images import`` reads)."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}")
    with tarfile.open(tmp, "w") as tar:
        for path in sorted(layout.rglob("*")):
            tar.add(str(path), arcname=path.relative_to(layout).as_posix(), recursive=False)
    os.replace(tmp, dest)


def _stamp_ok(directory: Path, key: str) -> bool:
    try:
        return (directory / ".stamp").read_text().strip() == key
    except OSError:
        return False


def _file_key(*paths: Path) -> str:
    parts = [ASSET_VERSION]
    for p in paths:
        try:
            st = p.stat()
            parts.append(f"{p}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{p}:missing")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def prepare_oci_assets(assets: Assets) -> Path:
    """Build (if stale) ``<cache>/oci``: ``rootfs/``, ``bundles/{hello,idle}/config.json``,
    ``layout/`` and ``image.tar``. Idempotent; returns the oci asset directory."""
    from rtadvisor.workloads import ensure_built

    busybox = find_busybox()
    if busybox is None:
        raise BenchError("busybox-static is not installed on this node (needed for the OCI rootfs)")
    ensure_built(assets, wasm=False)
    base = assets.dir("oci")
    workloads = {w: assets.native(w) for w in ("hello", "idle")}
    key = _file_key(busybox, *workloads.values())
    if _stamp_ok(base, key) and (base / "image.tar").exists():
        return base
    base.mkdir(parents=True, exist_ok=True)
    (base / ".stamp").unlink(missing_ok=True)
    rootfs = base / "rootfs"
    commands = build_rootfs(rootfs, busybox=busybox, workloads=workloads)
    for workload in ("hello", "idle"):
        write_bundle(base / "bundles" / workload, oci_spec(commands.of(workload), root_path=rootfs.resolve()))
    build_oci_layout(base / "layout", rootfs, commands, image_name=IMAGE_NAME)
    tar_layout(base / "layout", base / "image.tar")
    (base / ".stamp").write_text(key + "\n")
    return base


#: The name our image is imported under in containerd (tags ``hello`` and ``idle``).
IMAGE_NAME = "localhost/rtadvisor/busybox"

# --------------------------------------------------------------------------------------------------
# The ``measure`` workload (isolation probe + steady-state micro-benchmarks, rtadvisor.bench.measure)
# --------------------------------------------------------------------------------------------------

#: The image the ``measure`` workload runs from in containerd (tag ``measure``).
MEASURE_IMAGE = "localhost/rtadvisor/measure:measure"
#: Where the per-instance scratch directory (a host directory) is bind-mounted in the container.
MEASURE_DIR = "/work"
MEASURE_ASSET_VERSION = "1"


def measure_asset_dir(assets: Assets) -> Path:
    """``<cache>/measure-oci``: its own rootfs and image, apart from the busybox ones, so that
    building it never replaces a rootfs another bench is running from."""
    return assets.dir("measure-oci")


def prepare_measure_assets(assets: Assets) -> Path | None:
    """Build (if stale) the ``measure`` rootfs (the static ``/measure`` and empty mount points, no
    shell: the probe sees only itself), its OCI layout and ``image.tar``. None when the workload
    could not be linked statically (then the container rows report it as not measurable)."""
    from rtadvisor.workloads import ensure_built

    ensure_built(assets, wasm=False)
    exe = assets.native("measure")
    if not (exe.is_file() and is_static_elf(exe)):
        return None
    base = measure_asset_dir(assets)
    key = _file_key(exe) + MEASURE_ASSET_VERSION
    if _stamp_ok(base, key) and (base / "image.tar").exists():
        return base
    base.mkdir(parents=True, exist_ok=True)
    (base / ".stamp").unlink(missing_ok=True)
    staged = _atomic_dir(base / "rootfs")
    try:
        for sub in ("proc", "dev", "sys", "tmp", "etc", MEASURE_DIR.strip("/")):
            (staged / sub).mkdir(mode=0o755)
        os.chmod(staged, 0o755)
        shutil.copyfile(exe, staged / "measure")
        os.chmod(staged / "measure", 0o755)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    _commit_dir(staged, base / "rootfs")
    name, _, tag = MEASURE_IMAGE.rpartition(":")
    build_oci_layout(base / "layout", base / "rootfs", STATIC_COMMANDS, image_name=name, tags={tag: ("/measure",)})
    tar_layout(base / "layout", base / "image.tar")
    (base / ".stamp").write_text(key + "\n")
    return base


def measure_spec(rootfs: Path, scratch: Path) -> dict[str, Any]:
    """The ``config.json`` of one ``measure`` instance: ``/measure`` on the measure rootfs, the
    instance's host scratch directory bind-mounted read-write at :data:`MEASURE_DIR` (the way a
    Kubernetes emptyDir or hostPath volume reaches a container), everything else as
    :func:`oci_spec`."""
    spec = oci_spec(["/measure"], root_path=rootfs)
    spec["mounts"].append({"destination": MEASURE_DIR, "type": "bind", "source": str(scratch),
                           "options": ["rbind", "rw"]})
    return spec


# --------------------------------------------------------------------------------------------------
# User artifacts: --oci-layout DIR|TAR, --rootfs DIR
# --------------------------------------------------------------------------------------------------


def _user_key(path: Path) -> str:
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


def user_bundle_dir(assets: Assets) -> Path | None:
    """Where the bundle for the user's artifact lives (pure: a path computation)."""
    if assets.user_oci_layout is not None:
        return assets.dir("oci") / "user" / f"layout-{_user_key(assets.user_oci_layout)}"
    if assets.user_rootfs is not None:
        return assets.dir("oci") / "user" / f"rootfs-{_user_key(assets.user_rootfs)}"
    return None


def read_layout_image(layout: Path) -> tuple[str, dict[str, Any]]:
    """(tag, image config) of the first manifest of an OCI layout directory."""
    try:
        index = json.loads((layout / "index.json").read_text())
        manifests = index.get("manifests") or []
        if not manifests:
            raise InputError(f"{layout}: index.json lists no manifest (expected an OCI image layout)")
        first = manifests[0]

        def blob(desc: Mapping[str, Any]) -> Any:
            algo, _, digest = str(desc["digest"]).partition(":")
            return json.loads((layout / "blobs" / algo / digest).read_text())

        document = blob(first)
        if "manifests" in document:  # a nested index (multi-platform): take the linux/amd64 one
            choices = [m for m in document["manifests"]
                       if (m.get("platform") or {}).get("architecture") in (None, "amd64")]
            if not choices:
                raise InputError(f"{layout}: no linux/amd64 image in the layout")
            document = blob(choices[0])
        config = blob(document["config"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{layout}: not a readable OCI image layout ({exc})") from exc
    tag = str((first.get("annotations") or {}).get("org.opencontainers.image.ref.name") or "")
    return tag, config


def prepare_user_bundle(assets: Assets) -> Path | None:
    """Unpack/prepare the user's artifact into an OCI bundle (idempotent); None if there is none.

    * ``--oci-layout DIR|TAR``: the first image of the layout, unpacked with ``umoci raw unpack``
      (it applies layers and whiteouts correctly); the command is the image's Entrypoint + Cmd.
    * ``--rootfs DIR``: an OCI bundle directory (``config.json`` + rootfs) is used with its own
      ``process.args``; a plain root filesystem runs ``/bin/sh -c true`` (container start cost).
    """
    bundle = user_bundle_dir(assets)
    if bundle is None:
        return None
    if assets.user_oci_layout is not None:
        source = assets.user_oci_layout
        if not source.exists():
            raise InputError(f"--oci-layout {source}: no such file or directory")
        key = _file_key(source, *(sorted(source.rglob("index.json")) if source.is_dir() else []))
        if _stamp_ok(bundle, key):
            return bundle
        if shutil.which("umoci") is None:
            raise BenchError("umoci is not installed on this node (needed to unpack --oci-layout)")
        staged = _atomic_dir(bundle)
        try:
            with tempfile.TemporaryDirectory(prefix="rtadvisor-layout-") as tmp:
                layout = source
                if source.is_file():
                    try:
                        with tarfile.open(source) as tar:
                            tar.extractall(tmp, filter="data")
                    except (tarfile.TarError, OSError) as exc:
                        raise InputError(f"--oci-layout {source}: not a tar of an OCI layout ({exc})") from exc
                    layout = Path(tmp)
                tag, config = read_layout_image(layout)
                image_ref = f"{layout}:{tag}" if tag else str(layout)
                proc = subprocess.run(["umoci", "raw", "unpack", "--image", image_ref, str(staged / "rootfs")],
                                      capture_output=True, text=True, timeout=600, check=False)
                if proc.returncode != 0:
                    raise ArtifactError(f"--oci-layout {source}: umoci raw unpack failed: "
                                        f"{proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
            cfg = config.get("config") or {}
            args = list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or [])
            if not args:
                raise InputError(f"--oci-layout {source}: the image has neither Entrypoint nor Cmd")
            spec = oci_spec(args, root_path=(bundle / "rootfs").resolve(), env=cfg.get("Env") or [DEFAULT_PATH],
                            cwd=cfg.get("WorkingDir") or "/")
            write_bundle(staged, spec)
            (staged / ".stamp").write_text(key + "\n")
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        _commit_dir(staged, bundle)
        return bundle
    user_root = assets.user_rootfs
    assert user_root is not None
    if not user_root.is_dir():
        raise InputError(f"--rootfs {user_root}: expected a directory (a root filesystem or an OCI bundle)")
    real = user_root.resolve()
    if (real / "config.json").is_file():
        try:
            spec = json.loads((real / "config.json").read_text())
            args = list(spec["process"]["args"])
            root = Path(spec.get("root", {}).get("path", "rootfs"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"--rootfs {user_root}/config.json: not an OCI runtime config ({exc})") from exc
        rootfs = (root if root.is_absolute() else real / root).resolve()
        env = spec["process"].get("env") or [DEFAULT_PATH]
        cwd = spec["process"].get("cwd") or "/"
    else:
        rootfs = real
        if not (rootfs / "bin" / "sh").exists() and not (rootfs / "bin" / "sh").is_symlink():
            raise InputError(f"--rootfs {user_root}: no /bin/sh to run; give an OCI bundle (config.json + rootfs)")
        args, env, cwd = ["/bin/sh", "-c", "true"], [DEFAULT_PATH], "/"
    if not rootfs.is_dir():
        raise InputError(f"--rootfs {user_root}: root filesystem {rootfs} is not a directory")
    write_bundle(bundle, oci_spec(args, root_path=rootfs, env=env, cwd=cwd))
    return bundle


# --------------------------------------------------------------------------------------------------
# The backends
# --------------------------------------------------------------------------------------------------



class OciBackend(Backend):
    """Shared logic of runc, crun and runsc: probe, prepare the bundles, plan run/delete."""

    binary: str = ""
    family: Family = "container"

    def probe(self) -> Availability:
        path = shutil.which(self.binary)
        if path is None:
            return Availability.missing(self.name, self.binary)
        if find_busybox() is None:
            return Availability(name=self.name, usable=False, binary=path,
                                reason="busybox-static not installed on this node (needed for the rootfs)")
        if os.geteuid() != 0:
            return Availability(name=self.name, usable=False, binary=path,
                                reason=f"{self.binary} needs root here (rootless bundles are not built)")
        version = tool_version(path)
        return Availability(name=self.name, usable=True, binary=path, version=version, notes=self.notes())

    def notes(self) -> tuple[str, ...]:
        return ()

    def prepare(self, assets: Assets) -> None:
        prepare_oci_assets(assets)
        prepare_measure_assets(assets)
        prepare_user_bundle(assets)

    def supports(self, workload: str, assets: Assets) -> str | None:
        if workload == "user" and user_bundle_dir(assets) is None:
            return f"{self.name} runs a user artifact given as --oci-layout DIR|TAR or --rootfs DIR"
        if workload == "measure":
            if not (measure_asset_dir(assets) / "rootfs" / "measure").is_file():
                return "the measure workload is not built (run `rtadvisor prepare`; it needs a static C toolchain)"
            return None
        if workload not in ("hello", "idle", "user"):
            return f"unknown workload {workload!r}"
        return None

    # -- pure planning ------------------------------------------------------------------------------

    def runtime_argv(self, workdir: Path) -> tuple[str, ...]:
        """The runtime binary with its global flags (per-instance state root under ``workdir``)."""
        return (self.binary, "--root", str(workdir / "state"))

    def wrap(self, argv: tuple[str, ...]) -> tuple[str, ...]:
        """Hook for crun's private cgroup view."""
        return argv

    def bundle_for(self, workload: str, assets: Assets) -> Path:
        if workload == "user":
            bundle = user_bundle_dir(assets)
            if bundle is None:
                raise ValueError(self.supports(workload, assets))
            return bundle
        if workload not in ("hello", "idle"):
            raise ValueError(f"{self.name} cannot run workload {workload!r}")
        return assets.dir("oci") / "bundles" / workload

    def run_argv(self, workdir: Path, bundle: Path, instance_id: str, *, detach: bool) -> tuple[str, ...]:
        argv = (*self.runtime_argv(workdir), "run", "--bundle", str(bundle))
        if detach:
            argv += ("--detach", "--pid-file", str(workdir / "container.pid"))
        return self.wrap((*argv, instance_id))

    def delete_command(self, workdir: Path, instance_id: str) -> Command:
        return Command(self.wrap((*self.runtime_argv(workdir), "delete", "--force", instance_id)),
                       check=False, timeout_s=30)

    def plan(self, workload: str, assets: Assets, workdir: Path, *, instance_id: str) -> LaunchPlan:
        if workload == "measure":
            return self.measure_plan(assets, workdir, instance_id=instance_id)
        bundle = self.bundle_for(workload, assets)
        artifacts = (assets.dir("oci") / "rootfs",) if workload != "user" else (bundle,)
        if workload == "idle":
            # Detached, like a container under a shim: the runtime exits once the container runs, so
            # memory is the container's (pid file + id markers), not a foreground runtime's. The
            # container's stdout goes to a log file in the workdir (a pipe would outlive the stage
            # process), and a tiny waiter stage reports the ready line from it.
            log = workdir / "container.log"
            run = self.run_argv(workdir, bundle, instance_id, detach=True)
            # stderr too: the container inherits both, and a pipe it holds would never reach EOF.
            start = Command(("sh", "-c", 'exec "$@" >"$0" 2>&1', str(log), *run), timeout_s=60)
            stages: tuple[Stage, ...] = (Stage("start", start), Stage("ready", ready_waiter(log), ready_line=IDLE_READY))
            method = f"{self.binary} run --detach, then wait for the container's ready line"
        else:
            stages = (Stage("run", Command(self.run_argv(workdir, bundle, instance_id, detach=False), timeout_s=60)),)
            method = f"{self.binary} run (create+start+wait+delete of one container) until exit"
        return LaunchPlan(
            workload=workload,
            stages=stages,
            cleanup=(self.delete_command(workdir, instance_id), cgroup_cleanup(instance_id)),
            expected_stdout=HELLO_OUTPUT if workload == "hello" else None,
            pid_files=(workdir / "container.pid",) if workload == "idle" else (),
            # the id finds runsc's sandbox; the private state root also finds its gofer
            cmdline_markers=(instance_id, f"--root={workdir / 'state'}"),
            artifacts=artifacts,
            labels=self.labels(),
            method=method + self.method_suffix(),
        )

    def measure_plan(self, assets: Assets, workdir: Path, *, instance_id: str) -> LaunchPlan:
        """``measure`` in a foreground container (stdin and stdout are the harness's pipes): a
        per-instance bundle, written by the setup command from stdin (planning stays pure), whose
        config bind-mounts ``<workdir>/scratch`` at :data:`MEASURE_DIR`."""
        rootfs = (measure_asset_dir(assets) / "rootfs").resolve()
        bundle, scratch = workdir / "bundle", workdir / "scratch"
        write = Command(("sh", "-c", 'mkdir -p "$0/scratch" "$0/bundle" && cat > "$0/bundle/config.json"', str(workdir)),
                        stdin=json.dumps(measure_spec(rootfs, scratch)).encode(), timeout_s=10)
        return LaunchPlan(
            workload="measure",
            setup=(write,),
            stages=(Stage("measure", Command(self.run_argv(workdir, bundle, instance_id, detach=False),
                                             timeout_s=120)),),
            cleanup=(self.delete_command(workdir, instance_id), cgroup_cleanup(instance_id)),
            cmdline_markers=(instance_id, f"--root={workdir / 'state'}"),
            artifacts=(rootfs,),
            labels={**self.labels(), "measure_dir": MEASURE_DIR,
                    "storage": f"host directory bind-mounted at {MEASURE_DIR}"},
            method=f"{self.binary} run (foreground) of /measure{self.method_suffix()}",
        )

    def labels(self) -> dict[str, str | bool | int]:
        return {}

    def method_suffix(self) -> str:
        return ""


class RuncBackend(OciBackend):
    """runc, the OCI reference runtime (containerd's default)."""

    name = "runc"
    binary = "runc"


class CrunBackend(OciBackend):
    """crun, the C OCI runtime; on a hybrid cgroup host it runs in a private cgroup-v1 view."""

    name = "crun"
    binary = "crun"

    def __init__(self, private_cgroup_view: bool | None = None) -> None:
        self._private_view = private_cgroup_view

    @property
    def private_cgroup_view(self) -> bool:
        if self._private_view is None:
            return cgroup_layout().crun_needs_private_view
        return self._private_view

    def wrap(self, argv: tuple[str, ...]) -> tuple[str, ...]:
        if not self.private_cgroup_view:
            return argv
        unified = cgroup_layout().unified_mount or "/sys/fs/cgroup/unified"
        # A private mount namespace (propagation private: the umount never reaches the host) in
        # which the cgroup2 mount is gone, so crun sees a pure cgroup v1 layout; then exec crun.
        script = f'umount {unified} && exec "$@"'
        return ("unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "crun-cgroup-v1",
                *argv)

    def notes(self) -> tuple[str, ...]:
        if self.private_cgroup_view:
            return (("hybrid cgroups: each crun call runs in a private mount namespace without the cgroup2 "
                    "mount (crun uses cgroup v1); unshare+umount add ~2-4 ms"),)
        return ()

    def probe(self) -> Availability:
        availability = super().probe()
        if availability.usable and self.private_cgroup_view and shutil.which("unshare") is None:
            return Availability(name=self.name, usable=False, binary=availability.binary,
                                reason="crun needs unshare(1) (util-linux) on this hybrid-cgroup node")
        return availability

    def method_suffix(self) -> str:
        return " (in a private mount namespace without the cgroup2 mount)" if self.private_cgroup_view else ""


class RunscBackend(OciBackend):
    """gVisor's runsc: a user-space kernel (Sentry) per sandbox, ptrace platform here."""

    name = "runsc"
    binary = "runsc"
    family = "sandbox"
    platform = "ptrace"

    def runtime_argv(self, workdir: Path) -> tuple[str, ...]:
        # --network=none: with the default sandbox network, runsc as root in the root netns fails to
        # set up the sandbox here; the workloads need no network. --platform=ptrace: kvm hangs here.
        return (self.binary, "--root", str(workdir / "state"), "--network=none", f"--platform={self.platform}")

    def delete_command(self, workdir: Path, instance_id: str) -> Command:
        # ``delete -force`` sometimes fails while the sandbox is still going away: retry briefly.
        runsc = " ".join(_sh_quote(a) for a in self.runtime_argv(workdir))
        script = (f"for i in 1 2 3 4 5; do {runsc} delete -force {_sh_quote(instance_id)} 2>/dev/null && exit 0; "
                  f"{runsc} state {_sh_quote(instance_id)} >/dev/null 2>&1 || exit 0; sleep 0.2; done; exit 1")
        return Command(("sh", "-c", script), check=False, timeout_s=30)

    def labels(self) -> dict[str, str | bool | int]:
        return {"platform": self.platform}

    def method_suffix(self) -> str:
        return f" (platform {self.platform}, --network=none)"


def cgroup_cleanup(instance_id: str, root: str = "/sys/fs/cgroup") -> Command:
    """Remove cgroup directories named after the instance that a runtime left behind.

    ``runsc delete`` returns while the sandbox is still exiting and then cannot remove its cgroups
    (seen under load); the id is host-unique, so these directories are ours. Retries for up to 5 s
    while they are still busy."""
    script = (f"for i in $(seq 50); do busy=0; "
              f"for d in $(find {root} -maxdepth 3 -type d -name {_sh_quote(instance_id)} 2>/dev/null); do "
              f"find \"$d\" -depth -type d -exec rmdir {{}} + 2>/dev/null || busy=1; done; "
              f"[ $busy = 0 ] && exit 0; sleep 0.1; done; exit 1")
    return Command(("sh", "-c", script), check=False, timeout_s=15)


def ready_waiter(log: Path) -> Command:
    """A command that prints :data:`IDLE_READY` once a container has written it to ``log``
    (polls every 5 ms; used where the container's stdout cannot be the harness's pipe)."""
    script = (f"until grep -qx {_sh_quote(IDLE_READY)} {_sh_quote(str(log))} 2>/dev/null; do sleep 0.005; done; "
              f"echo {_sh_quote(IDLE_READY)}")
    return Command(("sh", "-c", script), timeout_s=60)


def _sh_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


register(RuncBackend())
register(CrunBackend())
register(RunscBackend())
