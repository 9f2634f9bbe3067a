"""Ctrl-C and SIGTERM during a bench: stop the run, but never in the middle of a cleanup.

Two rules, both needed so that nothing is left behind (see ``docs/bench.md``, "Faults"):

* Outside cleanup, SIGINT raises :class:`KeyboardInterrupt` at once and SIGTERM raises
  :class:`Terminated` (a ``KeyboardInterrupt`` too), so every ``finally`` of the harness runs -- in
  whatever phase the run is (timing, memory sweep, a backend's daemon start-up).
* Inside :func:`deferred` (a cleanup), both are *recorded* and re-delivered when the outermost
  deferred block ends. The blocks are re-entrant and share one record: a signal caught by an inner
  block (an instance's cleanup inside the sweep's release-all) is never dropped -- that was the bug
  of the nested ``_no_sigint`` this replaces.

Signal handlers can only be installed from the main thread; elsewhere both helpers do nothing (the
main thread's handlers stay in charge).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI timeout, ``kill``, a node drain): unwinds like Ctrl-C; ``signum`` says which."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


_depth = 0
_pending: list[int] = []
_saved: dict[int, Any] = {}


def _record(signum: int, frame: FrameType | None) -> None:
    _pending.append(signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def deferred() -> Iterator[None]:
    """Run the block with SIGINT/SIGTERM deferred; re-deliver the first one caught when the
    outermost deferred block exits (to the handlers that were in force before it)."""
    global _depth
    if not _main_thread():
        yield
        return
    if _depth == 0:
        _pending.clear()
        for sig in _SIGNALS:
            _saved[sig] = signal.getsignal(sig)
            signal.signal(sig, _record)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            for sig in _SIGNALS:
                signal.signal(sig, _saved.pop(sig, signal.SIG_DFL))
            if _pending:
                first = _pending[0]
                _pending.clear()
                signal.raise_signal(first)  # the restored handler acts now: raise, exit or ignore


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


@contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` (unless someone already handles it),
    so a terminated bench cleans up exactly like an interrupted one instead of dying mid-way."""
    if not _main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    install = previous in (signal.SIG_DFL, None)
    if install:
        signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        if install and signal.getsignal(signal.SIGTERM) is _terminate:
            signal.signal(signal.SIGTERM, previous)
