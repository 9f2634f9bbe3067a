"""What ``rtadvisor bench`` measured, as one typed, versioned document (see :mod:`rtadvisor.model`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from . import (
    BENCH_SCHEMA_VERSION,
    OVERHEAD_SUITE,
    StandIn,
    _Frozen,
)


class BenchStats(_Frozen):
    """Order statistics of one metric's samples (in the metric's unit, usually ms) and how well the
    median is pinned down: ``ci_low``/``ci_high`` is a distribution-free 95% CI of the median,
    ``ci_half_width_pct`` its larger half as a % of the median, ``target_met`` whether that is within
    the run's target (``note`` says why not). ``min``/``p95``/``max``/``mean`` are None only in
    results upgraded from version-1 documents that did not record them."""

    n: int = Field(ge=1)
    p50: float
    min: float | None = None
    p95: float | None = None
    max: float | None = None
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float = 0.95
    ci_method: str = "binomial order-statistic CI of the median"
    ci_half_width_pct: float | None = None
    target_pct: float | None = None
    target_met: bool | None = None
    note: str | None = None


StopReason = Literal["ci-target", "max-runs", "time-budget", "bench-budget", "fixed-runs", "failed"]


class BenchSampling(_Frozen):
    """How one backend's cold starts were sampled (the adaptive stopping rule's outcome)."""

    warmups: int = Field(ge=0)
    runs: int = Field(ge=0)  # timed runs kept
    min_runs: int = Field(ge=1)
    max_runs: int = Field(ge=1)
    target_pct: float | None = None  # None: a fixed number of runs, no CI target
    time_budget_s: float | None = None
    elapsed_s: float = Field(ge=0)
    stop_reason: StopReason
    detail: str = ""


class BenchMemoryPoint(_Frozen):
    """Summed PSS of N concurrent idle instances."""

    n: int = Field(ge=1)
    pss_mb: float
    mem_available_drop_mb: float
    processes: int
    tasks: int


class BenchMemory(_Frozen):
    """Memory of idle instances: one instance, the per-instance slope, and the sweeps behind them."""

    pss_mb: float
    per_instance_mb: float | None = None  # None only in version-1 documents that did not record it
    per_instance_fit_r2: float | None = None
    per_instance_mb_memavailable: float | None = None
    per_instance_mb_process: float | None = None  # one process per instance, when packing is the headline
    sweep: tuple[BenchMemoryPoint, ...] = ()
    packed_sweep: tuple[BenchMemoryPoint, ...] = ()
    capped: str | None = None  # why the sweep stopped early, if it did


class BenchDensity(_Frozen):
    """min(memory capacity, Kubernetes maxPods, pid limit); ``bound_by`` names the binding one."""

    value: int
    bound_by: Literal["memory", "max_pods", "pids"]
    memory: int | None = None
    max_pods: int | None = None
    pids: int | None = None
    mem_available_mb: float | None = None
    per_instance_mb: float | None = None
    tasks_per_instance: float | None = None
    pid_limit: int | None = None


MeasureStatus = Literal["measured", "not measurable", "not supported", "error"]
"""``measured``; ``not measurable`` (this node cannot: no tracefs, the runtime is not installed);
``not supported`` (the runtime cannot run the workload at all: a result); ``error`` (it failed)."""

# ----------------------------------------------------------------------- isolation (host exposure)
#
# How much of the host kernel one sandbox exposes to its workload, after Anjali, Caraza-Harter and
# Swift (VEE 2020): host system calls of every host process of the sandbox, whether the workload's
# own call reaches the host kernel, the function tracer where the kernel allows it, and what
# confines each host process. Measured by ``rtadvisor.bench.measure`` (method in ``method``).

IsolationRole = Literal["workload", "runtime", "shim", "sandbox kernel", "gofer", "vmm", "engine", "client",
                        "launcher", "other"]


class SyscallCount(_Frozen):
    name: str
    count: int


class ProcessExposure(_Frozen):
    """One host process of the sandbox in one window."""

    pid: int
    comm: str
    exe: str | None = None
    role: IsolationRole
    syscalls: int
    distinct: int
    top: tuple[SyscallCount, ...] = ()


class SyscallWindow(_Frozen):
    """Host system calls in one window, summed over every host process of the sandbox: ``startup``
    (spawn until the probe is ready), ``workload`` (the probe's fixed mix), ``lifecycle`` (a user
    artifact, spawn to exit)."""

    name: Literal["startup", "workload", "lifecycle"]
    what: str
    syscalls: int
    distinct: int
    by_syscall: tuple[SyscallCount, ...]
    processes: tuple[ProcessExposure, ...]
    duration_ms: float | None = None


class PassThrough(_Frozen):
    """Did the host kernel execute the workload's own rare call (``probe``) itself?"""

    probe: str
    outcome: Literal["passed through", "not passed through", "not expressible", "not run"]
    seen_in: tuple[str, ...] = ()
    inside: str | None = None  # what the call returned inside the sandbox (the probe's own report)
    detail: str


class Confinement(_Frozen):
    """What confines one host process while the workload runs (``/proc/PID/status``)."""

    pid: int
    comm: str
    exe: str | None = None
    role: IsolationRole
    uid: int | None = None
    seccomp: Literal["disabled", "strict", "filter"] | None = None
    seccomp_filters: int | None = None
    no_new_privs: bool | None = None
    capabilities: tuple[str, ...] = ()  # effective
    all_capabilities: bool = False
    host_namespaces: tuple[str, ...] = ()  # which of user/pid/net/mnt it shares with the host


class KernelFunctions(_Frozen):
    """Host kernel functions executed for the sandbox (the ftrace function tracer), or why not."""

    status: Literal["measured", "not measurable"]
    distinct: int | None = None
    complete: bool | None = None
    reason: str | None = None


class IsolationResult(_Frozen):
    """Host-kernel exposure of one runtime: the ``isolation`` section of a :class:`BenchResult`.
    ``status`` other than ``measured`` comes with a ``reason``; counts from one traced launch."""

    runtime: str
    workload: Literal["probe", "user"] = "probe"
    status: MeasureStatus
    reason: str | None = None
    method: str = ""
    windows: tuple[SyscallWindow, ...] = ()
    pass_through: PassThrough | None = None
    confinement: tuple[Confinement, ...] = ()
    kernel_functions: KernelFunctions | None = None
    events_lost: int = 0
    complete: bool = True  # False: the ring buffer lost events, counts are lower bounds
    emulated: bool = False
    notes: tuple[str, ...] = ()
    duration_s: float | None = None

    def window(self, name: str) -> SyscallWindow | None:
        return next((w for w in self.windows if w.name == name), None)

    @property
    def unconfined(self) -> tuple[Confinement, ...]:
        """Host processes with no seccomp filter (every host system call is reachable from them)."""
        return tuple(c for c in self.confinement if c.seccomp not in ("filter", "strict"))


# ----------------------------------------------------------------------- steady-state overhead

OverheadMetricStatus = Literal["measured", "not supported", "not expressible", "not comparable", "error"]


class Interval(_Frozen):
    """A point estimate with its 95% confidence interval."""

    value: float
    low: float
    high: float

    @property
    def half_width_pct(self) -> float | None:
        """The larger half of the interval as a % of the value (None for a value of 0)."""
        if self.value == 0:
            return None
        return 100.0 * max(self.value - self.low, self.high - self.value) / abs(self.value)


class OverheadMetric(_Frozen):
    """One micro-benchmark in one runtime: its rate (median, 95% CI) and, paired sample by sample
    with a native process run beside it, its ``slowdown`` (native rate / this rate: 1 = native
    speed). ``ci_half_width_pct`` is of the headline figure (the slowdown; native: its rate);
    ``target_met``/``ci_note`` say whether sampling reached the run's CI target and why not."""

    name: str
    status: OverheadMetricStatus
    reason: str | None = None
    unit: str | None = None  # of the rates (per second)
    how: str | None = None
    n: int = 0
    median: Interval | None = None  # rate, with the 95% CI of the median
    samples: tuple[float, ...] = ()
    slowdown: Interval | None = None  # median of paired native/this rates (1 = native speed), 95% CI
    native_median: Interval | None = None  # native's rate in the same pairs
    native_samples: tuple[float, ...] = ()  # native_samples[i] was taken beside samples[i]
    pairs: int = 0
    note: str | None = None
    ci_half_width_pct: float | None = None
    target_pct: float | None = None
    target_met: bool | None = None
    ci_note: str | None = None


class OverheadResult(_Frozen):
    """Steady-state overhead of one runtime: the ``overhead`` section of a :class:`BenchResult`."""

    runtime: str
    status: MeasureStatus
    reason: str | None = None
    method: str = ""
    metrics: tuple[OverheadMetric, ...] = ()
    storage: str | None = None
    emulated: bool = False
    sample_ms: int | None = None
    samples: int | None = None  # samples per benchmark at least (more when sampling adapted)
    notes: tuple[str, ...] = ()
    duration_s: float | None = None

    def metric(self, name: str) -> OverheadMetric | None:
        return next((m for m in self.metrics if m.name == name), None)


# ----------------------------------------------------------------------- verdicts on claimed orders


OrderVerdictValue = Literal["holds", "does not hold", "holds in part", "inconclusive", "not measurable here"]
RelationVerdict = Literal["holds", "does not hold", "inconclusive", "not measurable here"]


class OrderRelation(_Frozen):
    """One pairwise relation a claim implies (``gvisor > runc``, ``L-4 > L-3``), judged on the
    runtimes that measure its two sides, with the figures."""

    claim: str
    left: tuple[str, ...]  # measured runtimes on the left side
    right: tuple[str, ...]
    verdict: RelationVerdict
    figures: str
    caveats: tuple[str, ...] = ()


class OrderVerdict(_Frozen):
    """An isolation or overhead claim (a claimed order or ratio) with its verdict on this node."""

    id: str
    kind: Literal["isolation", "overhead"]
    source: str
    text: str
    claims: tuple[str, ...] = ()  # knowledge-base claim ids it is made of
    basis: str
    verdict: OrderVerdictValue
    why: str
    relations: tuple[OrderRelation, ...] = ()


class RuntimeIsolationOverhead(_Frozen):
    """One backend's latest isolation and overhead sections, with the run they came from."""

    runtime: str
    run_id: str
    date: str
    host: str | None = None
    emulated: bool = False
    stands_for: tuple[StandIn, ...] = ()
    isolation: IsolationResult | None = None
    overhead: OverheadResult | None = None


class IsolationOverheadView(_Frozen):
    """This node's measured isolation and overhead per runtime and the verdicts on the claimed
    orders (``GET /api/isolation``; the page's isolation/overhead view)."""

    available: bool
    reason: str | None = None
    runtimes: tuple[RuntimeIsolationOverhead, ...] = ()
    verdicts: tuple[OrderVerdict, ...] = ()
    kernel_functions: str | None = None  # why the function tracer could not be used, if it could not


# ----------------------------------------------------------------------- evidence from these sections

class EvidenceFigure(_Frozen):
    """One figure of a bench result that ``--evidence`` can use (the store files it as a Measurement)."""

    metric: str
    value: float
    unit: str
    n: int = 1
    method: str


def _first_clause(text: str) -> str:
    """``text`` up to its first ';' outside parentheses (a method's headline, brackets balanced)."""
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch == ";" and depth <= 0:
            return text[:i]
    return text


def isolation_overhead_figures(result: BenchResult) -> tuple[EvidenceFigure, ...]:
    """The isolation and overhead figures of one backend's result as evidence (see
    :data:`EVIDENCE_METRICS`); none unless measured. Booleans are 1.0 / 0.0."""
    out: list[EvidenceFigure] = []
    iso, ovh = result.isolation, result.overhead
    if iso is not None and iso.status == "measured" and iso.workload == "probe":
        workload, startup = iso.window("workload"), iso.window("startup")
        where = f"backend {result.runtime}: {_first_clause(iso.method)}"
        if workload is not None:
            out.append(EvidenceFigure(metric="isolation.host_syscalls", value=float(workload.syscalls), unit="calls",
                                      method=f"{where}; host system calls in the probe's workload window"
                                             + ("" if iso.complete else " (lower bound: events lost)")))
            out.append(EvidenceFigure(metric="isolation.host_syscalls_distinct", value=float(workload.distinct),
                                      unit="syscalls", method=f"{where}; distinct host system calls in the probe's "
                                                              "workload window"))
        if startup is not None:
            out.append(EvidenceFigure(metric="isolation.startup_syscalls_distinct", value=float(startup.distinct),
                                      unit="syscalls", method=f"{where}; distinct host system calls while the "
                                                              "sandbox was created"))
        if iso.pass_through is not None and iso.pass_through.outcome in ("passed through", "not passed through"):
            out.append(EvidenceFigure(metric="isolation.syscall_passthrough",
                                      value=1.0 if iso.pass_through.outcome == "passed through" else 0.0,
                                      unit="bool", method=f"{where}; {iso.pass_through.detail}"))
        if iso.confinement:
            out.append(EvidenceFigure(metric="isolation.unconfined_processes", value=float(len(iso.unconfined)),
                                      unit="processes",
                                      method=f"{where}; host processes without a seccomp filter, of "
                                             f"{len(iso.confinement)}"))
    if ovh is not None and ovh.status == "measured":
        uring = ovh.metric("io_uring_nop")
        if uring is not None and uring.status in ("measured", "not supported"):
            out.append(EvidenceFigure(metric="io_uring_supported", value=1.0 if uring.status == "measured" else 0.0,
                                      unit="bool", method=f"backend {result.runtime}: io_uring_setup inside the "
                                                          "runtime" + (f" ({uring.reason})" if uring.reason else "")))
        for m in ovh.metrics:
            if m.status != "measured" or m.slowdown is None or m.note:
                continue
            s = m.slowdown
            out.append(EvidenceFigure(
                metric=f"overhead.{m.name}_ratio", value=s.value, unit="x native", n=m.pairs or m.n,
                method=(f"backend {result.runtime}: slowdown vs a native process run beside it (1 = native speed), "
                        f"median of {m.pairs} paired samples, 95% CI {s.low:.4g}-{s.high:.4g}"
                        + (f", ±{m.ci_half_width_pct:.3g}%" if m.ci_half_width_pct is not None else "")
                        + ("; emulated (TCG)" if ovh.emulated else ""))))
    return tuple(out)


KvmKind = Literal["kvm_intel", "kvm_amd", "kvm_pvm", "kvm", "absent", "unknown"]


class NodeInfo(_Frozen):
    """Which node measured: identity for the store and a fleet, and the facts that shape the figures."""

    hostname: str
    node_name: str  # Kubernetes node name ($RTADVISOR_NODE_NAME or $NODE_NAME), else the hostname
    pool: str | None = None  # node pool ($RTADVISOR_NODE_POOL)
    machine_id: str | None = None  # sha256 of /etc/machine-id, 16 hex digits: stable across renames
    kernel: str = ""
    os: str = ""
    arch: str = ""
    cpu_model: str = ""
    cpus: int | None = None
    mem_total_mb: int | None = None
    kvm: KvmKind = "unknown"  # which KVM module provides /dev/kvm
    kvm_linux_guests: bool | None = None  # False when a Linux guest could not boot under it (emulated)
    cgroup: Literal["v1", "v2", "hybrid", "unknown"] = "unknown"
    python: str = ""
    rtadvisor: str = ""
    runtime_versions: dict[str, str] = Field(default_factory=dict)


class BenchSettings(_Frozen):
    """The options a run was made with; the defaults here ARE the defaults of ``rtadvisor bench``
    (the CLI and ``rtadvisor.bench.BenchOptions`` take them from this class)."""

    workload: str = "hello"
    warmups: int = Field(default=3, ge=0)
    min_runs: int = Field(default=10, ge=1)
    max_runs: int = Field(default=200, ge=1)
    ci_target_pct: float | None = Field(default=5.0, gt=0)  # None: exactly max_runs timed runs
    time_budget_s: float | None = Field(default=30.0, gt=0)  # per backend, cold-start sampling
    budget_s: float | None = Field(default=80.0, gt=0)  # the whole bench (prepare not counted)
    sweep: tuple[int, ...] = (1, 2, 4, 8)
    pack_sweep: tuple[int, ...] = (1, 50, 100, 200)
    max_pods: int = Field(default=110, ge=1)
    memory: bool = True
    isolation: bool = True  # trace host-kernel exposure (the measurement phase)
    overhead: bool = True  # steady-state micro-benchmarks against a native process beside them
    overhead_suite: tuple[str, ...] = OVERHEAD_SUITE
    overhead_sample_ms: int = Field(default=5, ge=1)
    overhead_min_rounds: int = Field(default=12, ge=1)
    overhead_max_rounds: int = Field(default=48, ge=1)


class BenchResult(_Frozen):
    """Everything measured for one backend, or why it could not be (``available``/``reason``), or how
    it failed (``error``; the cleanup still ran)."""

    runtime: str  # the bench backend's name
    available: bool
    reason: str | None = None
    error: str | None = None
    family: str | None = None
    kb_runtime: str | None = None  # primary_runtime(runtime), recorded for readers without the registry
    stands_for: tuple[StandIn, ...] = ()
    binary: str | None = None
    version: str | None = None
    notes: tuple[str, ...] = ()
    emulated: bool = False
    workload: str = "hello"
    sampling: BenchSampling | None = None
    cold_start_ms: BenchStats | None = None
    cold_start_stages: tuple[str, ...] = ()  # in-process engines: the stages summed into cold_start_ms
    first_run_ms: float | None = None
    samples_ms: tuple[float, ...] = ()
    stages: dict[str, BenchStats] = Field(default_factory=dict)
    cpu_ms: BenchStats | None = None
    memory: BenchMemory | None = None
    artifact_bytes: int | None = None
    density: BenchDensity | None = None
    isolation: IsolationResult | None = None
    overhead: OverheadResult | None = None
    labels: dict[str, str | bool | int | float] = Field(default_factory=dict)
    method: dict[str, str] = Field(default_factory=dict)
    elapsed_s: float | None = None

    @property
    def measured(self) -> bool:
        """Usable and did not fail: its figures can be read."""
        return self.available and self.error is None


class BenchRun(_Frozen):
    """One ``rtadvisor bench`` run: ``model_dump(mode="json")`` is what ``bench --json`` prints.

    ``run_id`` is assigned when the run starts and is globally unique (UTC start time + 48 random
    bits), so storing or uploading the same run twice is idempotent.
    """

    schema_version: int = BENCH_SCHEMA_VERSION
    run_id: str = Field(min_length=1, max_length=64)
    started: str  # UTC, ISO 8601
    finished: str | None = None
    wall_s: float | None = None
    node: NodeInfo
    options: BenchSettings = Field(default_factory=BenchSettings)
    results: tuple[BenchResult, ...] = ()

    @model_validator(mode="after")
    def _known_version(self) -> BenchRun:
        if self.schema_version != BENCH_SCHEMA_VERSION:
            raise ValueError(f"schema_version {self.schema_version} is not {BENCH_SCHEMA_VERSION}")
        return self

    def result(self, runtime: str) -> BenchResult | None:
        """The result of one backend, or None if it was not requested."""
        return next((r for r in self.results if r.runtime == runtime), None)

    def to_dict(self) -> dict[str, Any]:
        """The ``bench --json`` document."""
        return self.model_dump(mode="json")


#: One stored bench run (``bench show ID --json``, ``GET /api/runs/ID``): the typed bench result.
StoredRun = BenchRun
