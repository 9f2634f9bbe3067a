"""Steady-state overhead: what a runtime costs while the workload runs, as a ratio to native.

The built-in ``measure`` workload (``workloads/measure.c``, static, the same binary everywhere; its
wasm32-wasi build in the Wasm engines) reports its own figures from inside the runtime: per-sample
rates of a fixed amount of work calibrated to last about ``sample_ms`` (after a calibration run that
doubles as warm-up). Benchmarks:

==================  ==========================================================================
null_call           getppid(2) through syscall(2) (WASI: fd_fdstat_get, the cheapest host call)
file_write_fsync    pwrite 4 KiB + fsync in a host directory (bind-mounted / pre-opened)
file_read           pread 64 KiB blocks of a 4 MiB file (page cache)
epoll_pingpong      1-byte round trips over a socketpair with a forked echo process, epoll_wait
io_uring_nop        IORING_OP_NOP, one submission + io_uring_enter per op, raw system calls
tcp_loopback        TCP over 127.0.0.1 from a forked sender, 64 KiB receives
cpu                 xorshift + multiply loop: no system calls, no memory traffic
==================  ==========================================================================

Pairing: this machine is shared and its load changes by the second, so a native figure taken a
minute earlier is no reference. While a runtime's workload runs, a native ``measure`` process runs
beside it (idle between commands) and the host alternates them sample by sample (a turn of
``per_turn`` samples each, the order swapped every round), so a load change hits both sides of
each pair. Each figure: median of the samples with a 95% CI (percentile bootstrap of the median,
2000 resamples, fixed seed), and ``slowdown`` = the median of the paired ratios native rate / this
rate (time per operation relative to native: 1 = native speed, 3 = three times slower) with its
95% bootstrap CI. A benchmark a runtime cannot run is a result:
"not supported" (e.g. ``io_uring_setup`` returns ENOSYS under gVisor), "not expressible" (WASI
preview1 has no epoll, io_uring or listen/connect). A file figure measured on a different storage
(the micro-VM has no disk: its scratch directory is guest RAM, where fsync is a no-op) is "not
comparable" with native's and gets no ratio. TCG micro-VM figures are emulated and labelled so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

#: The benchmarks of the suite, in the order the workload runs them.
SUITE: tuple[str, ...] = ("null_call", "file_write_fsync", "file_read", "epoll_pingpong", "io_uring_nop",
                          "tcp_loopback", "cpu")
FILE_METRICS = frozenset({"file_write_fsync", "file_read"})
BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
_SEED = 20200317  # fixed: the same samples always give the same interval

MetricStatus = Literal["measured", "not supported", "not expressible", "not comparable", "error"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Interval(_Model):
    """A point estimate with its 95% confidence interval."""

    value: float
    low: float
    high: float


class OverheadMetric(_Model):
    """One benchmark in one runtime."""

    name: str
    status: MetricStatus
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


class OverheadResult(_Model):
    """Steady-state overhead of one runtime (the ``overhead`` section of a bench result)."""

    runtime: str
    status: Literal["measured", "not measurable", "not supported", "error"]
    reason: str | None = None
    method: str = ""
    metrics: tuple[OverheadMetric, ...] = ()
    storage: str | None = None
    emulated: bool = False
    sample_ms: int | None = None
    samples: int | None = None
    notes: tuple[str, ...] = ()
    duration_s: float | None = None

    def metric(self, name: str) -> OverheadMetric | None:
        return next((m for m in self.metrics if m.name == name), None)


# ------------------------------------------------------------------------------------ statistics


def median_ci(samples: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES) -> Interval | None:
    """Median with a percentile-bootstrap 95% CI (None for no samples; a point for one)."""
    data = np.asarray(samples, dtype=float)
    if data.size == 0:
        return None
    med = float(np.median(data))
    if data.size == 1:
        return Interval(value=med, low=med, high=med)
    rng = np.random.default_rng(_SEED)
    boots = np.median(rng.choice(data, size=(resamples, data.size), replace=True), axis=1)
    low, high = np.quantile(boots, [(1 - CONFIDENCE) / 2, 1 - (1 - CONFIDENCE) / 2])
    return Interval(value=med, low=float(low), high=float(high))


def ratio_ci(numerator: Sequence[float], denominator: Sequence[float], *,
             resamples: int = BOOTSTRAP_RESAMPLES) -> Interval | None:
    """median(numerator) / median(denominator) with a 95% percentile-bootstrap CI, both sample sets
    resampled independently (they come from different processes)."""
    a = np.asarray(numerator, dtype=float)
    b = np.asarray(denominator, dtype=float)
    if a.size == 0 or b.size == 0 or float(np.median(b)) <= 0:
        return None
    value = float(np.median(a) / np.median(b))
    if a.size == 1 or b.size == 1:
        return Interval(value=value, low=value, high=value)
    rng = np.random.default_rng(_SEED)
    ma = np.median(rng.choice(a, size=(resamples, a.size), replace=True), axis=1)
    mb = np.median(rng.choice(b, size=(resamples, b.size), replace=True), axis=1)
    ratios = ma / np.where(mb > 0, mb, np.nan)
    low, high = np.nanquantile(ratios, [(1 - CONFIDENCE) / 2, 1 - (1 - CONFIDENCE) / 2])
    return Interval(value=value, low=float(low), high=float(high))


# ------------------------------------------------------------------------------------ building results


@dataclass
class BenchRecord:
    """What the suite script collected for one benchmark: the runtime's answers and, interleaved
    sample by sample, native's (the companion process)."""

    name: str
    setup: Mapping[str, Any] | None = None
    samples: list[float] = field(default_factory=list)
    native_setup: Mapping[str, Any] | None = None
    native_samples: list[float] = field(default_factory=list)  # native_samples[i] pairs with samples[i]


def build_metric(record: BenchRecord, *, comparable: str | None = None) -> OverheadMetric:
    """One metric from its record. ``comparable``: None if native's figure is comparable, else why
    not (e.g. different storage); then no slowdown is drawn."""
    setup = record.setup or {}
    status = str(setup.get("status", "error"))
    unit, how = setup.get("unit"), setup.get("how")
    if status in ("not supported", "not expressible"):
        return OverheadMetric(name=record.name, status=status, reason=setup.get("reason"), how=how)  # type: ignore[arg-type]
    if status != "ok":
        return OverheadMetric(name=record.name, status="error", reason=setup.get("reason") or "no answer to setup")
    samples = tuple(x for x in record.samples if x > 0)
    if not samples:
        return OverheadMetric(name=record.name, status="error", reason="no sample completed", unit=unit, how=how)
    metric = OverheadMetric(name=record.name, status="measured", unit=unit, how=how, n=len(samples),
                            median=median_ci(samples), samples=samples)
    native = record.native_setup or {}
    if record.native_setup is None:
        return metric
    if native.get("status") != "ok":
        return metric.model_copy(update={"note": f"native could not run it: {native.get('reason') or native.get('status')}"})
    if comparable is not None:
        return metric.model_copy(update={"status": "not comparable", "reason": comparable})
    # samples[i] and native_samples[i] were taken in the same round; a failed sample ends a list
    pairs = [(n, b) for n, b in zip(record.native_samples, record.samples, strict=False) if n > 0 and b > 0]
    note = None
    if record.name == "null_call" and how != native.get("how"):
        note = "not the same operation as native's (a WASI host call, not a system call)"
    return metric.model_copy(update={
        "slowdown": median_ci([n / b for n, b in pairs]) if pairs else None,
        "native_median": median_ci([n for n, _ in pairs]) if pairs else None,
        "native_samples": tuple(n for n, _ in pairs),
        "pairs": len(pairs), "note": note})


def storage_comparable(storage: str | None, native_storage: str | None) -> str | None:
    """None when file figures on ``storage`` compare with native's, else the reason."""
    if _storage_kind(storage) == _storage_kind(native_storage):
        return None
    return f"storage differs from native's ({storage} vs {native_storage}): no ratio is drawn"


def _storage_kind(storage: str | None) -> str:
    text = (storage or "").lower()
    if "guest ram" in text:
        return "guest-ram"
    if "host directory" in text:
        return "host-directory"
    return text or "unknown"


def paired_slowdowns(metric: OverheadMetric) -> list[float]:
    """The per-pair slowdowns (native rate / this rate) of a measured metric."""
    return [n / b for n, b in zip(metric.native_samples, metric.samples, strict=False) if n > 0 and b > 0]


def speedup(faster: OverheadResult, slower: OverheadResult, metric: str) -> Interval | None:
    """How many times faster ``faster`` runs ``metric`` than ``slower``: slowdown(slower) /
    slowdown(faster), each against the native run beside it (so load changes between the two
    launches cancel), with a 95% bootstrap CI; None unless both have paired figures."""
    a, b = faster.metric(metric), slower.metric(metric)
    if a is None or b is None or a.status != "measured" or b.status != "measured":
        return None
    ra, rb = paired_slowdowns(a), paired_slowdowns(b)
    if not ra or not rb:
        return None
    return ratio_ci(rb, ra)


def measure_overhead(runtime: str, assets: Any = None, options: Any = None) -> OverheadResult:
    """Measure ``runtime``'s steady-state overhead alone (one launch and its native companion, no
    tracing). See :func:`rtadvisor.bench.measure.measure_runtime`."""
    from .measure import MeasureOptions, measure_runtime

    opts = options or MeasureOptions()
    result = measure_runtime(runtime, assets, MeasureOptions(**{**opts.__dict__, "isolation": False,
                                                               "overhead": True}))
    assert result.overhead is not None
    return result.overhead
