"""The isolation and overhead measurement as a phase of ``rtadvisor bench`` (issue 10).

For each backend, inside its bench session (its private containerd daemon, its prepared assets)
and its share of the bench's time budget, ONE launch of the built-in ``measure`` workload gives
both sections of the result (:func:`rtadvisor.bench.measure.measure_in_session`):

* ``isolation``: host system calls of every host process of the sandbox (a private tracefs
  instance following forks), whether the workload's own call reaches the host kernel, the function
  tracer where the kernel allows it, seccomp and capabilities of each host process;
* ``overhead``: seven micro-benchmarks paired sample by sample with a native ``measure`` process
  run beside it, sampled until the 95% CI of each slowdown is within the bench's ``--ci-target``
  or its share of the phase's time is up.

A user artifact (``--wasm``, ``--oci-layout``, ``--rootfs``) is traced over its whole life
(isolation only: the micro-benchmarks are built-in).

Everything it starts carries the bench session's token (``RTADVISOR_BENCH_TOKEN``) and lives in the
session's directory, so the harness's cleanup (Ctrl-C, SIGTERM) and the next run's sweep after a
SIGKILL find it; setup and cleanup commands run through the harness (which reaps the orphans a
subreaper inherits: ``runsc delete`` waits for its sandbox). The tracing instance is created at the
first backend that needs it and removed when the bench ends (:func:`rtadvisor.bench.phases.run_scope`).
"""

from __future__ import annotations

import shutil

from rtadvisor.backends.base import Command
from rtadvisor.errors import BenchError
from rtadvisor.model import IsolationResult

from . import procs
from .measure import MeasureOptions, Tracer, measure_in_session, sweep_stale
from .phases import PhaseContext, Section, register_phase

#: Of the time a backend has left after its first run and memory sweep, what this phase may use
#: (each micro-benchmark gets an equal part of it; cold-start sampling gets the rest).
SHARE = 0.45


class MeasurePhase:
    """Isolation + overhead from one launch per backend (registered on import)."""

    name = "measure"
    fills = ("isolation", "overhead")
    share = SHARE

    def __init__(self) -> None:
        self._tracer: Tracer | None = None
        self._tracer_error: str | None = None

    # -- the run's tracing instance -----------------------------------------------------------------
    def _tracer_for(self, buffer_kb: int) -> Tracer | None:
        if self._tracer is None and self._tracer_error is None:
            sweep_stale()  # what a SIGKILLed measurement left: temp dirs, empty cgroups, tracing instances
            try:
                self._tracer = Tracer(buffer_kb).__enter__()
            except BenchError as exc:
                self._tracer_error = str(exc)
        return self._tracer

    def close(self) -> None:
        """End of the bench: remove the tracing instance (and the private tracefs mount's helper)."""
        tracer, self._tracer, self._tracer_error = self._tracer, None, None
        if tracer is not None:
            tracer.__exit__(None, None, None)

    # -- the phase -----------------------------------------------------------------------------------
    def applies(self, ctx: PhaseContext) -> str | None:
        # Always runs: a backend that cannot run the workload gets "not supported" sections with
        # the reason (from measure_in_session), and only for what was asked for.
        return None

    def run(self, ctx: PhaseContext) -> tuple[Section, ...]:
        o = ctx.options
        user = o.workload == "user"
        isolation, overhead = o.isolation, o.overhead and not user
        if not isolation and not overhead:
            return ()
        tracer = self._tracer_for(MeasureOptions().buffer_kb) if isolation else None
        no_tracing = self._tracer_error if isolation and tracer is None else None
        guard = ctx.session.guard

        def runner(command: Command) -> object:
            return procs.run_untimed(guard, command)

        options = MeasureOptions(
            isolation=isolation and tracer is not None, overhead=overhead, suite=tuple(o.overhead_suite),
            sample_ms=o.overhead_sample_ms, rounds=o.overhead_min_rounds, max_rounds=o.overhead_max_rounds,
            ci_target_pct=o.ci_target_pct, deadline=ctx.deadline, workload="user" if user else "probe",
            tmp_root=ctx.session.dir, env={procs.TOKEN_VARIABLE: ctx.session.tag}, runner=runner)
        ctx.report("isolation + overhead", 0, 1)
        sections: list[Section] = []
        if options.isolation or options.overhead:
            workdir, instance_id = ctx.session.new_workdir(ctx.backend.name)
            try:
                measured = measure_in_session(ctx.backend, ctx.assets, options, tracer=tracer, workdir=workdir,
                                              instance_id=instance_id, emulated=ctx.emulated)
            finally:
                from .harness import remove_cgroups_named

                remove_cgroups_named(instance_id)  # a runtime killed mid-create leaves empty ones
                shutil.rmtree(workdir, ignore_errors=True)
            sections += [s for s in (measured.isolation, measured.overhead) if s is not None]
        if no_tracing is not None:
            sections.append(IsolationResult(runtime=ctx.backend.name, workload="user" if user else "probe",
                                            status="not measurable", reason=no_tracing))
        ctx.report("isolation + overhead", 1, 1)
        return tuple(sections)


PHASE = register_phase(MeasurePhase())


__all__ = ["PHASE", "SHARE", "MeasurePhase"]
