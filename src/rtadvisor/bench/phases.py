"""Extra measurement phases that run inside each backend's bench (isolation tracing, overhead).

The harness measures start-up, memory and density itself; further measurements plug in here so
that they run with the backend's session up (its daemon, its prepared assets), inside the bench's
time budget, and land in the typed result (``BenchResult.isolation`` / ``.overhead``)::

    from rtadvisor.bench.phases import PhaseContext, register_phase

    class Overhead:
        name = "overhead"          # the BenchResult field it fills: "isolation" or "overhead"
        share = 0.3                # of the time left for this backend when the phase starts

        def applies(self, ctx: PhaseContext) -> str | None:
            return None            # or why not ("io_uring needs a kernel >= 5.1"): then no phase

        def run(self, ctx: PhaseContext) -> OverheadResult:
            sample = ctx.session.run_plan(plan, workdir)   # the harness's launch/cleanup/guard
            ...
            return OverheadResult(method="...", metrics={...})

    register_phase(Overhead())

``run`` must finish by ``ctx.deadline`` (monotonic seconds, or None) and leave nothing running
(use ``ctx.session``: every process it starts is killed and reaped, every workdir removed, also on
Ctrl-C). A phase that raises :class:`~rtadvisor.errors.BenchError` gives the section
``status="not measurable"`` with the error as ``reason``; other exceptions are bugs and propagate.
Phases run after the memory sweep and before the cold-start sampling, which then gets what is left.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from rtadvisor.backends.base import Assets, Backend
from rtadvisor.errors import BenchError
from rtadvisor.model import BenchResult, IsolationResult, OverheadResult

if TYPE_CHECKING:
    from .harness import BenchOptions, Draft, ProgressFn, Session, Window

PhaseName = Literal["isolation", "overhead"]


@dataclass(frozen=True)
class PhaseContext:
    """What a phase gets: the live session, the backend (prepared, its session entered), options."""

    session: Session
    backend: Backend
    assets: Assets
    options: BenchOptions
    deadline: float | None  # time.monotonic() by which the phase must be done
    progress: ProgressFn | None = None
    emulated: bool = False
    #: results of the backends measured before this one in the same run (``native`` comes first
    #: in the default order: ratios to native are computed against it)
    previous: Mapping[str, BenchResult] = field(default_factory=dict)

    def report(self, phase: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(self.backend.name, phase, done, total)


class Phase(Protocol):
    name: PhaseName
    share: float

    def applies(self, ctx: PhaseContext) -> str | None:
        """None when the phase runs for this backend, else why not (recorded as "not measurable")."""

    def run(self, ctx: PhaseContext) -> IsolationResult | OverheadResult:
        """Measure; return the section for the result."""


_PHASES: list[Phase] = []


def register_phase(phase: Phase) -> Phase:
    """Add a phase (the last registration of a name wins)."""
    global _PHASES
    _PHASES = [p for p in _PHASES if p.name != phase.name] + [phase]
    return phase


def registered() -> tuple[Phase, ...]:
    return tuple(_PHASES)


def _section(name: PhaseName, method: str, reason: str) -> IsolationResult | OverheadResult:
    cls = IsolationResult if name == "isolation" else OverheadResult
    return cls(method=method, status="not measurable", reason=reason)


def run_phases(session: Session, backend: Backend, assets: Assets, options: BenchOptions, draft: Draft,
               window: Window, progress: ProgressFn | None,
               previous: Mapping[str, BenchResult] | None = None) -> None:
    """Run every registered phase for one backend and store its section in ``draft``."""
    for phase in registered():
        left = window.left()
        deadline = None if left is None else time.monotonic() + max(0.0, phase.share * left)
        ctx = PhaseContext(session=session, backend=backend, assets=assets, options=options, deadline=deadline,
                           progress=progress, emulated=draft.emulated, previous=dict(previous or {}))
        why_not = phase.applies(ctx)
        if why_not is not None:
            section = _section(phase.name, f"{phase.name} phase", why_not)
        else:
            try:
                section = phase.run(ctx)
            except BenchError as exc:
                section = _section(phase.name, f"{phase.name} phase", str(exc))
            finally:
                session.release_all()
                session.flush_trash()
        setattr(draft, phase.name, section)
