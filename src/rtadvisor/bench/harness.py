"""The bench harness: runs launch plans, times them, measures memory, cleans up whatever happens.

Method (also written into every result's ``method`` so the output says it):

* **Cold start (S)**: one first run after ``prepare`` (reported apart as ``first_run_ms``: page cache
  as prepare left it), warm-ups discarded, then timed runs of the ``hello`` workload, each a fresh
  instance (new process / container / VM / Wasm instance): wall-clock time from spawning the first
  timed stage to the exit of the last (per stage too), summarised as min/p50/p95/max with a
  distribution-free 95% CI of the median. Sampling is adaptive (see :func:`sample_cold_starts`):
  a backend stops once the CI of its median is within +-``ci_target_pct`` % of the median after at
  least ``min_runs`` runs, or at the ``runs`` cap, or when its time runs out -- and says which.
  Page caches are never dropped: that would disturb other tenants.
* **Budget**: ``budget_s`` bounds the whole bench. Before each backend starts, it gets an equal share
  of what is left (so time a quick backend does not need goes to the ones after it); VM backends
  run last and so get whatever the others left. ``prepare`` (building assets, once per machine) is
  not counted. ``time_budget_s`` caps each backend's cold-start sampling on top of that.
* **CPU (the sources' "CPU spike")**: user+system time of the launched processes and every
  descendant they waited for (``wait4`` rusage); work done by an already-running daemon
  (containerd) is not in it and the method says so.
* **Memory (M)**: ``idle`` instances are started one after another and held; at each N of the sweep
  the PSS of every host process of every instance (process trees, pid files, command-line markers)
  is summed from ``/proc/PID/smaps_rollup``. ``pss_mb`` is the total at N=1; ``per_instance_mb`` the
  least-squares slope over N; the drop of ``MemAvailable`` is fitted the same way as a cross-check.
* **Artifact size (V)**: bytes of the plan's artifacts (hard links counted once).
* **Density (D)**: min(memory capacity = MemAvailable at start / per-instance MB, Kubernetes
  maxPods, pid limit = min(pid_max, threads-max) / tasks per instance), each shown, binding named.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from rtadvisor.backends.base import (
    OWNER_TAG_PREFIX,
    Assets,
    Backend,
    LaunchPlan,
    SimpleStageTimer,
    mark_owned,
)
from rtadvisor.errors import BenchError, RtadvisorError
from rtadvisor.model import (
    BenchDensity,
    BenchMemory,
    BenchMemoryPoint,
    BenchResult,
    BenchSampling,
    BenchSettings,
    BenchStats,
    IsolationResult,
    OverheadResult,
    StopReason,
    primary_runtime,
    stand_ins,
)

from . import interrupts, procs
from .stats import ci_half_width_pct, linear_fit, median_ci_ranks, percentile, summarize

ProgressFn = Callable[[str, str, int, int], None]  # (backend, phase, done, total)

_DEFAULTS = BenchSettings()  # the defaults live in the model, shared with the CLI
DEFAULT_RUNS = _DEFAULTS.max_runs  # the cap of timed runs per backend
DEFAULT_MIN_RUNS = _DEFAULTS.min_runs
DEFAULT_WARMUPS = _DEFAULTS.warmups
DEFAULT_CI_TARGET_PCT = _DEFAULTS.ci_target_pct
DEFAULT_TIME_BUDGET_S = _DEFAULTS.time_budget_s  # per backend, cold-start sampling
DEFAULT_BUDGET_S = _DEFAULTS.budget_s  # the whole bench
DEFAULT_SWEEP: tuple[int, ...] = _DEFAULTS.sweep
DEFAULT_PACK_SWEEP: tuple[int, ...] = _DEFAULTS.pack_sweep
K8S_MAX_PODS = _DEFAULTS.max_pods
#: Warm-ups stop early once they have used this share of a backend's sampling window (a VM boot
#: of seconds needs no three warm-ups after its first run to warm the page cache).
WARMUP_SHARE = 0.1
#: Timed runs every backend gets even when its time is up: a median needs a few samples.
FLOOR_RUNS = 3
#: Runs of an in-process engine's whole-process plan (a reference figure beside the in-process
#: cold start; 6 is the least n with a 95% CI of the median).
WHOLE_PROCESS_RUNS = 6


@dataclass(frozen=True)
class BenchOptions:
    """What to measure and how much (the defaults are the default ``rtadvisor bench``).

    ``runs`` is the cap of timed runs; with ``ci_target_pct`` set, sampling stops earlier once the
    95% CI of the median is within +-``ci_target_pct`` % (after at least ``min_runs`` runs); with
    ``ci_target_pct=None`` exactly ``runs`` runs are timed (time budgets still apply if set).
    """

    runs: int = DEFAULT_RUNS
    warmups: int = DEFAULT_WARMUPS
    min_runs: int = DEFAULT_MIN_RUNS
    ci_target_pct: float | None = DEFAULT_CI_TARGET_PCT
    time_budget_s: float | None = DEFAULT_TIME_BUDGET_S
    budget_s: float | None = DEFAULT_BUDGET_S
    sweep: tuple[int, ...] = DEFAULT_SWEEP
    pack_sweep: tuple[int, ...] = DEFAULT_PACK_SWEEP
    max_pods: int = K8S_MAX_PODS
    memory: bool = True
    workload: str = "hello"  # "user" with a user artifact in Assets
    tmp_root: Path | None = None
    # the isolation / overhead measurement (rtadvisor.bench.measure_phase): one launch per backend
    isolation: bool = _DEFAULTS.isolation
    overhead: bool = _DEFAULTS.overhead
    overhead_suite: tuple[str, ...] = _DEFAULTS.overhead_suite
    overhead_sample_ms: int = _DEFAULTS.overhead_sample_ms
    overhead_min_rounds: int = _DEFAULTS.overhead_min_rounds
    overhead_max_rounds: int = _DEFAULTS.overhead_max_rounds

    def __post_init__(self) -> None:
        if self.runs < 1 or self.min_runs < 1 or self.warmups < 0:
            raise BenchError("runs and min_runs must be >= 1, warmups >= 0")
        unknown = [s for s in self.overhead_suite if s not in _DEFAULTS.overhead_suite]
        if unknown or not self.overhead_suite:
            raise BenchError(f"overhead_suite: expected some of {', '.join(_DEFAULTS.overhead_suite)}, "
                             f"got {', '.join(unknown) or 'none'}")
        if not 1 <= self.overhead_min_rounds <= 50 or not self.overhead_min_rounds <= self.overhead_max_rounds <= 500:
            raise BenchError("overhead rounds: at least 1 to 50, at most between that and 500")
        if not 1 <= self.overhead_sample_ms <= 1000:
            raise BenchError(f"overhead_sample_ms must be 1 to 1000, got {self.overhead_sample_ms}")
        for name in ("ci_target_pct", "time_budget_s", "budget_s"):
            value = getattr(self, name)
            if value is not None and not (value > 0 and value < float("inf")):
                raise BenchError(f"{name} must be a positive number or None, got {value!r}")

    @property
    def effective_min_runs(self) -> int:
        return min(self.min_runs, self.runs)

    def settings(self) -> BenchSettings:
        """The options as recorded in the result."""
        return BenchSettings(
            workload=self.workload, warmups=self.warmups, min_runs=self.effective_min_runs, max_runs=self.runs,
            ci_target_pct=self.ci_target_pct, time_budget_s=self.time_budget_s, budget_s=self.budget_s,
            sweep=tuple(sorted(set(self.sweep))), pack_sweep=tuple(sorted(set(self.pack_sweep))),
            max_pods=self.max_pods, memory=self.memory, isolation=self.isolation,
            overhead=self.overhead and self.workload != "user", overhead_suite=tuple(self.overhead_suite),
            overhead_sample_ms=self.overhead_sample_ms, overhead_min_rounds=self.overhead_min_rounds,
            overhead_max_rounds=self.overhead_max_rounds,
        )


@dataclass
class RunSample:
    """One timed launch."""

    total_ms: float
    stages: dict[str, float]
    cpu_ms: float
    stdout: str


@dataclass
class MemoryPoint:
    n: int
    pss_kib: int
    mem_available_drop_kib: int
    tasks: int
    processes: int

    def typed(self) -> BenchMemoryPoint:
        return BenchMemoryPoint(n=self.n, pss_mb=round(self.pss_kib / 1024, 3),
                                mem_available_drop_mb=round(self.mem_available_drop_kib / 1024, 3),
                                processes=self.processes, tasks=self.tasks)


@dataclass
class Draft:
    """The mutable accumulator of one backend's figures while it is measured; :meth:`freeze` gives
    the typed, immutable :class:`~rtadvisor.model.BenchResult`."""

    runtime: str
    available: bool
    reason: str | None = None
    error: str | None = None
    family: str | None = None
    binary: str | None = None
    version: str | None = None
    notes: tuple[str, ...] = ()
    emulated: bool = False
    workload: str = "hello"
    sampling: BenchSampling | None = None
    cold_start: BenchStats | None = None
    samples_ms: list[float] = field(default_factory=list)
    first_run_ms: float | None = None
    stages: dict[str, BenchStats] = field(default_factory=dict)
    cold_start_stages: tuple[str, ...] = ()
    cpu: BenchStats | None = None
    memory: BenchMemory | None = None
    artifact_bytes: int | None = None
    density: BenchDensity | None = None
    isolation: IsolationResult | None = None
    overhead: OverheadResult | None = None
    labels: dict[str, str | bool | int | float] = field(default_factory=dict)
    method: dict[str, str] = field(default_factory=dict)
    elapsed_s: float | None = None

    def freeze(self) -> BenchResult:
        return BenchResult(
            runtime=self.runtime, available=self.available, reason=self.reason, error=self.error,
            family=self.family, kb_runtime=primary_runtime(self.runtime), stands_for=stand_ins(backend=self.runtime),
            binary=self.binary, version=self.version, notes=self.notes, emulated=self.emulated,
            workload=self.workload, sampling=self.sampling, cold_start_ms=self.cold_start,
            cold_start_stages=self.cold_start_stages, first_run_ms=self.first_run_ms,
            samples_ms=tuple(self.samples_ms), stages=self.stages, cpu_ms=self.cpu, memory=self.memory,
            artifact_bytes=self.artifact_bytes, density=self.density, isolation=self.isolation,
            overhead=self.overhead, labels=self.labels, method=self.method,
            elapsed_s=None if self.elapsed_s is None else round(self.elapsed_s, 3),
        )


# ---------------------------------------------------------------------- running one plan


class LiveInstance:
    """One launched instance (its stage processes, its workdir); ``close()`` cleans everything up."""

    def __init__(self, plan: LaunchPlan, workdir: Path, guard: procs.ProcessGuard,
                 instance_id: str | None = None) -> None:
        self.plan = plan
        self.workdir = workdir
        self.guard = guard
        self.instance_id = instance_id
        self.spawned: list[procs.Spawned] = []
        self.sample: RunSample | None = None
        self.closed = False

    def host_pids(self) -> set[int]:
        """Every host process of this instance, for PSS."""
        roots = {sp.pid for sp in self.spawned if sp.returncode is None}
        roots |= procs.pids_in_groups(sp.pid for sp in self.spawned)  # detached children of a launcher
        roots |= procs.read_pid_files(self.plan.pid_files)
        roots |= procs.pids_by_markers(self.plan.cmdline_markers)
        return procs.process_tree(roots)

    def close(self, *, remove_workdir: bool = True) -> list[str]:
        """Stop the instance and remove everything of it; returns cleanup errors. SIGINT/SIGTERM wait.

        Order matters when a launch was interrupted half-way (Ctrl-C while ``runsc run`` creates
        its sandbox): launchers still running are killed first, so that nothing is created after
        the plan's cleanup ran; then the cleanup commands; then any process still carrying the
        instance's markers; then cgroup directories named after the instance id in every hierarchy
        (the id is ours and host-unique; a runtime interrupted mid-create leaves them behind)."""
        if self.closed:
            return []
        self.closed = True
        problems: list[str] = []
        # A timed run that ended normally (every stage process exited) leaves nothing its cleanup
        # commands miss; an interrupted or held instance gets the thorough sweep below as well
        # (a few ms: it reads every process's command line).
        thorough = self.sample is None or any(sp.returncode is None for sp in self.spawned)
        with interrupts.deferred():
            for sp in self.spawned:
                if sp.returncode is None:
                    self.guard.kill(sp)
            for command in self.plan.cleanup:
                try:
                    procs.run_untimed(self.guard, command)
                except BenchError as exc:
                    if command.check:
                        problems.append(str(exc))
            for sp in self.spawned:
                self.guard.kill(sp)
            if thorough:
                procs.kill_pids(procs.read_pid_files(self.plan.pid_files)
                                | procs.pids_by_markers(self.plan.cmdline_markers))
            procs.reap_orphans(self.guard)
            if thorough and self.instance_id is not None and self.instance_id.startswith(OWNER_TAG_PREFIX):
                remove_cgroups_named(self.instance_id)
            if remove_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
        return problems


def remove_cgroups_named(name: str, timeout_s: float = 3.0) -> list[Path]:
    """Remove (empty) cgroup directories called ``name`` -- ``<hierarchy>/<name>`` (runc, crun, runsc)
    and ``<hierarchy>/<namespace>/<name>`` (containerd) -- in every hierarchy; returns those left."""
    from .cleanup import cgroup_mounts, remove_cgroup_tree

    found: list[Path] = []
    for mount in cgroup_mounts():
        found += [p for p in (mount / name, *mount.glob(f"*/{name}")) if p.is_dir()]
    deadline = time.monotonic() + timeout_s
    while found:
        found = [p for p in found if remove_cgroup_tree(p) is not None]
        if not found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return found


def launch(plan: LaunchPlan, workdir: Path, guard: procs.ProcessGuard) -> LiveInstance:
    """Run setup and the timed stages of ``plan``; the caller must ``close()`` the instance."""
    instance = LiveInstance(plan, workdir, guard, instance_id=workdir.name)  # workdirs are named by id
    try:
        for command in plan.setup:
            procs.run_untimed(guard, command)
        stages: dict[str, float] = {}
        cpu_ms = 0.0
        output: list[str] = []
        if plan.in_process is not None:
            timer = SimpleStageTimer()
            try:
                text = plan.in_process.run(timer)
            except BenchError:
                raise
            except Exception as exc:  # an embedded engine's own error, e.g. a wasmtime trap
                lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
                raise BenchError(f"in-process run failed: {type(exc).__name__}: "
                                 f"{lines[-1] if lines else ''}") from exc
            # CPU of the stages that make up the cold start only (not compile, not the fast path)
            cpu_ms = sum(timer.cpu.get(s, 0.0) for s in plan.in_process.cold_start_stages)
            stages.update(timer.stages)
            output.append(text)
            total = sum(stages.get(s, 0.0) for s in plan.in_process.cold_start_stages)
        else:
            for stage in plan.stages:
                sp = guard.spawn(stage.command)
                instance.spawned.append(sp)
                if stage.ready_line is not None:
                    stages[stage.name] = guard.wait_ready(sp, stage.ready_line, stage.command.timeout_s)
                    output.append(sp.stdout)
                    continue
                done = guard.wait_exit(sp, stage.command.timeout_s)
                stages[stage.name] = done.elapsed_ms
                cpu_ms += done.cpu_ms
                output.append(done.stdout)
                if stage.command.check and done.returncode != 0:
                    raise BenchError(
                        f"stage {stage.name!r} ({' '.join(stage.command.argv[:2])}) exited with "
                        f"{done.returncode}" + procs._tail(done.stdout, done.stderr)
                    )
            total = sum(stages.values())
        combined = "".join(output)
        if plan.self_report_prefix:
            stages.update(_self_reported(combined, plan.self_report_prefix))
        if plan.expected_stdout is not None and plan.expected_stdout not in combined:
            raise BenchError(
                f"expected output {plan.expected_stdout!r} not found; got {combined.strip()[-200:]!r}"
            )
        instance.sample = RunSample(total_ms=total, stages=stages, cpu_ms=cpu_ms, stdout=combined)
        return instance
    except BaseException:
        instance.close()
        raise


def _self_reported(stdout: str, prefix: str) -> dict[str, float]:
    """Stage times a runtime printed about itself (``PREFIX{"stage": ms}``); bad lines are ignored."""
    import json

    found: dict[str, float] = {}
    for line in stdout.splitlines():
        if line.startswith(prefix):
            try:
                data = json.loads(line[len(prefix):])
            except ValueError:
                continue
            if isinstance(data, dict):
                found.update({str(k): float(v) for k, v in data.items() if isinstance(v, (int, float))})
    return found


#: Each bench's private temporary directory (instance workdirs, runsc state roots, logs) is named so.
SESSION_DIR_PREFIX = "rtadvisor-bench-"


class Session:
    """A private temp dir + a process guard for one bench; leaves nothing behind on exit.

    Everything it starts or creates carries its tag (``self.tag``, see
    :func:`rtadvisor.backends.base.owner_tag`): instance ids, the token in each process's
    environment, the owner file of its directory."""

    def __init__(self, tmp_root: Path | None = None) -> None:
        self.tmp_root = tmp_root
        self.dir: Path | None = None
        self.guard = procs.ProcessGuard()
        self.open_instances: list[LiveInstance] = []
        self._counter = 0
        self.tag = self.guard.token
        self.mem_available_mb = procs.mem_available_kib() / 1024  # before any instance runs
        self.trash: list[Path] = []

    def flush_trash(self) -> None:
        """Remove the workdirs of finished timed runs (never between two timed runs)."""
        while self.trash:
            shutil.rmtree(self.trash.pop(), ignore_errors=True)

    def __enter__(self) -> Self:
        procs.become_subreaper()
        self.dir = Path(tempfile.mkdtemp(prefix=SESSION_DIR_PREFIX, dir=self.tmp_root))
        try:
            mark_owned(self.dir, self.tag)  # so a later run can remove it if we are SIGKILLed
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with interrupts.deferred():
            for instance in reversed(self.open_instances):
                instance.close()
            self.open_instances.clear()
            self.guard.kill_all()
            procs.reap_orphans(self.guard)
            if self.dir is not None:
                shutil.rmtree(self.dir, ignore_errors=True)

    def new_workdir(self, backend: str) -> tuple[Path, str]:
        assert self.dir is not None, "Session used outside its with-block"
        self._counter += 1
        instance_id = f"{self.tag}-{backend}-{self._counter}"
        workdir = self.dir / instance_id
        workdir.mkdir()
        return workdir, instance_id

    def run_once(self, backend: Backend, assets: Assets, workload: str) -> RunSample:
        """Launch one instance to completion and clean it up."""
        workdir, instance_id = self.new_workdir(backend.name)
        plan = backend.plan(workload, assets, workdir, instance_id=instance_id)
        return self.run_plan(plan, workdir)

    def run_plan(self, plan: LaunchPlan, workdir: Path) -> RunSample:
        instance = launch(plan, workdir, self.guard)
        # Removing a directory right before a spawn slows that spawn down by milliseconds on this
        # kernel (measured: 0.6 -> 4 ms for a static hello), so workdirs of timed runs are removed
        # in batches between phases (flush_trash) and, whatever happens, when the session closes.
        problems = instance.close(remove_workdir=False)
        self.trash.append(workdir)
        if problems:
            raise BenchError("cleanup failed: " + "; ".join(problems))
        assert instance.sample is not None
        return instance.sample

    def hold(self, plan: LaunchPlan, workdir: Path) -> LiveInstance:
        instance = launch(plan, workdir, self.guard)
        self.open_instances.append(instance)
        return instance

    def release_all(self) -> None:
        with interrupts.deferred():
            problems: list[str] = []
            for instance in reversed(self.open_instances):
                problems += instance.close()
            self.open_instances.clear()
        if problems:
            raise BenchError("cleanup failed: " + "; ".join(problems))



# ---------------------------------------------------------------------- measurements


def artifact_bytes(paths: Sequence[Path]) -> int:
    """Total size of files/directories (recursively), each inode once, symlinks not followed."""
    seen: set[tuple[int, int]] = set()
    total = 0

    def add(p: Path) -> None:
        nonlocal total
        try:
            st = p.lstat()
        except OSError:
            return
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return
        seen.add(key)
        if p.is_dir() and not p.is_symlink():
            for child in p.iterdir():
                add(child)
        elif p.is_file() and not p.is_symlink():
            total += st.st_size

    for path in paths:
        add(path)
    return total


def pid_limit() -> int:
    """How many tasks the kernel allows: min(pid_max, threads-max)."""
    values = []
    for name in ("/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max"):
        try:
            values.append(int(Path(name).read_text().split()[0]))
        except (OSError, ValueError, IndexError):
            continue
    return min(values) if values else 32768


def density(per_instance_mb: float | None, tasks_per_instance: float | None, mem_available_mb: float,
            max_pods: int) -> BenchDensity:
    """min(memory capacity, maxPods, pid limit), each shown and the binding one named."""
    bounds: dict[str, int | None] = {"memory": None, "max_pods": max_pods, "pids": None}
    if per_instance_mb and per_instance_mb > 0:
        bounds["memory"] = int(mem_available_mb // per_instance_mb)
    if tasks_per_instance and tasks_per_instance > 0:
        bounds["pids"] = int(pid_limit() // tasks_per_instance)
    known = {k: v for k, v in bounds.items() if v is not None}
    bound_by = min(known, key=lambda k: known[k])
    return BenchDensity(
        value=known[bound_by], bound_by=bound_by,  # type: ignore[arg-type]
        memory=bounds["memory"], max_pods=bounds["max_pods"], pids=bounds["pids"],
        mem_available_mb=round(mem_available_mb, 1), per_instance_mb=per_instance_mb,
        tasks_per_instance=tasks_per_instance, pid_limit=pid_limit(),
    )


def _progress(progress: ProgressFn | None, name: str, phase: str, done: int, total: int) -> None:
    if progress is not None:
        progress(name, phase, done, total)


# ---------------------------------------------------------------------- the time budget


#: How much of the bench's budget a backend of each family gets, relative to the others: a VM
#: boot costs tens of container starts (seconds under TCG), a sandbox a few.
FAMILY_WEIGHT: dict[str, float] = {"vm": 4.0, "sandbox": 1.5}


def family_weight(family: str | None) -> float:
    return FAMILY_WEIGHT.get(family or "", 1.0)


class Budget:
    """The whole bench's time budget, divided among the backends as they start.

    ``slice_for(weight, weights_left)``: this backend's weight's share of what remains, among the
    backends still to run (this one included) -- so time a quick backend does not need goes to the
    ones after it, and a VM (weight 4) gets four times a container's share. Time in
    :meth:`paused` (``prepare``: building assets, once per machine) is not counted.
    """

    def __init__(self, total_s: float | None) -> None:
        self.total_s = total_s
        self.started = time.monotonic()
        self.paused_s = 0.0

    def spent(self) -> float:
        return time.monotonic() - self.started - self.paused_s

    def remaining(self) -> float | None:
        return None if self.total_s is None else max(0.0, self.total_s - self.spent())

    def slice_for(self, weight: float = 1.0, weights_left: float = 1.0) -> float | None:
        remaining = self.remaining()
        return None if remaining is None else remaining * weight / max(weight, weights_left)

    def paused(self) -> _Pause:
        return _Pause(self)


class _Pause:
    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.t0 = 0.0

    def __enter__(self) -> None:
        self.t0 = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        self.budget.paused_s += time.monotonic() - self.t0


@dataclass
class Window:
    """When one backend must be done (monotonic seconds; None: no limit) and why that limit."""

    backend_deadline: float | None = None
    slice_s: float | None = None

    def left(self) -> float | None:
        return None if self.backend_deadline is None else self.backend_deadline - time.monotonic()


# ---------------------------------------------------------------------- cold start


def _half_width(samples: Sequence[float]) -> float | None:
    xs = sorted(samples)
    ranks = median_ci_ranks(len(xs))
    if ranks is None:
        return None
    return ci_half_width_pct(percentile(xs, 50), xs[ranks[0]], xs[ranks[1]])


def sample_cold_starts(session: Session, backend: Backend, assets: Assets, options: BenchOptions,
                       draft: Draft, window: Window, progress: ProgressFn | None = None,
                       per_run_s: float | None = None) -> None:
    """Warm-ups, then timed runs until the stopping rule says enough; fills cold start, stages, CPU.

    Stopping rule (checked after every timed run; the first that applies wins):

    1. ``runs`` (the cap) reached -> ``max-runs``;
    2. with a target: at least ``min_runs`` runs and the larger half of the median's 95% CI within
       ``ci_target_pct`` % of the median -> ``ci-target``;
    3. the next run would end after the backend's time is up (a run is assumed to cost what the
       last one did) -> ``time-budget`` (its own ``time_budget_s``) or ``bench-budget`` (its share
       of the bench's ``budget_s``); at least ``FLOOR_RUNS`` runs are always timed.

    Warm-ups: up to ``warmups``, but they stop once they used ``WARMUP_SHARE`` of the window.
    """
    started = time.monotonic()
    sampling_deadline = None if options.time_budget_s is None else started + options.time_budget_s
    deadline, limit = sampling_deadline, "time-budget"
    if window.backend_deadline is not None and (deadline is None or window.backend_deadline < deadline):
        deadline, limit = window.backend_deadline, "bench-budget"
    warm_deadline = None if deadline is None else started + WARMUP_SHARE * max(0.0, deadline - started)
    # A run is not started when it would end past the deadline (its cost: the last run's, at first
    # the first run's): a 4-second VM boot must not overshoot the budget by a boot.
    cost = per_run_s or 0.0
    warmups = 0
    # A measurement phase that launched this runtime just before (the isolation/overhead launch:
    # the same runtime binary, the same VMM and guest kernel) has warmed what a warm-up warms; it
    # counts as one, which spares a VM a boot.
    prior = 1 if _phase_launched(draft) else 0
    for i in range(max(0, options.warmups - prior)):
        if warm_deadline is not None and time.monotonic() + cost > warm_deadline:
            break
        t0 = time.monotonic()
        session.run_once(backend, assets, options.workload)
        cost = time.monotonic() - t0
        warmups += 1
        _progress(progress, backend.name, "warm-up", i + 1, options.warmups)
    target = options.ci_target_pct
    min_runs = options.effective_min_runs
    samples: list[RunSample] = []
    reason: StopReason
    while True:
        t0 = time.monotonic()
        samples.append(session.run_once(backend, assets, options.workload))
        cost = time.monotonic() - t0
        n = len(samples)
        _progress(progress, backend.name, "cold start", n, options.runs)
        if n >= options.runs:
            reason = "max-runs" if target is not None else "fixed-runs"
            break
        if target is not None and n >= min_runs:
            half = _half_width([s.total_ms for s in samples])
            if half is not None and half <= target:
                reason = "ci-target"
                break
        if deadline is not None and n >= FLOOR_RUNS and time.monotonic() + cost > deadline:
            reason = limit  # type: ignore[assignment]
            break
    session.flush_trash()
    elapsed = time.monotonic() - started
    totals = [s.total_ms for s in samples]
    cold = summarize(totals, target_pct=target)
    per_run = elapsed / max(1, warmups + len(samples))
    if reason == "ci-target":
        detail = f"95% CI of the median within ±{target:g}% after {len(samples)} runs"
    elif reason == "max-runs":
        detail = f"cap of {options.runs} runs reached"
    elif reason == "fixed-runs":
        detail = f"{options.runs} runs (no CI target)"
    elif reason == "time-budget":
        detail = (f"this backend's cold-start time budget ({options.time_budget_s:g} s) ran out after "
                  f"{len(samples)} runs ({per_run:.3g} s per run)")
    else:
        detail = (f"its share of the bench's budget ({options.budget_s:g} s in all, {window.slice_s or 0:.1f} s "
                  f"for this backend) ran out after {len(samples)} runs ({per_run:.3g} s per run)")
    if target is not None and not cold.target_met:
        why = detail if cold.ci_half_width_pct is not None else f"{detail}; n < 6 gives no 95% CI of the median"
        cold = cold.model_copy(update={"note": f"target ±{target:g}% not reached: {why}"})
    draft.cold_start = cold
    draft.sampling = BenchSampling(
        warmups=warmups + (prior if options.warmups else 0), runs=len(samples), min_runs=min_runs, max_runs=options.runs, target_pct=target,
        time_budget_s=options.time_budget_s, elapsed_s=round(elapsed, 3), stop_reason=reason, detail=detail,
    )
    draft.samples_ms = [round(x, 4) for x in totals]
    draft.cpu = _secondary(summarize([s.cpu_ms for s in samples], target_pct=target), cold)
    stage_names: list[str] = []
    for s in samples:
        stage_names += [n for n in s.stages if n not in stage_names]
    for name in stage_names:
        values = [s.stages[name] for s in samples if name in s.stages]
        draft.stages[name] = _secondary(summarize(values, target_pct=target), cold)


def _phase_launched(draft: Draft) -> bool:
    """Did a measurement phase launch this backend's runtime (a measured section)?"""
    return any(s is not None and s.status == "measured" for s in (draft.isolation, draft.overhead))


def _secondary(stats: BenchStats, headline: BenchStats) -> BenchStats:
    """CPU and stage figures ride on the cold start's stopping rule: say so when theirs is wider."""
    if stats.target_pct is None or stats.target_met:
        return stats
    if stats.ci_half_width_pct is None:
        note = "n < 6 gives no 95% CI of the median"
    else:
        note = (f"sampling stops on the cold start's CI; this figure's is ±{stats.ci_half_width_pct:.3g}%"
                if headline.target_met else (headline.note or "target not reached"))
    return stats.model_copy(update={"note": note})


# ---------------------------------------------------------------------- memory


def _sweep(session: Session, make_plan: Callable[[int, Path, str], LaunchPlan | None], counts: Sequence[int],
           incremental: bool, name: str, phase: str, progress: ProgressFn | None,
           per_instance_s: float | None = None, deadline: float | None = None) -> tuple[list[MemoryPoint], str | None]:
    """Memory at each N. ``incremental``: add one-instance plans until N; else one plan holding N.

    Returns the points and, if the sweep stopped early, why (heavy instances, or the next N would not
    fit in the time left: then N = 1 alone, and the per-instance figure is that one instance's PSS)."""
    points: list[MemoryPoint] = []
    baseline = procs.mem_available_kib()
    held: list[LiveInstance] = []
    capped: str | None = None
    try:
        for idx, n in enumerate(counts):
            if incremental and points and n > HEAVY_SWEEP_CAP and _heavy(points[0], held):
                capped = f"N <= {points[-1].n}: heavy instances (> 64 MB or > 1 s)"
                break  # VMs and the like: a few are enough for the slope
            if (incremental and points and deadline is not None and per_instance_s is not None
                    and time.monotonic() + (n - len(held)) * per_instance_s > deadline):
                capped = (f"N <= {points[-1].n}: {n - len(held)} more instances (~{per_instance_s:.2g} s each) "
                          "would not fit in this backend's share of the bench budget")
                break
            if incremental:
                while len(held) < n:
                    workdir, instance_id = session.new_workdir(name)
                    plan = make_plan(1, workdir, instance_id)
                    assert plan is not None
                    held.append(session.hold(plan, workdir))
            else:
                session.release_all()
                held.clear()
                baseline = procs.mem_available_kib()
                workdir, instance_id = session.new_workdir(name)
                plan = make_plan(n, workdir, instance_id)
                assert plan is not None
                held.append(session.hold(plan, workdir))
            time.sleep(0.05)  # let lazily started helpers (shim, gofer) settle into their pids
            pids: set[int] = set()
            for instance in held:
                pids |= instance.host_pids()
            pss = sum(procs.smaps_rollup_kib(pid) or 0 for pid in pids)
            points.append(MemoryPoint(n=n, pss_kib=pss, mem_available_drop_kib=baseline - procs.mem_available_kib(),
                                      tasks=procs.thread_count(pids), processes=len(pids)))
            _progress(progress, name, phase, idx + 1, len(counts))
    finally:
        session.release_all()
    return points, capped


HEAVY_SWEEP_CAP = 4
#: The memory sweep of a backend may use this share of its window (the rest is for cold starts).
MEMORY_SHARE = 0.4


def _heavy(first: MemoryPoint, held: Sequence[LiveInstance]) -> bool:
    """An instance over 64 MB PSS or taking over a second to come up."""
    slow = bool(held) and held[0].sample is not None and held[0].sample.total_ms > 1000
    return first.pss_kib > 64 * 1024 or slow


def measure_memory(session: Session, backend: Backend, assets: Assets, options: BenchOptions,
                   draft: Draft, progress: ProgressFn | None = None, *, per_instance_s: float | None = None,
                   deadline: float | None = None) -> None:
    """PSS sweep over concurrent idle instances (and packed instances when the backend can pack)."""
    counts = sorted(set(options.sweep))

    def one(_: int, workdir: Path, instance_id: str) -> LaunchPlan:
        return backend.plan("idle", assets, workdir, instance_id=instance_id)

    points, capped = _sweep(session, one, counts, True, backend.name, "memory sweep", progress,
                            per_instance_s, deadline)
    first = points[0]
    pss_mb = round(first.pss_kib / 1024 / first.n, 3)
    slope_mb = pss_mb
    r2: float | None = None
    avail_slope: float | None = None
    if len(points) >= 2:
        fit = linear_fit([p.n for p in points], [p.pss_kib / 1024 for p in points])
        slope_mb, r2 = fit.slope, fit.r2
        avail = linear_fit([p.n for p in points], [p.mem_available_drop_kib / 1024 for p in points])
        avail_slope = round(avail.slope, 3)
    per_instance_mb = round(slope_mb, 4)
    fit_r2 = round(r2, 4) if r2 is not None else None
    per_process: float | None = None
    tasks_per_instance = points[-1].tasks / points[-1].n
    pack_points: list[MemoryPoint] = []

    probe_dir, probe_id = session.new_workdir(backend.name)
    packed = backend.pack_plan(1, assets, probe_dir, instance_id=probe_id)
    shutil.rmtree(probe_dir, ignore_errors=True)
    if packed is not None:
        pack_counts = sorted(set(options.pack_sweep))

        def many(n: int, workdir: Path, instance_id: str) -> LaunchPlan | None:
            return backend.pack_plan(n, assets, workdir, instance_id=instance_id)

        pack_points, _ = _sweep(session, many, pack_counts, False, backend.name, "packed sweep", progress)
        if len(pack_points) >= 2:
            fit = linear_fit([p.n for p in pack_points], [p.pss_kib / 1024 for p in pack_points])
            per_process = per_instance_mb
            per_instance_mb = round(fit.slope, 5)
            fit_r2 = round(fit.r2, 4)
            last = pack_points[-1]
            tasks_per_instance = last.tasks / last.n
    draft.memory = BenchMemory(
        pss_mb=pss_mb, per_instance_mb=per_instance_mb, per_instance_fit_r2=fit_r2,
        per_instance_mb_memavailable=avail_slope, per_instance_mb_process=per_process,
        sweep=tuple(p.typed() for p in points), packed_sweep=tuple(p.typed() for p in pack_points), capped=capped,
    )
    per_instance = per_instance_mb if per_instance_mb > 0 else pss_mb
    draft.density = density(per_instance, tasks_per_instance, session.mem_available_mb, options.max_pods)


# ---------------------------------------------------------------------- one backend


def _method(backend: Backend, plan: LaunchPlan, options: BenchOptions, draft: Draft) -> dict[str, str]:
    cpu = "user+system CPU of the launched processes and the descendants they waited for (wait4)"
    if plan.in_process is not None:
        cpu = ("CPU time of the engine process (all threads) during the cold-start stages "
               f"({' + '.join(plan.in_process.cold_start_stages)})")
    if backend.family == "container" and backend.name.startswith("containerd"):
        cpu += "; work done inside the already-running containerd daemon is not included"
    sampling = draft.sampling
    if options.ci_target_pct is not None:
        rule = (f"adaptive: at least {options.effective_min_runs} and at most {options.runs} timed runs, stopping once "
                f"the 95% CI of the median is within ±{options.ci_target_pct:g}% or the backend's time is up")
    else:
        rule = f"{options.runs} timed runs"
    warm = sampling.warmups if sampling is not None else options.warmups
    warm_text = f"{warm} warm-ups discarded"
    if warm and _phase_launched(draft):
        warm_text += " (the isolation/overhead launch of the same runtime counted as one)"
    method = {
        "cold_start": (
            f"first run after prepare reported apart (first_run_ms), {warm_text}, then {rule}; "
            f"each run a fresh instance of the {options.workload!r} workload: "
            f"{plan.method or 'wall clock from spawn to exit'}; p50 with a distribution-free 95% CI of the median; "
            "warm page cache"
        ),
        "cpu": cpu,
        "memory": (
            f"PSS from /proc/PID/smaps_rollup summed over every host process of each idle instance, "
            f"N = {', '.join(map(str, sorted(set(options.sweep))))} concurrent instances; per-instance = "
            "least-squares slope; MemAvailable drop fitted the same way as a cross-check"
        ),
        "artifact": "bytes of: " + (", ".join(str(p) for p in plan.artifacts) or "nothing to ship"),
        "density": "min(MemAvailable at start / per-instance MB, Kubernetes maxPods, min(pid_max, threads-max) / tasks per instance)",
    }
    if plan.in_process is not None:
        method["cold_start"] += (
            f"; cold start = {' + '.join(plan.in_process.cold_start_stages)} in process "
            f"({plan.in_process.description})"
        )
    if draft.memory is not None and draft.memory.packed_sweep:
        method["memory"] += (
            f"; packed: N = {', '.join(str(p.n) for p in draft.memory.packed_sweep)} idle instances in ONE engine "
            "process, per_instance_mb is that slope, per_instance_mb_process the one-process-per-instance slope"
        )
    return method


def bench_backend(session: Session, backend: Backend, assets: Assets, options: BenchOptions,
                  progress: ProgressFn | None = None, *, budget: Budget | None = None,
                  weights_left: float | None = None,
                  previous: Mapping[str, BenchResult] | None = None) -> BenchResult:
    """Probe, prepare and measure one backend. A failing runtime gives ``error``, not an exception."""
    availability = backend.probe()
    draft = Draft(
        runtime=backend.name, available=availability.usable, reason=availability.reason,
        family=backend.family, binary=availability.binary, version=availability.version,
        notes=availability.notes, emulated=availability.emulated, workload=options.workload,
    )
    if not availability.usable:
        return draft.freeze()
    unsupported = backend.supports(options.workload, assets)
    if unsupported:
        draft.available = False
        draft.reason = unsupported
        return draft.freeze()
    budget = budget or Budget(None)
    started = time.monotonic()
    try:
        with budget.paused():
            backend.prepare(assets)
        window = Window()
        weight = family_weight(backend.family)
        share = budget.slice_for(weight, weights_left if weights_left is not None else weight)
        if share is not None:
            window = Window(backend_deadline=time.monotonic() + share, slice_s=share)
        with backend.session(assets):
            _measure_all(session, backend, assets, options, draft, window, progress, previous)
    except RtadvisorError as exc:
        draft.error = str(exc)
    draft.elapsed_s = time.monotonic() - started
    return draft.freeze()


def _measure_all(session: Session, backend: Backend, assets: Assets, options: BenchOptions,
                 draft: Draft, window: Window, progress: ProgressFn | None,
                 previous: Mapping[str, BenchResult] | None = None) -> None:
    from .phases import run_phases

    try:
        probe_dir, probe_id = session.new_workdir(backend.name)
        plan = backend.plan(options.workload, assets, probe_dir, instance_id=probe_id)
        shutil.rmtree(probe_dir, ignore_errors=True)
        draft.labels = dict(plan.labels)
        draft.labels.setdefault("cache", "warm page cache (first run after prepare: first_run_ms)")
        draft.emulated = draft.emulated or bool(plan.labels.get("emulated"))
        if plan.in_process is not None:
            draft.cold_start_stages = plan.in_process.cold_start_stages
        draft.artifact_bytes = artifact_bytes(plan.artifacts)
        # The first run right after prepare (page cache as prepare left it), reported apart.
        t0 = time.monotonic()
        first = session.run_once(backend, assets, options.workload)
        per_run_s = time.monotonic() - t0
        draft.first_run_ms = round(first.total_ms, 3)
        _progress(progress, backend.name, "first run", 1, 1)
        if options.memory and options.workload != "user":
            memory_deadline = None
            left = window.left()
            if left is not None:
                memory_deadline = time.monotonic() + MEMORY_SHARE * left
            measure_memory(session, backend, assets, options, draft, progress, per_instance_s=per_run_s,
                           deadline=memory_deadline)
        if plan.whole_process is not None:
            whole: list[float] = []
            runs = max(3, min(WHOLE_PROCESS_RUNS, options.runs // 3))
            for i in range(runs + 1):
                wd, _ = session.new_workdir(backend.name)
                sample = session.run_plan(plan.whole_process, wd)
                if i:
                    whole.append(sample.total_ms)
                _progress(progress, backend.name, "whole process", i + 1, runs + 1)
            session.flush_trash()
            draft.stages["whole_process"] = summarize(whole)
        run_phases(session, backend, assets, options, draft, window, progress, previous)
        sample_cold_starts(session, backend, assets, options, draft, window, progress, per_run_s)
        if "whole_process" in draft.stages:  # sampled before the cold starts; keep it last in the table
            draft.stages["whole_process"] = draft.stages.pop("whole_process")
        draft.method = _method(backend, plan, options, draft)
    finally:
        session.release_all()  # before the backend's session (its daemon) goes away
