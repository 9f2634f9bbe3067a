"""The built-in benchmark workloads, built from C source on this node.

* ``hello`` prints :data:`~rtadvisor.backends.base.HELLO_OUTPUT` and exits 0 (cold start probe);
* ``idle`` prints :data:`~rtadvisor.backends.base.IDLE_READY` then sleeps until killed (density probe);
* ``measure`` is the isolation probe and the steady-state micro-benchmarks (null call, file
  write+fsync, file read, epoll ping-pong, io_uring NOP, loopback TCP, CPU loop), driven by a line
  protocol on stdin/stdout (see ``measure.c`` and :mod:`rtadvisor.bench.measure`). Its wasm32-wasi
  build runs the subset WASI preview1 can express and reports the rest as "not expressible".

All are compiled natively (static when the C library allows it, so the same binary runs inside a
busybox rootfs) and to wasm32-wasi with Debian's clang + wasi-libc, exactly as
``clang --target=wasm32-wasi -O2 -Wl,--strip-all`` (no ``--sysroot``: Debian's clang finds
wasi-libc itself). Builds are idempotent: an output is rebuilt only when its source or command line
changed (a stamp holds their hash), and written atomically so concurrent ``prepare`` runs are safe.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rtadvisor.backends.base import Assets
from rtadvisor.errors import BenchError

BUILTIN: tuple[str, ...] = ("hello", "idle", "measure")


@dataclass(frozen=True)
class BuildReport:
    """What :func:`ensure_built` did: paths built now and paths already up to date."""

    built: tuple[Path, ...]
    fresh: tuple[Path, ...]


def source(workload: str) -> str:
    """The C source of a built-in workload."""
    if workload not in BUILTIN:
        raise BenchError(f"unknown built-in workload {workload!r}: expected one of {', '.join(BUILTIN)}")
    return resources.files(__name__).joinpath(f"{workload}.c").read_text(encoding="utf-8")


def clang() -> str | None:
    """Path of clang, or None."""
    return shutil.which("clang")


def wasi_toolchain_missing() -> str | None:
    """None when clang can build wasm32-wasi modules here, else what is missing (cheap check)."""
    if clang() is None:
        return "clang not installed on this node (Debian package clang)"
    # Debian's wasi-libc lives under /usr/lib/wasm32-wasi (crt1-command.o is what a command links).
    candidates = [Path("/usr/lib/wasm32-wasi/crt1-command.o"), Path("/usr/lib/wasm32-wasi/crt1.o")]
    if not any(p.exists() for p in candidates):
        return "wasi-libc not installed on this node (Debian package wasi-libc)"
    return None


def _native_commands(src: Path, out: Path) -> list[list[str]]:
    cc = clang() or shutil.which("cc") or "cc"
    return [[cc, "-O2", "-static", "-o", str(out), str(src)], [cc, "-O2", "-o", str(out), str(src)]]


def _wasm_commands(src: Path, out: Path) -> list[list[str]]:
    return [[clang() or "clang", "--target=wasm32-wasi", "-O2", "-Wl,--strip-all", "-o", str(out), str(src)]]


_CommandsFor = Callable[[Path, Path], list[list[str]]]


def _build_one(workload: str, out: Path, make: _CommandsFor) -> bool:
    """Build ``out`` if stale; True if it was (re)built."""
    text = source(workload)
    out.parent.mkdir(parents=True, exist_ok=True)
    stamp = out.with_name(out.name + ".stamp")
    # ``make`` gives alternative command lines, the first that works wins; they are part of the key.
    key = hashlib.sha256((text + repr(make(Path("SRC"), Path("OUT")))).encode()).hexdigest()
    if out.exists() and stamp.exists() and stamp.read_text().strip() == key:
        return False
    with tempfile.TemporaryDirectory(prefix="rtadvisor-build-") as tmp:
        src = Path(tmp) / f"{workload}.c"
        src.write_text(text, encoding="utf-8")
        tmp_out = Path(tmp) / out.name
        errors: list[str] = []
        for argv in make(src, tmp_out):
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                errors.append(f"{argv[0]}: {exc}")
                continue
            if proc.returncode == 0 and tmp_out.exists():
                break
            errors.append((proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1])
        else:
            raise BenchError(f"cannot build workload {workload!r} ({out.name}): {'; '.join(errors)}")
        # Atomic replace: a concurrent prepare or a running bench never sees a half-written file.
        staged = out.with_name(f".{out.name}.{os.getpid()}")
        shutil.copy2(tmp_out, staged)
        os.chmod(staged, 0o755)
        os.replace(staged, out)
    stamp.write_text(key + "\n")
    return True


def ensure_built(assets: Assets, *, native: bool = True, wasm: bool = True) -> BuildReport:
    """Build the built-in workloads under ``assets.root`` if they are missing or stale."""
    built: list[Path] = []
    fresh: list[Path] = []
    for workload in BUILTIN:
        targets: list[tuple[Path, _CommandsFor]] = []
        if native:
            targets.append((assets.native(workload), _native_commands))
        if wasm:
            missing = wasi_toolchain_missing()
            if missing:
                raise BenchError(f"cannot build wasm32-wasi workloads: {missing}")
            targets.append((assets.wasm(workload), _wasm_commands))
        for out, make in targets:
            (built if _build_one(workload, out, make) else fresh).append(out)
    return BuildReport(built=tuple(built), fresh=tuple(fresh))
