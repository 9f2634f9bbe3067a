"""Isolation, measured: how much of the host kernel one sandbox exposes to its workload.

Method (after Anjali, Caraza-Harter and Swift, "Blending Containers and Virtual Machines: A Study
of Firecracker and gVisor", VEE 2020, who measured the host-kernel code each platform executes for
the same workload), written into every result's ``method``:

* **host system calls**: every system call the host kernel *executes* for the sandbox's host
  processes -- the workload itself, the runtime, shim, gVisor's Sentry/gofer, the VMM, the engine
  (the private containerd daemon; the in-process wasmtime engine is the bench process itself) --
  from the ``raw_syscalls:sys_enter`` tracepoint in a private tracefs instance that follows forks
  (``set_event_pid`` + ``event-fork``), so processes forked by a daemon are followed from birth.
  Two windows: ``startup`` (spawn until the probe says it is ready: creating the sandbox) and
  ``workload`` (the probe's fixed mix of file, poll, socket, io_uring, memory and sleep calls,
  between two handshakes on stdin, nothing else). A user artifact has one ``lifecycle`` window.
  Under gVisor's ptrace platform the application's system-call *instruction* still traps into the
  host kernel (PTRACE_SYSEMU), but the host does not execute the call; the tracepoint fires only
  for calls the host executes.
* **pass-through**: the probe calls ``getpriority(PRIO_PROCESS, 0x52544144)``, a call nothing else
  makes with that argument. If the trace holds it, from any host process, the host kernel executed
  the workload's own call with the workload's own arguments. WASI cannot issue a raw system call:
  "not expressible" (the engine makes every host call on the module's behalf).
* **host kernel functions**: the ``function`` tracer filtered to the sandbox's tasks
  (``set_ftrace_pid`` + ``function-fork``), where the kernel allows it; where it does not, the
  result says so and why (this node's kernel is locked down and refuses it; KPROBES are off).
* **confinement**: ``/proc/PID/status`` of every host process while the probe waits to start:
  seccomp mode and number of filters, no_new_privs, effective capabilities, and whether the process
  shares the host's user/PID/network namespaces.

What it can and cannot show: fewer host system calls is less *exposure* (less host-kernel code the
sandbox can drive), not a proof of isolation: one reachable kernel bug is enough, a filtered call
can still be exploitable, and a VMM's exposure includes KVM itself (absent under TCG emulation, so
an emulated VM's figures are a lower bound for a KVM one).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from rtadvisor.model import (
    Confinement,
    IsolationResult,
    IsolationRole,
    KernelFunctions,
    MeasureStatus,
    PassThrough,
    ProcessExposure,
    SyscallCount,
    SyscallWindow,
)

from .tracefs import ParsedTrace, SyscallEvent, syscall_name, syscall_number

#: The recognisable argument of the probe's rare call (``"RTAD"``); also in ``workloads/measure.c``.
PROBE_MAGIC = 0x52544144
PROBE_CALL = f"getpriority(PRIO_PROCESS, {PROBE_MAGIC:#x})"
#: How many system calls each per-process breakdown lists (all are counted).
TOP_CALLS = 12

Status = MeasureStatus
Role = IsolationRole
#: The typed sections live in the model (every layer reads them from a stored BenchResult); this
#: module measures and analyses. ``Window`` is :class:`rtadvisor.model.SyscallWindow`.
Window = SyscallWindow

__all__ = ["PROBE_CALL", "PROBE_MAGIC", "Confinement", "IsolationResult", "KernelFunctions", "PassThrough",
           "ProcessExposure", "SyscallCount", "Window", "classify", "pass_through", "read_confinement",
           "window_exposure"]


# ------------------------------------------------------------------------------------ /proc facts


@lru_cache(maxsize=1)
def capability_names() -> dict[int, str]:
    """Capability bit -> name, from the kernel headers (``linux/capability.h``); bits otherwise."""
    try:
        text = Path("/usr/include/linux/capability.h").read_text()
    except OSError:
        return {}
    return {int(bit): name for name, bit in re.findall(r"#define\s+(CAP_[A-Z_]+)\s+(\d+)\s*$", text, re.MULTILINE)}


def decode_capabilities(mask: int) -> tuple[str, ...]:
    names = capability_names()
    return tuple(names.get(bit, f"cap_{bit}") for bit in range(64) if mask >> bit & 1)


def _last_cap() -> int:
    try:
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        return max(capability_names(), default=40)


_SECCOMP = {"0": "disabled", "1": "strict", "2": "filter"}


def read_confinement(pid: int, role: Role, *, exe: str | None = None) -> Confinement | None:
    """The confinement of a live process, or None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    get = {k: v.strip() for k, v in fields.items()}
    cap_eff = int(get.get("CapEff", "0"), 16)
    full = (1 << (_last_cap() + 1)) - 1
    shared: list[str] = []
    for ns in ("user", "pid", "net", "mnt"):
        try:
            if os.readlink(f"/proc/{pid}/ns/{ns}") == os.readlink(f"/proc/1/ns/{ns}"):
                shared.append(ns)
        except OSError:
            continue
    filters = get.get("Seccomp_filters")
    return Confinement(
        pid=pid, comm=get.get("Name", "?"), exe=exe or _exe(pid), role=role,
        uid=int(get["Uid"].split()[1]) if get.get("Uid") else None,
        seccomp=_SECCOMP.get(get.get("Seccomp", "")),  # type: ignore[arg-type]
        seccomp_filters=int(filters) if filters and filters.isdigit() else None,
        no_new_privs=get.get("NoNewPrivs") == "1" if "NoNewPrivs" in get else None,
        capabilities=decode_capabilities(cap_eff),
        all_capabilities=cap_eff & full == full,
        host_namespaces=tuple(shared),
    )


def _exe(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def cmdline(pid: int) -> tuple[str, ...]:
    try:
        return tuple(a.decode(errors="replace") for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a)
    except OSError:
        return ()


def classify(comm: str, exe: str | None, argv: Iterable[str] = ()) -> Role:
    """The role of a host process of a sandbox, from its name, executable and arguments."""
    base = os.path.basename(exe or "") or comm
    args = tuple(argv)
    if base == "measure" or comm == "measure":
        return "workload"
    if base.startswith("containerd-shim") or comm.startswith("containerd-shim"):
        return "shim"
    if base == "containerd" or comm == "containerd":
        return "engine"
    if base == "ctr" or comm == "ctr":
        return "client"
    if base.startswith("qemu-system") or comm.startswith("qemu-system"):
        return "vmm"
    if base in ("node", "python", "python3") or base.startswith("python3") or comm in ("node", "python3"):
        return "engine"
    if base in ("runsc", "exe") or "runsc" in base or comm.startswith("runsc"):
        if "gofer" in args or comm.startswith("runsc-gofer"):
            return "gofer"
        if "boot" in args or comm.startswith("runsc-sandbox") or comm == "exe":
            return "sandbox kernel"
        return "runtime"
    if base in ("runc", "crun") or comm in ("runc", "crun", "runc:[2:INIT]") or comm.startswith("runc:"):
        return "runtime"
    if base in ("sh", "dash", "bash", "unshare", "busybox") or comm in ("sh", "unshare"):
        return "launcher"
    return "other"


# ------------------------------------------------------------------------------------ analysis


def _counts(events: Iterable[SyscallEvent]) -> Counter[int]:
    return Counter(e.nr for e in events)


def _top(counter: Counter[int], limit: int | None = None) -> tuple[SyscallCount, ...]:
    items = sorted(counter.items(), key=lambda kv: (-kv[1], syscall_name(kv[0])))
    if limit is not None:
        items = items[:limit]
    return tuple(SyscallCount(name=syscall_name(nr), count=n) for nr, n in items)


def process_of(event: SyscallEvent, trace: ParsedTrace) -> int:
    """The process (thread-group id) an event belongs to."""
    if event.tgid is not None and event.tgid > 0:
        return event.tgid
    return trace.tgids.get(event.pid, event.pid)


def window_exposure(trace: ParsedTrace, window: str, *, what: str, exclude: Iterable[int] = (),
                    roles: Mapping[int, Role] | None = None, exes: Mapping[int, str] | None = None,
                    duration_ms: float | None = None) -> Window:
    """Host system calls of one window, per process and in total. ``exclude``: task ids that are not
    the sandbox's (the bench's own thread, which had to be followed so its children are)."""
    skip = set(exclude)
    events = [e for e in trace.syscalls if e.window == window and e.pid not in skip]
    by_process: dict[int, list[SyscallEvent]] = {}
    for event in events:
        by_process.setdefault(process_of(event, trace), []).append(event)
    processes: list[ProcessExposure] = []
    for tgid, evs in sorted(by_process.items(), key=lambda kv: -len(kv[1])):
        counts = _counts(evs)
        comm = trace.comms.get(tgid) or evs[-1].comm
        exe = (exes or {}).get(tgid) or trace.execs.get(tgid)
        role = (roles or {}).get(tgid) or classify(comm, exe)
        processes.append(ProcessExposure(pid=tgid, comm=comm, exe=exe, role=role, syscalls=len(evs),
                                         distinct=len(counts), top=_top(counts, TOP_CALLS)))
    total = _counts(events)
    return Window(name=window, what=what, syscalls=len(events), distinct=len(total),  # type: ignore[arg-type]
                  by_syscall=_top(total), processes=tuple(processes), duration_ms=duration_ms)


def pass_through(trace: ParsedTrace, window: str, *, expressible: bool, inside: str | None,
                 exclude: Iterable[int] = (), roles: Mapping[int, Role] | None = None) -> PassThrough:
    """Did the host kernel execute the probe's own ``getpriority(PRIO_PROCESS, MAGIC)``?"""
    if not expressible:
        return PassThrough(probe=PROBE_CALL, outcome="not expressible", inside=inside,
                           detail="WASI has no raw system calls: the module cannot ask the host kernel for "
                                  "getpriority at all; the engine makes every host call on its behalf")
    nr = syscall_number("getpriority")
    skip = set(exclude)
    hits = [e for e in trace.syscalls if e.window == window and e.pid not in skip and e.nr == nr
            and len(e.args) > 1 and e.args[1] == PROBE_MAGIC]
    if hits:
        seen = sorted({f"{e.comm} (pid {process_of(e, trace)}, {(roles or {}).get(process_of(e, trace), 'workload')})"
                       for e in hits})
        return PassThrough(probe=PROBE_CALL, outcome="passed through", seen_in=tuple(seen), inside=inside,
                           detail=f"the host kernel executed {PROBE_CALL} itself, with the workload's own argument")
    return PassThrough(probe=PROBE_CALL, outcome="not passed through", inside=inside,
                       detail=f"no host process made {PROBE_CALL} while the probe ran: the sandbox's own kernel "
                              f"answered it" + (f" ({inside})" if inside else ""))
