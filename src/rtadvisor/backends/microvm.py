"""The ``microvm`` backend: a QEMU ``-M microvm`` guest (Debian kernel + a tiny initramfs), the
VM / Kata-like row.

Assets (``prepare``, under ``<cache>/microvm``):

* kernel: ``apt-get download linux-image-<ver>-amd64`` (the version ``linux-image-amd64`` points
  to), ``dpkg-deb --fsys-tarfile``, and the xz payload of ``vmlinuz`` (from the ``\\xfd7zXZ\\0`` magic)
  decompressed to an uncompressed ``vmlinux``, which QEMU boots through its PVH entry point.
* initramfs: busybox-static + the static ``hello``/``idle`` programs + an ``/init`` shell script,
  written as a gzipped ``newc`` cpio by :func:`newc_archive` (the format is 110-byte ASCII headers
  padded to 4 bytes; 30 lines of Python beat depending on cpio(1) and a staging tree).
  ``/init`` prints the guest's uptime at init (``rtadvisor-vm{"guest_boot_to_init_ms": N}``, a
  self-reported stage), runs the workload, then ``reboot -f`` (hello) or keeps it running (idle).
* accelerator: chosen by a *boot probe*, never assumed. ``/dev/kvm`` on this machine kind is
  ``kvm_pvm`` (software virtualisation inside a VM): under it a stock Debian kernel clears its BSS
  at ~2 MB/s (every ``rep stosb`` is emulated), then dies with "KVM internal error ... emulation
  failure" on ``lock cmpxchg16b`` (SLUB); hiding cx16/xsave gets further but not to init within
  minutes. So :func:`probe_accelerator` boots the hello initramfs under each :data:`KVM_CANDIDATES`
  configuration with a short timeout (a KVM boot slower than TCG's is useless) and falls back to
  TCG with the recipe below; the result is cached per kernel + QEMU version. Figures under TCG are
  labelled ``emulated`` everywhere.

TCG recipe (boots reliably here): ``-accel tcg -M microvm,pit=on -cpu max -m 128M`` and
``tsc_early_khz=2000000 lpj=4000000 no_timer_check`` on the command line: without the three timer
parameters about 1 boot in 6 hangs at TSC calibration; with 64M every boot hangs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
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
from rtadvisor.backends.oci import find_busybox, is_static_elf, tool_version
from rtadvisor.errors import BenchError

QEMU = "qemu-system-x86_64"
KERNEL_META_PACKAGE = "linux-image-amd64"
SELF_REPORT_PREFIX = "rtadvisor-vm"
#: Kernel parameters every boot gets (console on the microvm's ISA serial, reboot = exit QEMU).
BASE_APPEND = "console=ttyS0 reboot=t panic=-1 quiet"
#: Timer parameters that make TCG boots reliable (TSC calibration hangs ~1 in 6 boots without them).
TIMER_APPEND = "tsc_early_khz=2000000 lpj=4000000 no_timer_check"
MEMORY = "128M"
PROBE_TIMEOUT_S = 10.0
ASSET_VERSION = "1"


@dataclass(frozen=True)
class AccelConfig:
    """One way to run the guest: accelerator, machine, CPU model and extra kernel parameters."""

    accel: str  # "kvm" or "tcg"
    cpu: str
    machine: str = "microvm,pit=on"
    append: str = ""

    def kernel_cmdline(self) -> str:
        return " ".join(p for p in (BASE_APPEND, TIMER_APPEND, self.append) if p)


#: KVM configurations the boot probe tries, in order (see the module docstring for why each).
KVM_CANDIDATES: tuple[AccelConfig, ...] = (
    AccelConfig("kvm", "host"),
    # no cmpxchg16b (emulation failure in SLUB) and no XSAVE family (xrstor emulation failures)
    AccelConfig("kvm", "host,-cx16,-xsave,-xsavec,-xsaves,-xsaveopt", append="noxsave nopti"),
)
#: What boots reliably under software emulation here (NODE-NOTES recipe).
TCG_CONFIG = AccelConfig("tcg", "max")


@dataclass(frozen=True)
class ProbeAttempt:
    cpu: str
    append: str
    accel: str
    booted: bool
    seconds: float
    detail: str


@dataclass(frozen=True)
class AccelDecision:
    """The cached outcome of the boot probe."""

    config: AccelConfig
    reason: str
    attempts: tuple[ProbeAttempt, ...] = ()
    probed_at: str = ""
    key: str = ""

    @property
    def emulated(self) -> bool:
        return self.config.accel == "tcg"

    def to_json(self) -> str:
        return json.dumps({"config": asdict(self.config), "reason": self.reason,
                           "attempts": [asdict(a) for a in self.attempts], "probed_at": self.probed_at,
                           "key": self.key}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> AccelDecision:
        data = json.loads(text)
        return cls(config=AccelConfig(**data["config"]), reason=data["reason"],
                   attempts=tuple(ProbeAttempt(**a) for a in data.get("attempts", ())),
                   probed_at=data.get("probed_at", ""), key=data.get("key", ""))


# --------------------------------------------------------------------------------------------------
# Pure builders
# --------------------------------------------------------------------------------------------------


def newc_archive(entries: Sequence[tuple[str, int, bytes]]) -> bytes:
    """A ``newc`` (SVR4, no CRC) cpio archive of ``(name, mode, data)`` entries, plus the trailer.
    Symlinks carry their target as data; directories must precede their contents.

    >>> newc_archive([])[:6]
    b'070701'
    """
    out = io.BytesIO()

    def pad(n: int) -> bytes:
        return b"\0" * ((4 - n % 4) % 4)

    for ino, (name, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        nlink = 2 if stat.S_ISDIR(mode) else 1
        fields = (ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        header = b"070701" + "".join(f"{v:08X}" for v in fields).encode()
        out.write(header + encoded + pad(len(header) + len(encoded)))
        out.write(data + pad(len(data)))
    return out.getvalue()


def init_script(workload: str, *, static_workloads: bool) -> str:
    """``/init`` for ``hello`` (print, power off), ``idle`` (ready line, then sleep forever) or
    ``measure`` (the probe + micro-benchmarks, talking to the host over the serial console; then
    power off)."""
    if workload == "measure":
        if not static_workloads:
            raise ValueError("the measure workload needs the static measure binary")
        run = "/measure"
    elif static_workloads:
        run = {"hello": "/hello", "idle": "exec /idle"}[workload]
    else:
        run = {"hello": f"echo '{HELLO_OUTPUT}'",
               "idle": f"echo '{IDLE_READY}'; exec /bin/busybox sleep 2147483647"}[workload]
    tail = "/bin/busybox reboot -f\n" if workload in ("hello", "measure") else ""
    # /proc/uptime is "S.CC ...": ms = S*1000 + CC*10, written without a float (busybox sh).
    return (
        "#!/bin/sh\n"
        "/bin/busybox mount -t proc proc /proc\n"
        "read up rest < /proc/uptime\n"
        "ms=$(( ${up%.*} * 1000 + 1${up#*.} * 10 - 1000 ))\n"
        f"echo \"{SELF_REPORT_PREFIX}{{\\\"guest_boot_to_init_ms\\\": $ms}}\"\n"
        f"{run}\n"
        f"{tail}"
    )


def initramfs(workload: str, *, busybox: bytes, programs: dict[str, bytes]) -> bytes:
    """The gzipped newc initramfs for ``workload`` (``programs``: static hello/idle, may be empty)."""
    d, f, lnk = stat.S_IFDIR | 0o755, stat.S_IFREG | 0o755, stat.S_IFLNK | 0o777
    entries: list[tuple[str, int, bytes]] = [
        ("bin", d, b""), ("dev", d, b""), ("proc", d, b""), ("sys", d, b""), ("tmp", d, b""),
        ("bin/busybox", f, busybox), ("bin/sh", lnk, b"busybox"),
    ]
    static = workload in programs
    for name, data in sorted(programs.items()):
        entries.append((name, f, data))
    entries.append(("init", f, init_script(workload, static_workloads=static).encode()))
    return gzip.compress(newc_archive(entries), mtime=0)


def extract_vmlinux(vmlinuz: bytes) -> bytes:
    """Decompress the xz payload of a bzImage into the ELF ``vmlinux`` (PVH-bootable)."""
    start = vmlinuz.find(b"\xfd7zXZ\x00")
    if start < 0:
        raise BenchError("kernel image has no xz payload (expected a Debian amd64 vmlinuz)")
    data = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(vmlinuz[start:])
    if data[:4] != b"\x7fELF":
        raise BenchError("decompressed kernel payload is not an ELF vmlinux")
    return data


def qemu_argv(config: AccelConfig, kernel: Path, initrd: Path, *, name: str | None = None,
              memory: str = MEMORY, qemu: str = QEMU) -> tuple[str, ...]:
    """The QEMU command line (pure). Serial console on stdio, no devices, exit on guest reboot."""
    argv = [qemu, "-accel", config.accel, "-M", config.machine, "-cpu", config.cpu, "-m", memory, "-smp", "1",
            "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot"]
    if name:
        argv += ["-name", name]  # makes the instance id visible in the host process list
    argv += ["-kernel", str(kernel), "-initrd", str(initrd), "-append", config.kernel_cmdline()]
    return tuple(argv)


# --------------------------------------------------------------------------------------------------
# Host side (prepare only)
# --------------------------------------------------------------------------------------------------


def _run(argv: Sequence[str], *, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[bytes]:
    try:
        proc = subprocess.run(list(argv), cwd=cwd, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"{argv[0]}: {exc}") from exc
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise BenchError(f"{' '.join(argv[:3])} failed: {err[-1] if err else proc.returncode}")
    return proc


def kernel_package() -> str:
    """The versioned kernel package ``linux-image-amd64`` depends on (``apt-cache depends``)."""
    out = _run(["apt-cache", "depends", KERNEL_META_PACKAGE], timeout=60).stdout.decode()
    match = re.search(r"Depends:\s*(linux-image-[\w.+-]+-amd64)\b", out)
    if not match:
        raise BenchError(f"cannot find the kernel package {KERNEL_META_PACKAGE} depends on")
    return match.group(1)


def ensure_kernel(base: Path) -> Path:
    """Download (once) the Debian kernel and extract an uncompressed vmlinux; returns its path."""
    kernel_dir = base / "kernel"
    current = kernel_dir / "vmlinux"
    if current.is_file() and (kernel_dir / "package").is_file():
        return current
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise BenchError("apt-get/dpkg-deb not found: cannot fetch the Debian kernel for the micro-VM")
    package = kernel_package()
    kernel_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rtadvisor-kernel-", dir=kernel_dir) as tmp:
        _run(["apt-get", "download", package], cwd=Path(tmp), timeout=900)
        debs = list(Path(tmp).glob("*.deb"))
        if not debs:
            raise BenchError(f"apt-get download {package} produced no .deb")
        tarball = _run(["dpkg-deb", "--fsys-tarfile", str(debs[0])], timeout=300).stdout
        vmlinuz: bytes | None = None
        with tarfile.open(fileobj=io.BytesIO(tarball)) as tar:
            for member in tar.getmembers():
                if re.fullmatch(r"\./boot/vmlinuz-.*", member.name) and member.isfile():
                    fh = tar.extractfile(member)
                    vmlinuz = fh.read() if fh else None
                    break
        if vmlinuz is None:
            raise BenchError(f"{debs[0].name} has no /boot/vmlinuz")
        staged = kernel_dir / f".vmlinux.{os.getpid()}"
        staged.write_bytes(extract_vmlinux(vmlinuz))
        os.replace(staged, current)
    (kernel_dir / "package").write_text(package + "\n")
    return current


def qemu_version(qemu: str = QEMU) -> str | None:
    return tool_version(qemu)


def kvm_usable() -> str | None:
    """None if /dev/kvm can be opened read-write, else why not (cheap)."""
    if not os.path.exists("/dev/kvm"):
        return "/dev/kvm does not exist"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is not accessible to this user"
    return None


def boot_once(config: AccelConfig, kernel: Path, initrd: Path, *, timeout_s: float) -> tuple[bool, float, str]:
    """Boot the hello initramfs once; (printed hello and exited 0, seconds, last line of output)."""
    start = time.monotonic()
    proc = subprocess.Popen(qemu_argv(config, kernel, initrd), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        lines = [ln for ln in out.decode(errors="replace").splitlines() if ln.strip()]
        return False, time.monotonic() - start, f"no exit within {timeout_s:g} s" + (
            f"; last output: {lines[-1][:120]}" if lines else "; no output")
    text = out.decode(errors="replace")
    ok = proc.returncode == 0 and HELLO_OUTPUT in text
    lines = [ln for ln in text.splitlines() if ln.strip()]
    detail = "booted to init" if ok else (
        "emulation failure (KVM internal error)" if "emulation failure" in text
        else f"exit {proc.returncode}: {lines[-1][:120] if lines else 'no output'}")
    return ok, time.monotonic() - start, detail


def probe_accelerator(kernel: Path, initrd: Path, *, candidates: Sequence[AccelConfig] = KVM_CANDIDATES,
                      timeout_s: float = PROBE_TIMEOUT_S, boots: int = 2) -> AccelDecision:
    """Try each KVM configuration (``boots`` successful boots needed: "reliably"); else TCG."""
    attempts: list[ProbeAttempt] = []
    now = datetime.now(UTC).isoformat(timespec="seconds")
    why_not = kvm_usable()
    if why_not is None:
        for config in candidates:
            good = 0
            for _ in range(boots):
                ok, seconds, detail = boot_once(config, kernel, initrd, timeout_s=timeout_s)
                attempts.append(ProbeAttempt(config.cpu, config.append, config.accel, ok, round(seconds, 2), detail))
                if not ok:
                    break
                good += 1
            if good == boots:
                return AccelDecision(config, f"KVM boots a Linux guest here (-cpu {config.cpu})",
                                     tuple(attempts), now)
        why_not = "no KVM configuration booted the kernel to init: " + "; ".join(
            f"-cpu {a.cpu}: {a.detail}" for a in attempts)
    return AccelDecision(TCG_CONFIG, f"emulated (TCG): {why_not}", tuple(attempts), now)


# --------------------------------------------------------------------------------------------------
# The backend
# --------------------------------------------------------------------------------------------------


@dataclass
class _State:
    decision: AccelDecision | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class MicroVmBackend(Backend):
    """qemu-system-x86_64 ``-M microvm`` booting a Debian kernel into rtadvisor's initramfs."""

    name = "microvm"
    family: Family = "vm"

    def __init__(self) -> None:
        self._state = _State()

    @staticmethod
    def paths(assets: Assets) -> dict[str, Path]:
        base = assets.dir("microvm")
        return {"base": base, "kernel": base / "kernel" / "vmlinux", "hello": base / "initrd-hello.cpio.gz",
                "idle": base / "initrd-idle.cpio.gz", "measure": base / "initrd-measure.cpio.gz",
                "accel": base / "accel.json"}

    def cached_decision(self, assets: Assets) -> AccelDecision | None:
        """The boot-probe result for the current kernel + QEMU, if prepare() has run (reads a file)."""
        if self._state.decision is not None:
            return self._state.decision
        try:
            decision = AccelDecision.from_json(self.paths(assets)["accel"].read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self._state.decision = decision
        return decision

    def probe(self) -> Availability:
        qemu = shutil.which(QEMU)
        if qemu is None:
            return Availability.missing(self.name, QEMU)
        if find_busybox() is None:
            return Availability(name=self.name, usable=False, binary=qemu,
                                reason="busybox-static not installed on this node (needed for the initramfs)")
        assets = Assets()
        paths = self.paths(assets)
        if not paths["kernel"].exists() and (shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None):
            return Availability(name=self.name, usable=False, binary=qemu,
                                reason="no guest kernel built and apt-get/dpkg-deb unavailable to fetch one")
        decision = self.cached_decision(assets)
        if decision is None:
            why = kvm_usable()
            notes: tuple[str, ...] = (("accelerator not probed yet (prepare runs a boot probe); "
                                       + (f"TCG: {why}" if why else "KVM will be tried first")),)
            emulated = True
        else:
            notes = (decision.reason,)
            emulated = decision.emulated
        return Availability(name=self.name, usable=True, binary=qemu, version=qemu_version(), notes=notes,
                            emulated=emulated)

    def prepare(self, assets: Assets) -> None:
        from rtadvisor.workloads import ensure_built

        busybox = find_busybox()
        if busybox is None:
            raise BenchError("busybox-static is not installed on this node (needed for the initramfs)")
        ensure_built(assets, wasm=False)
        paths = self.paths(assets)
        paths["base"].mkdir(parents=True, exist_ok=True)
        kernel = ensure_kernel(paths["base"])
        programs = {w: assets.native(w).read_bytes() for w in ("hello", "idle", "measure")
                    if assets.native(w).is_file() and is_static_elf(assets.native(w))}
        if not {"hello", "idle"} <= set(programs):
            programs = {}
        bb = busybox.read_bytes()
        for workload in ("hello", "idle", "measure"):
            if workload == "measure" and "measure" not in programs:
                continue  # supports() says why
            # only the workload's own program: less to decompress in an emulated guest
            own = {workload: programs[workload]} if programs else {}
            data = initramfs(workload, busybox=bb, programs=own)
            target = paths[workload]
            if not target.exists() or target.read_bytes() != data:
                staged = target.with_name(f".{target.name}.{os.getpid()}")
                staged.write_bytes(data)
                os.replace(staged, target)
        key = hashlib.sha256(f"{ASSET_VERSION}|{(kernel.parent / 'package').read_text().strip()}|"
                             f"{qemu_version()}|{kvm_usable()}".encode()).hexdigest()[:16]
        cached = self.cached_decision(assets)
        if cached is None or cached.key != key:
            decision = probe_accelerator(kernel, paths["hello"])
            decision = AccelDecision(decision.config, decision.reason, decision.attempts, decision.probed_at, key)
            staged = paths["accel"].with_name(f".accel.json.{os.getpid()}")
            staged.write_text(decision.to_json())
            os.replace(staged, paths["accel"])
            self._state.decision = decision

    def supports(self, workload: str, assets: Assets) -> str | None:
        if workload == "user":
            return "microvm runs the built-in workloads only (no user kernel/initramfs option)"
        if workload == "measure":
            if not self.paths(assets)["measure"].is_file():
                return "the measure initramfs is not built (run `rtadvisor prepare`; it needs the static measure binary)"
            return None
        return None if workload in ("hello", "idle") else f"unknown workload {workload!r}"

    def plan(self, workload: str, assets: Assets, workdir: Path, *, instance_id: str) -> LaunchPlan:
        if workload not in ("hello", "idle", "measure"):
            raise ValueError(f"microvm cannot run workload {workload!r}")
        paths = self.paths(assets)
        decision = self._state.decision  # set by prepare()/cached_decision(); TCG until proven otherwise
        config = decision.config if decision is not None else TCG_CONFIG
        emulated = config.accel == "tcg"
        argv = qemu_argv(config, paths["kernel"], paths[workload], name=instance_id)
        command = Command(argv, cwd=workdir, timeout_s=120 if emulated else 60)
        what = "software emulation (TCG), EMULATED" if emulated else "KVM"
        labels: dict[str, str | bool | int] = {"emulated": emulated, "accel": config.accel, "cpu": config.cpu}
        if workload == "measure":
            # The guest's /init runs /measure on the serial console: the host's lines reach it
            # through QEMU's stdin, its lines come back on QEMU's stdout. No disk is attached, so
            # its scratch directory is the initramfs (guest RAM). tsc=reliable: under TCG the
            # clocksource watchdog marks the TSC unstable and the guest falls back to jiffies
            # (4 ms resolution), too coarse for ~10 ms samples; the TSC follows host time here.
            timed = AccelConfig(config.accel, config.cpu, config.machine, (config.append + " tsc=reliable").strip())
            command = Command(qemu_argv(timed, paths["kernel"], paths[workload], name=instance_id), cwd=workdir,
                              timeout_s=command.timeout_s)
            return LaunchPlan(
                workload=workload,
                stages=(Stage("measure", command),),
                cmdline_markers=(instance_id,),
                artifacts=(paths["kernel"], paths["measure"]),
                labels={**labels, "measure_dir": "/tmp",
                        "storage": "guest RAM (initramfs root: no disk is attached to the micro-VM)"},
                method=f"qemu -M microvm ({what}, {MEMORY}): /init runs /measure on the serial console, then powers off",
                self_report_prefix=SELF_REPORT_PREFIX,
            )
        if workload == "hello":
            stage = Stage("boot_run_poweroff", command)
            method = (f"qemu -M microvm ({what}, {MEMORY}): spawn to VM exit after /init printed and rebooted; "
                      "guest_boot_to_init_ms is the guest's uptime when /init starts")
        else:
            stage = Stage("boot_to_ready", command, ready_line=IDLE_READY)
            method = f"qemu -M microvm ({what}, {MEMORY}) until /init prints its ready line"
        return LaunchPlan(
            workload=workload,
            stages=(stage,),
            expected_stdout=HELLO_OUTPUT if workload == "hello" else None,
            cmdline_markers=(instance_id,),
            artifacts=(paths["kernel"], paths[workload]),
            labels=labels,
            method=method,
            self_report_prefix=SELF_REPORT_PREFIX,
        )


register(MicroVmBackend())
