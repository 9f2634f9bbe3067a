"""Extra measurement phases that run inside each backend's bench (isolation tracing, overhead).

The harness measures start-up, memory and density itself; further measurements plug in here so
that they run with the backend's session up (its daemon, its prepared assets), inside the bench's
time budget, and land in the typed result (``BenchResult.isolation`` / ``.overhead``)::

    from rtadvisor.bench.phases import PhaseContext, register_phase

    class Overhead:
        name = "overhead"          # a label (progress, errors)
        fills = ("overhead",)      # the BenchResult fields it fills: "isolation" and/or "overhead"
        share = 0.3                # of the time left for this backend when the phase starts

        def applies(self, ctx: PhaseContext) -> str | None:
            return None            # or why not ("io_uring needs a kernel >= 5.1"): then no phase

        def run(self, ctx: PhaseContext) -> OverheadResult:
            sample = ctx.session.run_plan(plan, workdir)   # the harness's launch/cleanup/guard
            ...
            return OverheadResult(runtime=ctx.backend.name, status="measured", metrics=(...))

    register_phase(Overhead())

``run`` returns one section or a tuple of sections (one launch may measure both: the built-in
measurement does); each lands in the field of its type. It must finish by ``ctx.deadline``
(monotonic seconds, or None) and leave nothing running (use ``ctx.session``: every process it starts
is killed and reaped, every workdir removed, also on Ctrl-C). A phase that raises
:class:`~rtadvisor.errors.BenchError` gives each field it fills ``status="not measurable"`` with the
error as ``reason``; other exceptions are bugs and propagate. Phases run after the memory sweep and
before the cold-start sampling, which then gets what is left. A phase may keep resources for the
whole run (a tracing instance): :func:`run_scope` calls its optional ``close()`` when the bench ends.
A phase without ``fills`` fills the field named by its ``name`` (the first form of this hook).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from rtadvisor.backends.base import Assets, Backend
from rtadvisor.errors import BenchError
from rtadvisor.model import BenchResult, IsolationResult, OverheadResult

if TYPE_CHECKING:
    from .harness import BenchOptions, Draft, ProgressFn, Session, Window

PhaseName = Literal["isolation", "overhead"]
Section = IsolationResult | OverheadResult


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
    name: str
    share: float

    def applies(self, ctx: PhaseContext) -> str | None:
        """None when the phase runs for this backend, else why not (recorded as "not measurable")."""

    def run(self, ctx: PhaseContext) -> Section | tuple[Section, ...]:
        """Measure; return the section(s) for the result."""


_PHASES: list[Phase] = []


def register_phase(phase: Phase) -> Phase:
    """Add a phase (the last registration of a name wins)."""
    global _PHASES
    _PHASES = [p for p in _PHASES if p.name != phase.name] + [phase]
    return phase


def registered() -> tuple[Phase, ...]:
    return tuple(_PHASES)


def fills(phase: Phase) -> tuple[PhaseName, ...]:
    """The result fields a phase fills."""
    declared = getattr(phase, "fills", None)
    if declared:
        return tuple(declared)
    return (phase.name,) if phase.name in ("isolation", "overhead") else ()  # type: ignore[return-value]


@contextmanager
def run_scope() -> Iterator[None]:
    """One bench run: afterwards every registered phase that keeps resources releases them."""
    try:
        yield
    finally:
        for phase in registered():
            close = getattr(phase, "close", None)
            if close is not None:
                close()


def _section(name: PhaseName, runtime: str, method: str, reason: str) -> Section:
    cls = IsolationResult if name == "isolation" else OverheadResult
    return cls(runtime=runtime, method=method, status="not measurable", reason=reason)


def run_phases(session: Session, backend: Backend, assets: Assets, options: BenchOptions, draft: Draft,
               window: Window, progress: ProgressFn | None,
               previous: Mapping[str, BenchResult] | None = None) -> None:
    """Run every registered phase for one backend and store its sections in ``draft``."""
    for phase in registered():
        left = window.left()
        deadline = None if left is None else time.monotonic() + max(0.0, phase.share * left)
        ctx = PhaseContext(session=session, backend=backend, assets=assets, options=options, deadline=deadline,
                           progress=progress, emulated=draft.emulated, previous=dict(previous or {}))
        why_not = phase.applies(ctx)
        if why_not is not None:
            sections: tuple[Section, ...] = tuple(_section(f, backend.name, f"{phase.name} phase", why_not)
                                                  for f in fills(phase))
        else:
            try:
                found = phase.run(ctx)
                sections = found if isinstance(found, tuple) else (found,)
            except BenchError as exc:
                sections = tuple(_section(f, backend.name, f"{phase.name} phase", str(exc)) for f in fills(phase))
            finally:
                session.release_all()
                session.flush_trash()
        for section in sections:
            setattr(draft, "isolation" if isinstance(section, IsolationResult) else "overhead", section)
