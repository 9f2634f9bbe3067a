"""Runtime backends: one module per runtime family, all behind :class:`~.base.Backend`.

The registry imports a fixed list of backend modules (``_MODULES``); each module calls
:func:`register` for the backends it provides. A module that does not exist yet is skipped (only a
``ModuleNotFoundError`` for that very module is tolerated; any other import error is a bug and
propagates). Adding a runtime = one new module + one entry in ``_MODULES``.

>>> from rtadvisor import backends
>>> backends.probe("native").usable
True
>>> backends.get("native").family
'native'
"""

from __future__ import annotations

import importlib
import threading

from rtadvisor.errors import InputError

from .base import Assets, Availability, Backend, LaunchPlan

__all__ = [
    "DEFAULT_ORDER",
    "Assets",
    "Availability",
    "Backend",
    "LaunchPlan",
    "all_backends",
    "get",
    "names",
    "probe",
    "register",
]

# Modules that provide backends, in the order they are loaded.
_MODULES: tuple[str, ...] = ("native", "oci", "containerd", "microvm", "wasm")

# The order results are shown in (known names first, then anything registered later).
DEFAULT_ORDER: tuple[str, ...] = (
    "native", "runc", "crun", "runsc", "containerd", "containerd-runsc", "microvm",
    "wasmtime", "node-wasi", "wasmedge", "wasmtime-cli", "wasmer", "iwasm",
)

# Which module is expected to provide a name (for a helpful "not available" reason).
_PROVIDER: dict[str, str] = {
    "runc": "oci", "crun": "oci", "runsc": "oci", "containerd": "containerd",
    "containerd-runsc": "containerd", "microvm": "microvm",
}

_REGISTRY: dict[str, Backend] = {}
_loaded = False
_loading = False
#: The web server answers from several threads: a second thread must wait for the first one's
#: imports instead of seeing a half-filled registry (it once listed the backends in another order).
_LOCK = threading.RLock()


def register(backend: Backend) -> Backend:
    """Register a backend instance under ``backend.name`` (the last registration wins)."""
    _REGISTRY[backend.name] = backend
    return backend


def _load() -> None:
    global _loaded, _loading
    if _loaded:
        return
    with _LOCK:
        if _loaded or _loading:  # done meanwhile, or re-entered by a module being imported here
            return
        _loading = True
        try:
            for module in _MODULES:
                qualified = f"{__name__}.{module}"
                try:
                    importlib.import_module(qualified)
                except ModuleNotFoundError as exc:
                    if exc.name != qualified:  # a real missing dependency inside the module: a bug
                        raise
            _loaded = True
        finally:
            _loading = False


def names() -> tuple[str, ...]:
    """Every registered backend name, in display order."""
    _load()
    known = [n for n in DEFAULT_ORDER if n in _REGISTRY]
    return tuple(known + sorted(n for n in _REGISTRY if n not in DEFAULT_ORDER))


def all_backends() -> tuple[Backend, ...]:
    """Every registered backend, in display order."""
    return tuple(_REGISTRY[n] for n in names())


def get(name: str) -> Backend:
    """The backend called ``name``; an :class:`InputError` naming the known ones otherwise."""
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown runtime {name!r}: expected one of {', '.join(names())}") from None


def probe(name: str) -> Availability:
    """Availability of ``name``; an unknown or not-yet-provided backend is simply not usable."""
    _load()
    backend = _REGISTRY.get(name)
    if backend is None:
        provider = _PROVIDER.get(name)
        if provider is not None:
            reason = f"backend module rtadvisor.backends.{provider} is not available in this build"
        else:
            reason = f"unknown runtime {name!r} (known: {', '.join(names())})"
        return Availability(name=name, usable=False, reason=reason)
    return backend.probe()
