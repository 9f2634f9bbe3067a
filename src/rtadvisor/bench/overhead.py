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
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rtadvisor.model import OVERHEAD_SUITE, Interval, OverheadMetric, OverheadMetricStatus, OverheadResult

#: The benchmarks of the suite, in the order the workload runs them.
SUITE: tuple[str, ...] = OVERHEAD_SUITE
FILE_METRICS = frozenset({"file_write_fsync", "file_read"})
BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
_SEED = 20200317  # fixed: the same samples always give the same interval

MetricStatus = OverheadMetricStatus
#: The typed section lives in the model (Interval, OverheadMetric, OverheadResult); this module
#: computes its statistics.
__all__ = ["SUITE", "BenchRecord", "Interval", "OverheadMetric", "OverheadResult", "build_metric", "median_ci",
           "paired_slowdowns", "ratio_ci", "speedup"]


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
    paired: bool = False  # the native companion answered setup: samples are taken in pairs
    rounds: int = 0  # turns taken
    target_pct: float | None = None
    stop: str | None = None  # why sampling stopped (see measure._suite_script)

    def headline(self) -> Interval | None:
        """The figure sampling is judged on: the paired slowdown, or (no companion) the rate."""
        if self.paired:
            pairs = [n / b for n, b in zip(self.native_samples, self.samples, strict=False) if n > 0 and b > 0]
            return median_ci(pairs) if len(pairs) >= 2 else None
        rates = [x for x in self.samples if x > 0]
        return median_ci(rates) if len(rates) >= 2 else None


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
                            median=median_ci(samples), samples=samples,
                            # a figure with no ratio (not comparable) is judged on its rate
                            **_ci_fields(replace(record, paired=False) if comparable is not None else record))
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


def _ci_fields(record: BenchRecord) -> dict[str, Any]:
    """How well the headline figure is pinned down: its CI half-width, whether the target was met,
    and when not, why sampling stopped."""
    headline = record.headline()
    half = headline.half_width_pct if headline is not None else None
    target = record.target_pct
    out: dict[str, Any] = {"ci_half_width_pct": None if half is None else round(half, 2), "target_pct": target}
    if target is None:
        return out
    met = half is not None and half <= target
    out["target_met"] = met
    if not met:
        why = record.stop or "sampling stopped"
        out["ci_note"] = (f"target ±{target:g}% not reached after {record.rounds} rounds: {why}"
                          if half is not None else f"no CI: {why}")
    return out


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
