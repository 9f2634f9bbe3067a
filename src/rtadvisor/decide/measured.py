"""What this node's measured isolation and steady-state overhead say about a decision.

The bench files isolation figures (host system calls, whether the workload's own system calls reach
the host kernel, unconfined host processes), ``io_uring_supported`` and the overhead ratios to a
native process as evidence (:data:`rtadvisor.model.EVIDENCE_METRICS`). With ``--evidence`` a
decision

* carries those figures for the chosen runtime and each eligible alternative
  (``Decision.measured``), each with the backend that measured it and in what sense that backend is
  the runtime (the registry :data:`rtadvisor.model.STAND_INS`);
* gives the chosen runtime a reason line with its figures (source ``measured``);
* checks the facts the figures can contradict:

  - the workload needs io_uring and a runtime's ``io_uring_supported`` is 0 on this node: the
    practice rulebook treats that runtime as unusable for this workload (its ``P-node-usable``
    rule excludes it, the exclusion names the measurement); the sources' rulebook keeps its choice
    (their system stays as written) and a conflict names the measurement;
  - the workload needs a sandbox (strong isolation, untrusted or tenant code) and the chosen
    runtime, which the knowledge base rates as one (gVisor, Kata, a VM), let the probe's system
    call through to the host kernel: a conflict says this node's configuration does not give the
    claimed isolation (the choice stands: the rating is about the runtime, the figure about how
    it is set up here).

Only figures of the runtime itself (registry relations itself / through / same-engine) and not
emulated may contradict a fact: a stand-in's (the emulated micro-VM for Kata or a VM) are shown,
labelled as such, and never trigger either check. Pure: no I/O.
"""

from __future__ import annotations

from rtadvisor.kb import KnowledgeBase
from rtadvisor.model import (
    EVIDENCE_METRICS,
    Citation,
    Conflict,
    Decision,
    Evidence,
    KernelFeature,
    MeasuredFigure,
    Measurement,
    NextStep,
    Reason,
    TraceStep,
    stand_ins,
)

from .facts import Facts

#: Relations under which a backend measured the runtime itself (the store files those figures under
#: the runtime's id too); only these may contradict a fact of the knowledge base.
OWN_RELATIONS = ("itself", "through", "same-engine")
#: Families the knowledge base rates as sandboxes: the workload's system calls should not reach the host.
SANDBOX_FAMILIES = ("sandbox", "microvm", "vm")
#: overhead.<name>_ratio -> words for the reason line
_OVERHEAD_WORDS: dict[str, str] = {
    "null_call": "syscall loop", "file_write_fsync": "write+fsync", "file_read": "file read",
    "epoll_pingpong": "epoll ping-pong", "io_uring_nop": "io_uring no-op", "tcp_loopback": "TCP loopback",
    "cpu": "CPU loop",
}
_CITE = Citation(source="measured", title="rtadvisor bench on this node: isolation and steady-state overhead")


def _filed_backend(m: Measurement) -> str | None:
    """The backend a figure filed under a runtime's id came from (the store prefixes its method with
    ``measured by backend NAME (...)``)."""
    prefix = "measured by backend "
    if m.method.startswith(prefix):
        return m.method[len(prefix):].split(" ", 1)[0] or None
    return None


def figures(evidence: Evidence, runtime: str) -> tuple[MeasuredFigure, ...]:
    """The isolation and overhead figures the evidence holds about one knowledge-base runtime: per
    metric, the backend with the strongest relation to it (the runtime itself beats a path through
    containerd, which beats a stand-in); reference-only relatives are left out."""
    entries = stand_ins(runtime=runtime, judging_only=True)
    out: list[MeasuredFigure] = []
    for metric in EVIDENCE_METRICS:
        found: tuple[Measurement, str, str, str] | None = None
        for e in entries:
            m = evidence.get(e.backend, metric)
            if m is not None:
                found = (m, e.backend, e.relation, e.sense)
                break
        if found is None:
            # A figure filed under the runtime's own id whose backend is not in the evidence itself.
            m = evidence.get(runtime, metric)
            if m is not None:
                backend = _filed_backend(m) or runtime
                entry = next((e for e in entries if e.backend == backend), None)
                if entry is not None or backend == runtime:
                    found = (m, backend, entry.relation if entry else "itself", entry.sense if entry else "")
        if found is None:
            continue
        m, backend, relation, sense = found
        out.append(MeasuredFigure(runtime=runtime, metric=metric, value=m.value, unit=m.unit, n=m.n, host=m.host,
                                  date=m.date, method=m.method, run_id=m.run_id, backend=backend,
                                  relation=relation,  # type: ignore[arg-type]
                                  sense=sense, stand_in=relation not in OWN_RELATIONS, emulated=m.emulated))
    return tuple(out)


def _own(f: MeasuredFigure | None) -> bool:
    """May this figure contradict a fact? Only the runtime's own figure, not emulated."""
    return f is not None and not f.stand_in and not f.emulated


def _get(figs: tuple[MeasuredFigure, ...], metric: str) -> MeasuredFigure | None:
    return next((f for f in figs if f.metric == metric), None)


def _where(f: MeasuredFigure) -> str:
    return f"{f.host or 'the measured node'} ({(f.date or 'date unknown')[:10]})"


def io_uring_unsupported(evidence: Evidence | None, runtimes: tuple[str, ...]) -> dict[str, str]:
    """Runtimes whose own figures say io_uring is not supported on this node, with the reason in words."""
    out: dict[str, str] = {}
    if evidence is None:
        return out
    for rid in runtimes:
        f = _get(figures(evidence, rid), "io_uring_supported")
        if _own(f) and f is not None and f.value == 0:
            out[rid] = (f"measured on {_where(f)}: io_uring is not supported in {rid} on this node and the "
                        f"workload needs it ({f.method})")
    return out


def with_measured_exclusions(kb: KnowledgeBase, facts: Facts, evidence: Evidence | None) -> Facts:
    """The practice rulebook's facts with the runtimes a measurement rules out for this workload
    added to ``unusable`` (its P-node-usable rule then excludes them, naming the measurement)."""
    if evidence is None or KernelFeature.io_uring not in facts.kernel_features:
        return facts
    extra = io_uring_unsupported(evidence, tuple(kb.runtimes))
    if not extra:
        return facts
    merged = dict(facts.unusable)
    for rid, why in extra.items():
        merged.setdefault(rid, why)
    return facts.with_(unusable=tuple(sorted(merged.items())))


def displaced_first(reasons: list[Reason], displaced: str, why: str) -> list[Reason]:
    """The reasons with the measurement that ruled out the rules' own choice first (the rules'
    reason for ``displaced`` would otherwise head a verdict that chose another runtime)."""
    lead = Reason(text=f"{displaced}, which the rules would choose, is ruled out on this node: {why}", rule="P-node-usable",
                  cite=(_CITE,))
    return [lead, *(r for r in reasons if not (r.rule == "P-node-usable" and why in r.text))]


def reason_text(figs: tuple[MeasuredFigure, ...], kb: KnowledgeBase) -> str | None:
    """The chosen runtime's figures as one plain line, or None without figures."""
    if not figs:
        return None
    first = figs[0]
    name = kb.runtime(first.runtime).name
    hosts = sorted({f.host or "the measured node" for f in figs})
    dates = sorted({(f.date or "date unknown")[:10] for f in figs})
    where = f"{', '.join(hosts)} ({dates[0]}" + (f" to {dates[-1]})" if len(dates) > 1 else ")")
    backends = sorted({f.backend for f in figs})
    stand = [f for f in figs if f.stand_in]
    if stand:
        who = (f"measured on {where} on {', '.join(backends)}, a stand-in, NOT {name} "
               f"({stand[0].sense})" + ("; emulated (TCG)" if any(f.emulated for f in figs) else ""))
    else:
        who = f"measured on {where} by {', '.join(backends)}" + (
            " (emulated)" if any(f.emulated for f in figs) else "")
    parts: list[str] = []
    pt = _get(figs, "isolation.syscall_passthrough")
    if pt is not None:
        parts.append("the workload's system calls reach the host kernel" if pt.value
                     else "the workload's system calls do not reach the host kernel")
    distinct, calls = _get(figs, "isolation.host_syscalls_distinct"), _get(figs, "isolation.host_syscalls")
    if distinct is not None:
        parts.append(f"{distinct.value:g} distinct host system calls" + (
            f" ({calls.value:g} calls)" if calls is not None else "") + " while it runs")
    start = _get(figs, "isolation.startup_syscalls_distinct")
    if start is not None:
        parts.append(f"{start.value:g} distinct ones while it was created")
    unconf = _get(figs, "isolation.unconfined_processes")
    if unconf is not None:
        parts.append(f"{unconf.value:g} host process{'es' if unconf.value != 1 else ''} without a seccomp filter")
    uring = _get(figs, "io_uring_supported")
    if uring is not None:
        parts.append("io_uring supported" if uring.value else "io_uring NOT supported")
    ratios = [f for f in figs if f.metric.startswith("overhead.")]
    if ratios:
        ns = sorted({f.n for f in ratios})
        words = ", ".join(f"{_OVERHEAD_WORDS.get(f.metric[len('overhead.'):-len('_ratio')], f.metric)} "
                          f"{f.value:.3g}x" for f in ratios)
        n = f"n={ns[0]}" if len(ns) == 1 else f"n={ns[0]}-{ns[-1]}"
        parts.append(f"steady state vs native ({n} paired samples each, 1x = native speed): {words}")
    return f"{who}: " + "; ".join(parts) if parts else None


def annotate(kb: KnowledgeBase, d: Decision, facts: Facts, evidence: Evidence | None) -> Decision:
    """The decision with the measured figures, the reason line and the conflicts they raise."""
    if evidence is None:
        return d
    eligible = [a.runtime for a in sorted(d.alternatives, key=lambda a: a.rank)
                if a.excluded is None and a.runtime != d.runtime]
    # Runtimes a measurement excluded show their figures too (the exclusion names them).
    by_measurement = [a.runtime for a in sorted(d.alternatives, key=lambda a: a.rank)
                      if a.excluded is not None and "measured on " in a.excluded]
    shown: list[MeasuredFigure] = []
    for rid in [d.runtime, *eligible, *by_measurement]:
        shown.extend(figures(evidence, rid))
    chosen = tuple(f for f in shown if f.runtime == d.runtime)
    reasons = list(d.reasons)
    conflicts = list(d.conflicts)
    steps = list(d.next_steps)
    trace = list(d.trace)

    def step(rule: str, question: str, answer: str) -> None:
        trace.append(TraceStep(step=len(trace) + 1, kind="evidence", rule=rule, question=question, answer=answer,
                               source="measured"))

    text = reason_text(chosen, kb)
    if text:
        reasons.append(Reason(text=text, rule="measured", cite=(_CITE,)))
        step("measured", f"What did this node measure for {d.runtime}'s isolation and overhead?", text)
    rt = kb.runtime(d.runtime)
    name = rt.name
    winner = d.rulebook

    uring = _get(chosen, "io_uring_supported")
    if KernelFeature.io_uring in facts.kernel_features and _own(uring) and uring is not None and uring.value == 0:
        # Under practice the runtime was excluded before the choice; here the choice is kept.
        why = (f"the {d.rulebook} rulebook keeps {name} as its rules choose it, but on {_where(uring)} io_uring "
               f"is not supported in {d.runtime} ({uring.method}): the workload, which needs io_uring, will not "
               f"get it there as configured")
        conflicts.append(Conflict(id="measured-io_uring", topic=f"Does {name} offer io_uring on this node?",
                                  positions={"S-cases": "io_uring needs a container (the host kernel)",
                                             "measured": f"io_uring_supported = 0 in {uring.backend} on {_where(uring)}"},
                                  winner=winner, why=why))
        steps.append(NextStep(kind="node", text=f"io_uring: {why}; allow io_uring_setup/io_uring_enter/"
                                               "io_uring_register in the runtime's seccomp profile, or follow the "
                                               "practice rulebook", cite=(_CITE,)))
        step("measured-io_uring", f"Does {d.runtime} offer io_uring on this node?", f"no -> conflict: {why}")

    pt = _get(chosen, "isolation.syscall_passthrough")
    if facts.sandbox_needed and rt.family in SANDBOX_FAMILIES and _own(pt) and pt is not None and pt.value == 1:
        claimed = f"{name} is rated isolation {rt.isolation}/5 ({rt.isolation_rating.source})"
        why = (f"{claimed}, but on {_where(pt)} the probe workload's own system call reached the host kernel in "
               f"{pt.backend} ({pt.method}): this node's configuration of {name} does not give the claimed "
               f"isolation; the choice stands (the rating is about {name}, the figure about how it is set up here)")
        conflicts.append(Conflict(id="measured-passthrough",
                                  topic=f"Does {name} keep the workload's system calls off the host kernel here?",
                                  positions={rt.isolation_rating.source: claimed,
                                             "measured": f"syscall pass-through = 1 in {pt.backend} on {_where(pt)}"},
                                  winner=winner, why=why))
        steps.append(NextStep(kind="node", text=f"isolation: {why}; check {name}'s platform and configuration on "
                                               "these nodes before relying on it", cite=(_CITE,)))
        step("measured-passthrough", f"Do the workload's system calls stay off the host kernel in {d.runtime}?",
             f"no -> conflict: {why}")

    return d.model_copy(update={"measured": tuple(shown), "reasons": tuple(reasons), "conflicts": tuple(conflicts),
                                "next_steps": tuple(steps), "trace": tuple(trace)})
