"""Node assets for the bench (``prepare``): the built-in workloads and each backend's bundles."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rtadvisor.errors import BenchError, InputError, RtadvisorError
from rtadvisor.model import PrepareOutcome, PrepareReport


def backend_names() -> tuple[str, ...]:
    """Every bench backend, usable here or not."""
    from rtadvisor import backends

    return tuple(backends.names())


def check_backends(names: Sequence[str], option: str = "--runtimes") -> list[str]:
    """``names`` if each is a bench backend, else one InputError naming the first unknown one."""
    known = backend_names()
    for name in names:
        if name not in known:
            raise InputError(f"{option}: unknown runtime {name!r}: expected one of {', '.join(known)}",
                             field=option.lstrip("-"))
    return list(names)


def prepare(
    runtimes: Sequence[str] | None = None,
    on_outcome: Callable[[PrepareOutcome], None] | None = None,
) -> PrepareReport:
    """Build the built-in workloads (hello/idle, native and Wasm) and prepare each usable backend
    (bundles, the micro-VM kernel). A backend that is not usable here is skipped with its reason;
    any that fails is reported and, after all were tried, raises ``BenchError`` naming each."""
    from rtadvisor import backends
    from rtadvisor.backends.base import Assets
    from rtadvisor.kb import save_cache
    from rtadvisor.workloads import ensure_built, wasi_toolchain_missing

    save_cache()  # the validated knowledge base, so commands start without re-validating it
    names = check_backends(runtimes) if runtimes else list(backends.names())
    assets = Assets()
    built = ensure_built(assets, wasm=wasi_toolchain_missing() is None)
    outcomes: list[PrepareOutcome] = []
    for name in names:
        availability = backends.probe(name)
        if not availability.usable:
            outcome = PrepareOutcome(runtime=name, status="skipped", reason=availability.reason or "")
        else:
            try:
                backends.get(name).prepare(assets)
                outcome = PrepareOutcome(runtime=name, status="ready")
            except RtadvisorError as exc:
                outcome = PrepareOutcome(runtime=name, status="failed", reason=str(exc))
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    failures = [o for o in outcomes if o.status == "failed"]
    if failures:
        raise BenchError("prepare failed for " + "; ".join(f"{o.runtime}: {o.reason}" for o in failures))
    return PrepareReport(built=len(built.built), fresh=len(built.fresh), outcomes=tuple(outcomes))
