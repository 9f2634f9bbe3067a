"""The backend interface: how a runtime says whether it is usable here and how to launch a workload.

A backend *plans*; the bench harness (:mod:`rtadvisor.bench.harness`) *runs*. Planning is pure
(argv, env, files, no processes), so it is unit-testable; running happens once, in the harness,
with timeouts, kill-on-error and cleanup that always runs (also on Ctrl-C).

Writing a backend (one module per runtime family, e.g. ``backends/oci.py``)::

    from rtadvisor.backends import register
    from rtadvisor.backends.base import (Assets, Availability, Backend, Command, LaunchPlan, Stage,
                                         HELLO_OUTPUT, IDLE_READY)

    class RuncBackend(Backend):
        name = "runc"; family = "container"   # what it stands for: rtadvisor.model.STAND_INS

        def probe(self) -> Availability:            # cheap, no side effects
            ...
        def prepare(self, assets: Assets) -> None:  # idempotent; may run processes
            ...                                     # build under assets.dir("oci")
        def plan(self, workload, assets, workdir, *, instance_id) -> LaunchPlan:   # PURE
            return LaunchPlan(
                workload=workload,
                stages=(Stage("run", Command(("runc", "run", "--bundle", str(b), instance_id))),),
                cleanup=(Command(("runc", "delete", "-f", instance_id), check=False),),
                expected_stdout=HELLO_OUTPUT if workload == "hello" else None,
                cmdline_markers=(instance_id,),
                artifacts=(assets.dir("oci") / "rootfs",),
            )

    register(RuncBackend())

Contract, in the order the harness uses it:

* :meth:`Backend.probe` -> :class:`Availability`: ``usable`` plus ``binary``, ``version``, and a
  ``reason`` whenever it is not usable ("runc not installed on this node"). Cheap and side-effect
  free: it may run ``X --version`` but never builds or starts anything. "Usable" means installed
  and the assets either built or buildable (toolchain present); the harness calls ``prepare``.
* :meth:`Backend.prepare` (idempotent): builds whatever the backend needs under
  ``assets.dir("<backend>")`` (a per-user cache dir, ``$XDG_CACHE_HOME/rtadvisor/assets``). The
  built-in workloads (``hello``/``idle``, native and wasm32-wasi) are built by
  :func:`rtadvisor.workloads.ensure_built`; call it first and use ``assets.native(w)`` /
  ``assets.wasm(w)``.
* :meth:`Backend.plan` (PURE) -> :class:`LaunchPlan` for one instance of a workload:

  - ``"hello"`` prints :data:`HELLO_OUTPUT` and exits 0 (timed for cold start, CPU, PSS peak);
  - ``"idle"`` prints :data:`IDLE_READY` on a line, then sleeps forever; its *last* stage must set
    ``ready_line=IDLE_READY`` so the harness holds the instance while it measures memory, then runs
    the cleanup;
  - ``"user"``: the user's artifact (``assets.user_wasm`` / ``user_oci_layout`` / ``user_rootfs``);
    output is not checked, exit status 0 is. :meth:`Backend.supports` says why not, if not.

  ``workdir`` is a fresh private directory for this instance (removed by the harness afterwards);
  ``instance_id`` is unique per instance and host-wide (safe as a container/VM name).
* Timed stages run in order; each stage is one :class:`Command` (the harness spawns it in its own
  process group and waits for exit, or for ``ready_line``). The cold start is the sum of the stages.
  Setup commands run before, untimed; cleanup commands ALWAYS run afterwards (errors ignored
  unless ``check=True``), then the harness SIGKILLs every process group it started, and reaps.
* In-process engines (wasmtime) set ``LaunchPlan.in_process`` to an :class:`InProcessRun`: a
  callable the harness calls with a :class:`StageTimer`; it wraps each named stage in
  ``with timer.stage("compile"): ...`` and returns the captured stdout. Its
  ``cold_start_stages`` names the stages whose sum is the reported cold start; set
  ``LaunchPlan.whole_process`` to a process-based plan doing the same work end to end.
* :meth:`Backend.session` (optional): a context manager for helpers shared by all runs of a
  measurement (a private containerd daemon); entered after ``prepare``, always exited at the end.
* Memory: the harness sums PSS (``/proc/PID/smaps_rollup``) over the process trees of every
  launched stage process, of the pids written to ``pid_files`` and of every host process whose
  command line contains one of ``cmdline_markers`` (e.g. the container id: finds the runsc
  sandbox/gofer, the containerd shim, qemu) -- de-duplicated.
* Artifact size: bytes of ``artifacts`` (files, or directories summed recursively, hard links once).
* ``labels`` are shown beside the figures: ``{"emulated": True}`` (TCG), ``{"cache": "warm"}``...

A backend whose ``pack_plan`` returns a plan (wasmtime) can also run N idle instances inside ONE
process; the harness then sweeps N for it too and reports the packed per-instance cost beside the
one-process-per-instance cost.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rtadvisor.model import StandIn, primary_runtime, stand_ins

Family = Literal["native", "container", "sandbox", "vm", "wasm"]
WorkloadName = Literal["hello", "idle", "user"]
WORKLOADS: tuple[str, ...] = ("hello", "idle", "user")

#: What the built-in ``hello`` workload prints (one line) before exiting 0.
HELLO_OUTPUT = "hello from rtadvisor"
#: The line the built-in ``idle`` workload prints when it is up; it then sleeps until killed.
IDLE_READY = "rtadvisor-idle-ready"


@dataclass(frozen=True)
class Availability:
    """Whether a backend can run on this node, and if not, why (never a made-up number)."""

    name: str
    usable: bool
    binary: str | None = None
    version: str | None = None
    reason: str | None = None
    notes: tuple[str, ...] = ()  # e.g. ("emulated (TCG): /dev/kvm cannot boot a Linux guest here",)
    emulated: bool = False

    @classmethod
    def missing(cls, name: str, what: str) -> Availability:
        """The usual "not installed on this node" answer."""
        return cls(name=name, usable=False, reason=f"{what} not installed on this node")


def default_cache_dir() -> Path:
    """``$RTADVISOR_CACHE`` or ``$XDG_CACHE_HOME/rtadvisor/assets`` (default ``~/.cache/...``)."""
    explicit = os.environ.get("RTADVISOR_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rtadvisor" / "assets"


@dataclass(frozen=True)
class Assets:
    """Where built assets live, plus the user's own artifacts (``bench --wasm/--oci-layout/--rootfs``)."""

    root: Path = field(default_factory=default_cache_dir)
    user_wasm: Path | None = None
    user_oci_layout: Path | None = None  # an OCI image layout directory or a tar of one
    user_rootfs: Path | None = None

    def dir(self, component: str) -> Path:
        """A backend's private asset directory, e.g. ``assets.dir("oci")`` (not created here)."""
        return self.root / component

    def native(self, workload: str) -> Path:
        """The native executable of a built-in workload (``hello``/``idle``), static if possible."""
        return self.root / "native" / workload

    def wasm(self, workload: str) -> Path:
        """The wasm32-wasi module of a built-in workload (``hello``/``idle``)."""
        return self.root / "wasm" / f"{workload}.wasm"


@dataclass(frozen=True)
class Command:
    """One process to run. ``env`` entries are laid over the harness's environment (None = inherit)."""

    argv: tuple[str, ...]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    timeout_s: float = 60.0
    stdin: bytes | None = None
    check: bool = True  # a non-zero exit is an error (cleanup commands usually say False)


@dataclass(frozen=True)
class Stage:
    """A timed step. Without ``ready_line`` it ends when the process exits; with one, when that
    line appears on stdout (the process then keeps running until cleanup)."""

    name: str
    command: Command
    ready_line: str | None = None


class StageTimer(ABC):
    """Given by the harness to in-process runs: ``with timer.stage("compile"): ...``."""

    @abstractmethod
    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the enclosed block as stage ``name``."""
        yield  # pragma: no cover


class SimpleStageTimer(StageTimer):
    """A plain perf_counter timer (the harness's own; also handy in tests and scripts)."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}  # name -> wall milliseconds
        self.cpu: dict[str, float] = {}  # name -> CPU milliseconds of the whole process (all threads)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        cpu_start = time.process_time_ns()
        start = time.perf_counter_ns()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + (time.perf_counter_ns() - start) / 1e6
            self.cpu[name] = self.cpu.get(name, 0.0) + (time.process_time_ns() - cpu_start) / 1e6


@dataclass(frozen=True)
class InProcessRun:
    """An in-process launch (embedded engine): ``run(timer)`` returns the captured stdout."""

    run: Callable[[StageTimer], str]
    cold_start_stages: tuple[str, ...]  # whose sum is the reported cold start
    description: str = ""


@dataclass(frozen=True)
class LaunchPlan:
    """Everything the harness needs to launch, time, measure and clean up one instance."""

    workload: str
    stages: tuple[Stage, ...] = ()
    setup: tuple[Command, ...] = ()
    cleanup: tuple[Command, ...] = ()
    in_process: InProcessRun | None = None
    expected_stdout: str | None = None  # must appear in the stages' combined stdout
    pid_files: tuple[Path, ...] = ()
    cmdline_markers: tuple[str, ...] = ()
    artifacts: tuple[Path, ...] = ()
    labels: Mapping[str, str | bool | int] = field(default_factory=dict)
    method: str = ""  # one line for the output: what exactly is timed
    # For in-process plans: the same work done by a fresh process (interpreter start-up included),
    # timed beside the in-process figure so nobody mistakes one for the other.
    whole_process: LaunchPlan | None = None
    # stdout lines "<prefix>{json}" carry stage times (ms) measured inside the runtime itself (e.g.
    # node's compile/instantiate/start); shown beside the wall-clock stages, never summed into them.
    self_report_prefix: str | None = None

    def __post_init__(self) -> None:
        if not self.stages and self.in_process is None:
            raise ValueError("a LaunchPlan needs stages or an in_process run")


class Backend(ABC):
    """One runtime under one interface; see the module docstring for the contract."""

    name: str
    family: Family

    @property
    def kb_runtime(self) -> str | None:
        """The knowledge-base runtime this backend's figures evidence most directly. Not declared per
        backend: the one registry (:data:`rtadvisor.model.STAND_INS`) says it, and in what sense."""
        return primary_runtime(self.name)

    @property
    def stands_for(self) -> tuple[StandIn, ...]:
        """Every registry entry of this backend (which runtime, in what sense), strongest first."""
        return stand_ins(backend=self.name)

    @abstractmethod
    def probe(self) -> Availability:
        """Is this backend usable here? Cheap and side-effect free."""

    @abstractmethod
    def prepare(self, assets: Assets) -> None:
        """Build what the backend needs under ``assets.root`` (idempotent)."""

    @abstractmethod
    def plan(self, workload: str, assets: Assets, workdir: Path, *, instance_id: str) -> LaunchPlan:
        """A launch plan for one instance of ``workload`` (PURE: no processes, no files)."""

    def session(self, assets: Assets) -> AbstractContextManager[None]:
        """Long-lived helpers shared by all the runs of one measurement (e.g. a private containerd).

        The harness enters it after :meth:`prepare` and before the first plan is *run*, and always
        exits it (also on error or Ctrl-C) after the last instance is cleaned up. Plans are built
        inside it, so they may refer to what it started. Default: nothing.
        """
        return nullcontext()

    def supports(self, workload: str, assets: Assets) -> str | None:
        """None if this backend can run ``workload`` with these assets, else the reason why not.
        The isolation/overhead workload (``measure``) is planned only by backends that say so."""
        if workload == "user":
            return f"{self.name} cannot run a user artifact"
        if workload == "measure":
            return f"{self.name} does not plan the built-in measure workload"
        return None

    def pack_plan(self, count: int, assets: Assets, workdir: Path, *, instance_id: str) -> LaunchPlan | None:
        """A plan holding ``count`` idle instances in ONE process (Wasm engines), or None."""
        return None

    def __repr__(self) -> str:
        return f"<backend {self.name} ({self.family})>"


# ---------------------------------------------------------------------------------------- ownership
#
# What a bench creates on the host (processes, cgroups, container ids, VMs, temp dirs) carries its
# owner's tag, so that after a SIGKILL the next run (or ``rtadvisor bench cleanup``) can remove
# exactly what a *dead* rtadvisor left, and never what a live one still uses.

#: ``rtadv-<owner pid>-<owner start ticks>-<6 hex>``; see :func:`owner_tag`.
OWNER_TAG_PREFIX = "rtadv-"
#: The file naming the owner of a private directory (see :func:`mark_owned`).
OWNER_FILE = ".rtadvisor-owner"


def process_start_ticks(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot, /proc/PID/stat field 22); None if it is gone.

    (pid, start ticks) names a process for good: a recycled pid has another start time."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip() or None
    except OSError:
        return None


def owner_tag(pid: int | None = None) -> str:
    """A new tag owned by this process: the prefix of instance ids and the token in the environment
    of every process a bench starts (``rtadv-<pid>-<start ticks>-<6 hex>``, 20-30 characters)."""
    pid = os.getpid() if pid is None else pid
    return f"{OWNER_TAG_PREFIX}{pid}-{process_start_ticks(pid) or 0}-{os.urandom(3).hex()}"


def mark_owned(directory: Path, tag: str | None = None) -> None:
    """Record in ``directory`` that this process owns it, so that a later run can remove it if this
    process dies without cleaning up (the file goes away with the directory)."""
    import json

    pid = os.getpid()
    record = {"pid": pid, "start_ticks": process_start_ticks(pid), "boot_id": boot_id(), "tag": tag,
              "created": time.time()}
    staged = directory / f"{OWNER_FILE}.{pid}"
    staged.write_text(json.dumps(record), encoding="utf-8")
    os.replace(staged, directory / OWNER_FILE)
