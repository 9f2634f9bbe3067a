"""The agent's spool: bench results kept on local disk until the database has them.

Every finished run is written here *before* it is sent, and removed only after the database
committed it, so a database that is away, a killed agent or a restarted pod loses nothing: the
next agent run sends what it finds (saving is idempotent by run id, so a run sent just before a
kill and sent again is stored once).

* Writes are atomic: a temporary file in the same directory, fsync, rename, fsync of the
  directory. A reader never sees half a file; temporary files of a killed writer are swept when
  the spool is opened.
* One agent per spool: an exclusive ``flock`` on ``.lock`` (released by the kernel when the
  process dies, however it dies).
* Bounded: at most ``max_files`` runs; beyond that the oldest are dropped (and said so), so a
  database away for weeks cannot fill the node's disk.
* A file the database refuses for good (not a bench result, other content under a stored id) is
  moved to ``rejected/`` with the reason beside it, instead of blocking the queue forever.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from rtadvisor.errors import InputError
from rtadvisor.model import BenchRun

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TMP_MARK = ".tmp-"


@dataclass(frozen=True)
class Spooled:
    run_id: str
    path: Path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` all or nothing (temporary file, fsync, rename, fsync the directory)."""
    tmp = path.with_name(f".{path.name}{_TMP_MARK}{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class Spool:
    """A directory of pending runs, ``<run_id>.json`` each; open with :meth:`open`, then :meth:`close`."""

    def __init__(self, directory: Path, max_files: int, lock_fd: int) -> None:
        self.directory = directory
        self.max_files = max_files
        self._lock_fd: int | None = lock_fd

    @classmethod
    def open(cls, directory: str | Path, *, max_files: int = 200) -> Spool:
        """Create (0700) and lock the spool; sweep temporary files a killed agent left behind."""
        if max_files < 1:
            raise InputError(f"--spool-max: expected a positive number of runs, got {max_files}", field="spool_max")
        path = Path(directory).expanduser()
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not path.is_dir() or path.is_symlink():
                raise InputError(f"--spool {path}: not a directory", field="spool")
            fd = os.open(path / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise InputError(f"--spool {path}: cannot use it: {exc.strerror}", field="spool") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(f"--spool {path}: another rtadvisor agent is using it; give each agent its own spool",
                             field="spool") from None
        spool = cls(path, max_files, fd)
        for leftover in path.glob(f".*{_TMP_MARK}*"):
            leftover.unlink(missing_ok=True)
        return spool

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, run: BenchRun, on_drop: Callable[[str], None] | None = None) -> Spooled:
        """Keep ``run`` until :meth:`done` is called for it; drop the oldest beyond ``max_files``."""
        if not _SAFE_ID.match(run.run_id):
            raise InputError(f"run_id {run.run_id!r}: not usable as a file name", field="run_id")
        target = self.directory / f"{run.run_id}.json"
        atomic_write(target, run.model_dump_json().encode())
        self.trim(on_drop)
        return Spooled(run.run_id, target)

    def trim(self, on_drop: Callable[[str], None] | None = None) -> None:
        """Drop the oldest runs beyond ``max_files``."""
        pending = self.pending()
        for old in pending[: max(0, len(pending) - self.max_files)]:
            old.path.unlink(missing_ok=True)
            if on_drop:
                on_drop(f"spool full ({self.max_files} runs): dropped the oldest unsent run {old.run_id}")

    def pending(self) -> list[Spooled]:
        """Runs waiting to be sent, oldest first (run ids start with their UTC start time)."""
        found = [Spooled(p.stem, p) for p in self.directory.glob("*.json") if not p.name.startswith(".")]
        return sorted(found, key=lambda s: s.run_id)

    def done(self, item: Spooled) -> None:
        """The database has the run: forget it."""
        item.path.unlink(missing_ok=True)
        _fsync_dir(self.directory)

    def reject(self, item: Spooled, reason: str) -> Path:
        """Set aside a run the database refuses for good, with why."""
        rejected = self.directory / "rejected"
        rejected.mkdir(mode=0o700, exist_ok=True)
        target = rejected / item.path.name
        os.replace(item.path, target)
        atomic_write(rejected / f"{item.run_id}.reason.txt", (reason + "\n").encode())
        return target
