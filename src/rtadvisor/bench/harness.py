"""The bench harness: runs launch plans, times them, measures memory, cleans up whatever happens.

Method (also written into every result's ``method`` so the output says it):

* **Cold start (S)**: ``warmups`` runs are discarded, then ``runs`` timed runs of the ``hello``
  workload, each a fresh instance (new process / container / VM / Wasm instance); the figure is
  wall-clock time from spawning the first timed stage to the exit of the last (per stage too),
  summarised as min/p50/p95/max with a distribution-free 95% CI of the median. The very first run
  after ``prepare`` is reported apart as ``first_run_ms`` (page cache as left by prepare); the
  timed runs are warm-cache runs. Page caches are never dropped: that would disturb other tenants.
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

import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from rtadvisor.backends.base import Assets, Backend, LaunchPlan, SimpleStageTimer
from rtadvisor.errors import BenchError, RtadvisorError

from . import procs
from .stats import Summary, linear_fit, summarize

ProgressFn = Callable[[str, str, int, int], None]  # (backend, phase, done, total)

DEFAULT_RUNS = 30
DEFAULT_WARMUPS = 3
DEFAULT_SWEEP: tuple[int, ...] = (1, 2, 4, 8)
DEFAULT_PACK_SWEEP: tuple[int, ...] = (1, 50, 100, 200)
K8S_MAX_PODS = 110


@dataclass(frozen=True)
class BenchOptions:
    """What to measure and how much."""

    runs: int = DEFAULT_RUNS
    warmups: int = DEFAULT_WARMUPS
    sweep: tuple[int, ...] = DEFAULT_SWEEP
    pack_sweep: tuple[int, ...] = DEFAULT_PACK_SWEEP
    max_pods: int = K8S_MAX_PODS
    memory: bool = True
    workload: str = "hello"  # "user" with a user artifact in Assets
    tmp_root: Path | None = None


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


@dataclass
class BackendResult:
    """Everything measured for one backend (or why it could not be)."""

    runtime: str
    available: bool
    reason: str | None = None
    error: str | None = None
    family: str | None = None
    kb_runtime: str | None = None
    binary: str | None = None
    version: str | None = None
    notes: tuple[str, ...] = ()
    emulated: bool = False
    workload: str = "hello"
    cold_start: Summary | None = None
    samples_ms: list[float] = field(default_factory=list)
    first_run_ms: float | None = None
    stages: dict[str, Summary] = field(default_factory=dict)
    cold_start_stages: tuple[str, ...] = ()
    cpu: Summary | None = None
    memory_points: list[MemoryPoint] = field(default_factory=list)
    pack_points: list[MemoryPoint] = field(default_factory=list)
    pss_mb: float | None = None
    per_instance_mb: float | None = None
    per_instance_fit_r2: float | None = None
    per_instance_mb_memavailable: float | None = None
    per_instance_mb_process: float | None = None  # one process per instance, when packing is the headline
    artifact_bytes: int | None = None
    density: dict[str, Any] | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    method: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------- running one plan


@contextmanager
def _no_sigint() -> Iterator[None]:
    """Cleanup must finish even if the user presses Ctrl-C again: SIGINT is deferred, not lost."""
    pending: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending and previous is signal.default_int_handler:
            raise KeyboardInterrupt


class LiveInstance:
    """One launched instance (its stage processes, its workdir); ``close()`` cleans everything up."""

    def __init__(self, plan: LaunchPlan, workdir: Path, guard: procs.ProcessGuard) -> None:
        self.plan = plan
        self.workdir = workdir
        self.guard = guard
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
        """Run the plan's cleanup, kill what is left, remove the workdir. Returns cleanup errors."""
        if self.closed:
            return []
        self.closed = True
        problems: list[str] = []
        with _no_sigint():
            for command in self.plan.cleanup:
                try:
                    procs.run_untimed(self.guard, command)
                except BenchError as exc:
                    if command.check:
                        problems.append(str(exc))
            for sp in self.spawned:
                self.guard.kill(sp)
            procs.reap_orphans(self.guard)
            if remove_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
        return problems


def launch(plan: LaunchPlan, workdir: Path, guard: procs.ProcessGuard) -> LiveInstance:
    """Run setup and the timed stages of ``plan``; the caller must ``close()`` the instance."""
    instance = LiveInstance(plan, workdir, guard)
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
                raise BenchError(f"in-process run failed: {type(exc).__name__}: {exc}") from exc
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


class Session:
    """A private temp dir + a process guard for one bench; leaves nothing behind on exit."""

    def __init__(self, tmp_root: Path | None = None) -> None:
        self.tmp_root = tmp_root
        self.dir: Path | None = None
        self.guard = procs.ProcessGuard()
        self.open_instances: list[LiveInstance] = []
        self._counter = 0
        self.tag = uuid.uuid4().hex[:8]
        self.mem_available_mb = procs.mem_available_kib() / 1024  # before any instance runs
        self.trash: list[Path] = []

    def flush_trash(self) -> None:
        """Remove the workdirs of finished timed runs (never between two timed runs)."""
        while self.trash:
            shutil.rmtree(self.trash.pop(), ignore_errors=True)

    def __enter__(self) -> Session:
        procs.become_subreaper()
        self.dir = Path(tempfile.mkdtemp(prefix="rtadvisor-bench-", dir=self.tmp_root))
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with _no_sigint():
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
        instance_id = f"rtadv-{self.tag}-{backend}-{self._counter}"
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
        with _no_sigint():
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
            max_pods: int) -> dict[str, Any]:
    """min(memory capacity, maxPods, pid limit), each shown and the binding one named."""
    bounds: dict[str, int | None] = {"memory": None, "max_pods": max_pods, "pids": None}
    if per_instance_mb and per_instance_mb > 0:
        bounds["memory"] = int(mem_available_mb // per_instance_mb)
    if tasks_per_instance and tasks_per_instance > 0:
        bounds["pids"] = int(pid_limit() // tasks_per_instance)
    known = {k: v for k, v in bounds.items() if v is not None}
    bound_by = min(known, key=lambda k: known[k])
    return {
        "value": known[bound_by], "bound_by": bound_by, **bounds,
        "mem_available_mb": round(mem_available_mb, 1), "per_instance_mb": per_instance_mb,
        "tasks_per_instance": tasks_per_instance, "pid_limit": pid_limit(),
    }


def _progress(progress: ProgressFn | None, name: str, phase: str, done: int, total: int) -> None:
    if progress is not None:
        progress(name, phase, done, total)


def measure_cold_start(session: Session, backend: Backend, assets: Assets, options: BenchOptions,
                       result: BackendResult, progress: ProgressFn | None = None) -> None:
    """Fill ``result`` with cold-start, stage and CPU statistics."""
    total = 1 + options.warmups + options.runs
    samples: list[RunSample] = []
    for i in range(total):
        sample = session.run_once(backend, assets, options.workload)
        if i == 0:
            result.first_run_ms = round(sample.total_ms, 3)
        elif i > options.warmups:
            samples.append(sample)
        _progress(progress, backend.name, "cold start", i + 1, total)
    session.flush_trash()
    result.samples_ms = [round(s.total_ms, 4) for s in samples]
    result.cold_start = summarize([s.total_ms for s in samples])
    result.cpu = summarize([s.cpu_ms for s in samples])
    stage_names: list[str] = []
    for s in samples:
        stage_names += [n for n in s.stages if n not in stage_names]
    result.stages = {n: summarize([s.stages[n] for s in samples if n in s.stages]) for n in stage_names}


def _sweep(session: Session, make_plan: Callable[[int, Path, str], LaunchPlan | None], counts: Sequence[int],
           incremental: bool, name: str, phase: str, progress: ProgressFn | None) -> list[MemoryPoint]:
    """Memory at each N. ``incremental``: add one-instance plans until N; else one plan holding N."""
    points: list[MemoryPoint] = []
    baseline = procs.mem_available_kib()
    held: list[LiveInstance] = []
    try:
        for idx, n in enumerate(counts):
            if incremental and points and n > HEAVY_SWEEP_CAP and _heavy(points[0], held):
                break  # VMs and the like: N <= HEAVY_SWEEP_CAP keeps a full bench near two minutes
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
    return points


HEAVY_SWEEP_CAP = 4


def _heavy(first: MemoryPoint, held: Sequence[LiveInstance]) -> bool:
    """An instance over 64 MB PSS or taking over a second to come up."""
    slow = bool(held) and held[0].sample is not None and held[0].sample.total_ms > 1000
    return first.pss_kib > 64 * 1024 or slow


def measure_memory(session: Session, backend: Backend, assets: Assets, options: BenchOptions,
                   result: BackendResult, progress: ProgressFn | None = None) -> None:
    """PSS sweep over concurrent idle instances (and packed instances when the backend can pack)."""
    counts = sorted(set(options.sweep))

    def one(_: int, workdir: Path, instance_id: str) -> LaunchPlan:
        return backend.plan("idle", assets, workdir, instance_id=instance_id)

    result.memory_points = _sweep(session, one, counts, True, backend.name, "memory sweep", progress)
    if len(result.memory_points) < len(counts):
        result.labels["sweep_capped"] = f"N <= {result.memory_points[-1].n}: heavy instances (> 64 MB or > 1 s)"
    first = result.memory_points[0]
    result.pss_mb = round(first.pss_kib / 1024 / first.n, 3)
    slope_mb = result.pss_mb
    r2: float | None = None
    avail_slope: float | None = None
    if len(counts) >= 2:
        fit = linear_fit([p.n for p in result.memory_points], [p.pss_kib / 1024 for p in result.memory_points])
        slope_mb, r2 = fit.slope, fit.r2
        avail = linear_fit([p.n for p in result.memory_points],
                           [p.mem_available_drop_kib / 1024 for p in result.memory_points])
        avail_slope = round(avail.slope, 3)
    result.per_instance_mb = round(slope_mb, 4)
    result.per_instance_fit_r2 = round(r2, 4) if r2 is not None else None
    result.per_instance_mb_memavailable = avail_slope
    tasks_per_instance = result.memory_points[-1].tasks / result.memory_points[-1].n

    probe_dir, probe_id = session.new_workdir(backend.name)
    packed = backend.pack_plan(1, assets, probe_dir, instance_id=probe_id)
    shutil.rmtree(probe_dir, ignore_errors=True)
    if packed is not None:
        pack_counts = sorted(set(options.pack_sweep))

        def many(n: int, workdir: Path, instance_id: str) -> LaunchPlan | None:
            return backend.pack_plan(n, assets, workdir, instance_id=instance_id)

        result.pack_points = _sweep(session, many, pack_counts, False, backend.name, "packed sweep", progress)
        if len(pack_counts) >= 2:
            fit = linear_fit([p.n for p in result.pack_points], [p.pss_kib / 1024 for p in result.pack_points])
            result.per_instance_mb_process = result.per_instance_mb
            result.per_instance_mb = round(fit.slope, 5)
            result.per_instance_fit_r2 = round(fit.r2, 4)
            last = result.pack_points[-1]
            tasks_per_instance = last.tasks / last.n
    per_instance = result.per_instance_mb if result.per_instance_mb and result.per_instance_mb > 0 else result.pss_mb
    result.density = density(per_instance, tasks_per_instance, session.mem_available_mb, options.max_pods)


def _method(backend: Backend, plan: LaunchPlan, options: BenchOptions, result: BackendResult) -> dict[str, str]:
    cpu = "user+system CPU of the launched processes and the descendants they waited for (wait4)"
    if plan.in_process is not None:
        cpu = ("CPU time of the engine process (all threads) during the cold-start stages "
               f"({' + '.join(plan.in_process.cold_start_stages)})")
    if backend.family == "container" and backend.name.startswith("containerd"):
        cpu += "; work done inside the already-running containerd daemon is not included"
    method = {
        "cold_start": (
            f"{options.warmups} warm-ups discarded, then {options.runs} runs of the {options.workload!r} "
            f"workload, each a fresh instance: {plan.method or 'wall clock from spawn to exit'}; "
            "p50 with a distribution-free 95% CI of the median; warm page cache (first run reported apart)"
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
    if result.pack_points:
        method["memory"] += (
            f"; packed: N = {', '.join(str(p.n) for p in result.pack_points)} idle instances in ONE engine "
            "process, per_instance_mb is that slope, per_instance_mb_process the one-process-per-instance slope"
        )
    return method


def bench_backend(session: Session, backend: Backend, assets: Assets, options: BenchOptions,
                  progress: ProgressFn | None = None) -> BackendResult:
    """Probe, prepare and measure one backend. A failing runtime gives ``error``, not an exception."""
    availability = backend.probe()
    result = BackendResult(
        runtime=backend.name, available=availability.usable, reason=availability.reason,
        family=backend.family, kb_runtime=backend.kb_runtime, binary=availability.binary,
        version=availability.version, notes=availability.notes, emulated=availability.emulated,
        workload=options.workload,
    )
    if not availability.usable:
        return result
    unsupported = backend.supports(options.workload, assets)
    if unsupported:
        result.available = False
        result.reason = unsupported
        return result
    try:
        backend.prepare(assets)
        with backend.session(assets):
            _measure_all(session, backend, assets, options, result, progress)
    except RtadvisorError as exc:
        result.error = str(exc)
    return result


def _measure_all(session: Session, backend: Backend, assets: Assets, options: BenchOptions,
                 result: BackendResult, progress: ProgressFn | None) -> None:
    try:
        probe_dir, probe_id = session.new_workdir(backend.name)
        plan = backend.plan(options.workload, assets, probe_dir, instance_id=probe_id)
        shutil.rmtree(probe_dir, ignore_errors=True)
        result.labels = dict(plan.labels)
        result.labels.setdefault("cache", "warm page cache (first run after prepare: first_run_ms)")
        result.emulated = result.emulated or bool(plan.labels.get("emulated"))
        if plan.in_process is not None:
            result.cold_start_stages = plan.in_process.cold_start_stages
        result.artifact_bytes = artifact_bytes(plan.artifacts)
        measure_cold_start(session, backend, assets, options, result, progress)
        if plan.whole_process is not None:
            whole: list[float] = []
            runs = max(3, options.runs // 3)
            for i in range(runs + 1):
                wd, _ = session.new_workdir(backend.name)
                sample = session.run_plan(plan.whole_process, wd)
                if i:
                    whole.append(sample.total_ms)
                _progress(progress, backend.name, "whole process", i + 1, runs + 1)
            session.flush_trash()
            result.stages["whole_process"] = summarize(whole)
        if options.memory and options.workload != "user":
            measure_memory(session, backend, assets, options, result, progress)
        result.method = _method(backend, plan, options, result)
    finally:
        session.release_all()  # before the backend's session (its daemon) goes away


def host_metadata() -> dict[str, Any]:
    """Kernel, CPU, memory and the date, for the store and the JSON output."""
    import platform
    from datetime import datetime

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        kvm = "present" if Path("/dev/kvm").exists() else "absent"
    except OSError:
        kvm = "unknown"
    mem_total = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_total = int(line.split()[1]) // 1024
    return {
        "hostname": platform.node(),
        "kernel": platform.release(),
        "os": platform.platform(terse=True),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "mem_total_mb": mem_total,
        "kvm": kvm,
        "python": platform.python_version(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
