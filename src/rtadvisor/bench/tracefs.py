"""Kernel tracepoints through tracefs: a private mount, a private tracing instance, a parser.

Why tracefs and not ``strace``/``perf trace``: gVisor's ptrace platform owns ptrace (strace cannot
attach to it), and the measurement must follow every host process of a sandbox, including the ones a
daemon forks (containerd's shim), from their first instruction. The kernel does that itself: a
tracing *instance* with ``set_event_pid`` and ``options/event-fork`` records the events of the
listed tasks and of every task they fork, from the fork on.

Nothing on the host is changed or left behind:

* **mount**: if tracefs is already mounted in our mount namespace it is used as is (and never
  unmounted). Otherwise a helper process (``unshare --mount --propagation private``) mounts tracefs
  in its *own* mount namespace and we reach it through ``/proc/<helper>/root/sys/kernel/tracing``.
  The helper blocks reading its stdin, so it exits as soon as we close that pipe -- or die, even by
  SIGKILL -- and the mount goes away with its namespace. The host's mount table never changes.
* **instance**: ``instances/rtadvisor-<pid>-<random>``, our own ring buffer and settings (the
  global buffer and other users' instances are untouched); removed on close. An instance left by a
  SIGKILLed run (its pid is dead) is removed by :func:`sweep_stale_instances` on the next run.

Only the ``function`` tracer needs more than events; :meth:`TraceInstance.function_tracer_refusal`
asks the kernel whether it allows it (this node's kernel is locked down and refuses it).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Self

from rtadvisor.errors import BenchError

#: Where tracefs is conventionally mounted (and where the private helper mounts it).
TRACEFS_MOUNT = Path("/sys/kernel/tracing")
INSTANCE_PREFIX = "rtadvisor-"
#: Events recorded: every system call entry the host kernel executes, plus process lineage.
DEFAULT_EVENTS: tuple[str, ...] = (
    "raw_syscalls:sys_enter",
    "sched:sched_process_fork",
    "sched:sched_process_exec",
)
#: Per-CPU ring buffer of an instance (KiB). A traced probe window is a few thousand events.
DEFAULT_BUFFER_KB = 8192
_UNISTD_CANDIDATES = (
    "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
    "/usr/include/asm/unistd_64.h",
    "/usr/include/asm-generic/unistd.h",
)


def _tracefs_in_namespace() -> Path | None:
    """A tracefs mount point visible in our own mount namespace, if any (read-only check)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        left, _, right = line.partition(" - ")
        if right.split()[:1] == ["tracefs"]:
            point = Path(left.split()[4].replace("\\040", " "))
            if (point / "instances").is_dir():
                return point
    return None


class TraceFS(contextlib.AbstractContextManager["TraceFS"]):
    """Access to tracefs for the duration of a ``with`` block (see the module docstring).

    >>> with TraceFS() as fs:                      # doctest: +SKIP
    ...     with fs.instance() as inst: ...
    """

    def __init__(self, *, start_timeout_s: float = 10.0, sweep: bool = True) -> None:
        self.root: Path | None = None
        self.private = False
        self._helper: subprocess.Popen[bytes] | None = None
        self._timeout = start_timeout_s
        self._sweep = sweep  # remove the instances of dead runs on entry

    def __enter__(self) -> Self:
        if os.geteuid() != 0:
            raise BenchError("kernel tracing needs root (tracefs)")
        existing = _tracefs_in_namespace()
        if existing is not None:
            self.root = existing
        else:
            self._start_helper()
        assert self.root is not None
        if self._sweep:
            sweep_stale_instances(self.root)
        return self

    def _start_helper(self) -> None:
        unshare = shutil.which("unshare")
        if unshare is None:
            raise BenchError("unshare(1) (util-linux) is needed to mount tracefs privately")
        script = 'mount -t tracefs nodev "$0" || exit 1; echo rtadvisor-tracefs-ready; exec cat >/dev/null'
        try:
            self._helper = subprocess.Popen(
                [unshare, "--mount", "--propagation", "private", "--", "sh", "-c", script, str(TRACEFS_MOUNT)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise BenchError(f"cannot start the tracefs helper: {exc}") from exc
        assert self._helper.stdout is not None
        import select

        ready, _, _ = select.select([self._helper.stdout], [], [], self._timeout)
        line = self._helper.stdout.readline() if ready else b""
        if b"rtadvisor-tracefs-ready" not in line:
            err = b""
            if self._helper.poll() is not None and self._helper.stderr is not None:
                err = self._helper.stderr.read()
            self.close()
            raise BenchError("cannot mount tracefs in a private mount namespace: "
                             + (err.decode(errors="replace").strip() or "no answer from the helper"))
        self.root = Path(f"/proc/{self._helper.pid}/root") / TRACEFS_MOUNT.relative_to("/")
        self.private = True

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the helper (its mount namespace, and the mount, go with it)."""
        helper, self._helper = self._helper, None
        if helper is not None:
            for stream in (helper.stdin, helper.stdout, helper.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            try:
                helper.wait(timeout=5)
            except subprocess.TimeoutExpired:
                helper.kill()
                helper.wait(timeout=5)
        self.root = None

    @property
    def method(self) -> str:
        """One line for the output: how tracefs was reached."""
        if self.private:
            return "tracefs mounted in a private mount namespace (host mounts unchanged)"
        return f"tracefs already mounted at {self.root}"

    def instance(self, *, buffer_kb: int = DEFAULT_BUFFER_KB,
                 events: Iterable[str] = DEFAULT_EVENTS) -> TraceInstance:
        """A fresh private tracing instance (a context manager that removes it)."""
        if self.root is None:
            raise BenchError("TraceFS used outside its with-block")
        name = f"{INSTANCE_PREFIX}{os.getpid()}-{os.urandom(3).hex()}"
        return TraceInstance(self.root / "instances" / name, buffer_kb=buffer_kb, events=tuple(events))


def stale_instances(root: Path) -> dict[Path, int]:
    """Our instances whose creating process is gone (a run killed by SIGKILL): path -> dead pid."""
    found: dict[Path, int] = {}
    with contextlib.suppress(OSError):
        for inst in (root / "instances").iterdir():
            match = re.fullmatch(rf"{INSTANCE_PREFIX}(\d+)-[0-9a-f]+", inst.name)
            if match is not None and not Path(f"/proc/{match.group(1)}").exists():
                found[inst] = int(match.group(1))
    return found


def remove_instance(inst: Path) -> None:
    """Stop and remove one tracing instance (OSError if the kernel refuses)."""
    _write(inst / "tracing_on", "0")
    inst.rmdir()


def sweep_stale_instances(root: Path) -> list[str]:
    """Remove our instances whose creating process is gone (a run killed by SIGKILL). Returns names."""
    removed: list[str] = []
    for inst in stale_instances(root):
        with contextlib.suppress(OSError):
            remove_instance(inst)
            removed.append(inst.name)
    return removed


def _write(path: Path, text: str, *, append: bool = False) -> None:
    flags = os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


class TraceInstance(contextlib.AbstractContextManager["TraceInstance"]):
    """One tracing instance: its pid filter (following forks), events, markers, and its buffer."""

    def __init__(self, path: Path, *, buffer_kb: int, events: tuple[str, ...]) -> None:
        self.path = path
        self.buffer_kb = buffer_kb
        self.events = events
        self._marker_fd: int | None = None

    def __enter__(self) -> Self:
        try:
            self.path.mkdir()
        except OSError as exc:
            raise BenchError(f"cannot create tracing instance {self.path.name}: {exc.strerror}") from exc
        try:
            _write(self.path / "tracing_on", "0")
            _write(self.path / "buffer_size_kb", str(self.buffer_kb))
            _write(self.path / "options" / "event-fork", "1")
            with contextlib.suppress(OSError):  # groups threads into processes in the output
                _write(self.path / "options" / "record-tgid", "1")
            for event in self.events:
                _write(self.path / "set_event", event + "\n", append=True)
            self._marker_fd = os.open(self.path / "trace_marker", os.O_WRONLY)
        except OSError as exc:
            self.close()
            raise BenchError(f"cannot configure tracing instance {self.path.name}: {exc.strerror or exc}") from exc
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop, clear the filters and remove the instance (rmdir retries while a reader lingers)."""
        if self._marker_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._marker_fd)
            self._marker_fd = None
        if not self.path.exists():
            return
        for name, value in (("tracing_on", "0"), ("set_event", ""), ("set_event_pid", "")):
            with contextlib.suppress(OSError):
                _write(self.path / name, value)
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError as exc:
                if exc.errno != errno.EBUSY:
                    return
                time.sleep(0.02)

    # -------------------------------------------------------------------- control
    def reset(self) -> None:
        """Tracing off, buffer cleared, pid filter empty: ready for the next launch."""
        _write(self.path / "tracing_on", "0")
        _write(self.path / "set_event_pid", "")
        _write(self.path / "trace", "")

    def follow(self, pids: Iterable[int]) -> None:
        """Record these tasks (thread ids) and everything they fork from now on."""
        text = " ".join(str(p) for p in sorted(set(pids)))
        if text:
            _write(self.path / "set_event_pid", text + "\n", append=True)

    def followed(self) -> set[int]:
        """The task ids currently in the pid filter (forks added, exits removed by the kernel)."""
        try:
            return {int(t) for t in (self.path / "set_event_pid").read_text().split() if t.isdigit()}
        except OSError:
            return set()

    def on(self) -> None:
        _write(self.path / "tracing_on", "1")

    def off(self) -> None:
        _write(self.path / "tracing_on", "0")

    def mark(self, text: str) -> None:
        """A marker line in the buffer, ordered with the events (``tracing_mark_write: text``)."""
        assert self._marker_fd is not None
        os.write(self._marker_fd, text.encode())

    def read(self) -> str:
        """The buffer as text (non-consuming)."""
        return (self.path / "trace").read_text(errors="replace")

    def lost_events(self) -> int:
        """Events the ring buffer lost (overrun + dropped) since the last reset."""
        lost = 0
        for stats in (self.path / "per_cpu").glob("cpu*/stats"):
            with contextlib.suppress(OSError, ValueError):
                for line in stats.read_text().splitlines():
                    key, _, value = line.partition(":")
                    if key.strip() in ("overrun", "dropped events"):
                        lost += int(value.split()[0])
        return lost

    def function_tracer_refusal(self) -> str | None:
        """None if this kernel lets the instance run the ``function`` tracer, else why not.

        Asks the kernel by trying (then sets ``nop`` back): the tracer can be listed in
        ``available_tracers`` and still be refused, e.g. under kernel lockdown."""
        try:
            available = (self.path / "available_tracers").read_text().split()
        except OSError as exc:
            return f"available_tracers unreadable ({exc.strerror})"
        if "function" not in available:
            return "the kernel has no function tracer (CONFIG_FUNCTION_TRACER off)"
        try:
            _write(self.path / "current_tracer", "function")
        except OSError as exc:
            name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
            lockdown = " (the kernel is locked down)" if _locked_down() else ""
            return (f"the kernel refuses the function tracer: writing 'function' to current_tracer fails "
                    f"with {name}{lockdown}")
        with contextlib.suppress(OSError):
            _write(self.path / "current_tracer", "nop")
        try:
            (self.path / "set_ftrace_pid").read_text()
        except OSError as exc:
            return f"set_ftrace_pid is not usable ({errno.errorcode.get(exc.errno or 0, exc.errno)})"
        return None

    # -------------------------------------------------------------------- function tracing
    def function_trace(self, pids: Iterable[int]) -> FunctionTrace:
        """Switch the instance to the function tracer filtered to ``pids`` (following forks)."""
        return FunctionTrace(self, tuple(pids))


class FunctionTrace(contextlib.AbstractContextManager["FunctionTrace"]):
    """The ``function`` tracer on an instance, filtered by ``set_ftrace_pid`` + ``function-fork``;
    restores ``nop`` on exit. Used only where :meth:`TraceInstance.function_tracer_refusal` is None."""

    def __init__(self, instance: TraceInstance, pids: tuple[int, ...]) -> None:
        self.instance = instance
        self.pids = pids

    def __enter__(self) -> Self:
        path = self.instance.path
        _write(path / "options" / "function-fork", "1")
        _write(path / "set_ftrace_pid", " ".join(map(str, self.pids)) + "\n")
        _write(path / "current_tracer", "function")
        return self

    def __exit__(self, *exc: object) -> None:
        path = self.instance.path
        for name, value in (("current_tracer", "nop"), ("set_ftrace_pid", ""), ("options/function-fork", "0")):
            with contextlib.suppress(OSError):
                _write(path / name, value)


def _locked_down() -> bool:
    try:
        text = Path("/sys/kernel/security/lockdown").read_text()
        return "[none]" not in text
    except OSError:
        pass
    try:  # without securityfs: the boot message
        out = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "Kernel is locked down" in out


# ------------------------------------------------------------------------------------ syscall names


@lru_cache(maxsize=1)
def syscall_names() -> dict[int, str]:
    """x86-64 system call numbers -> names, from the kernel headers (Debian ``linux-libc-dev``)."""
    for candidate in _UNISTD_CANDIDATES:
        try:
            text = Path(candidate).read_text()
        except OSError:
            continue
        table = {int(nr): name for name, nr in re.findall(r"#define\s+__NR_(\w+)\s+(\d+)\b", text)}
        if table:
            return table
    return {}


def syscall_name(nr: int) -> str:
    return syscall_names().get(nr, f"syscall_{nr}")


def syscall_number(name: str) -> int | None:
    for nr, known in syscall_names().items():
        if known == name:
            return nr
    return None


# ------------------------------------------------------------------------------------ parsing

#: ``comm-pid (tgid) [cpu] flags timestamp: event: body`` (the tgid column with options/record-tgid)
_LINE = re.compile(
    r"^\s*(?P<comm>.*?)-(?P<pid>\d+)\s+(?:\(\s*(?P<tgid>[-\d]+)\)\s+)?\[(?P<cpu>\d+)\]\s+(?P<flags>\S+)\s+"
    r"(?P<ts>\d+\.\d+):\s+(?P<event>\w+):\s?(?P<body>.*)$")
_SYS_ENTER = re.compile(r"NR (?P<nr>-?\d+) \((?P<args>[^)]*)\)")
_FORK = re.compile(r"comm=(?P<comm>.*) pid=(?P<pid>\d+) child_comm=(?P<child_comm>.*) child_pid=(?P<child>\d+)")
_EXEC = re.compile(r"filename=(?P<filename>.*) pid=(?P<pid>\d+) old_pid=(?P<old>\d+)")
_FUNCTION = re.compile(r"^(?P<func>[\w.$]+)(?:\s+<-(?P<parent>\S+))?$")


@dataclass(frozen=True)
class SyscallEvent:
    pid: int
    tgid: int | None
    comm: str
    nr: int
    args: tuple[int, ...]
    window: str
    seq: int = 0  # position in the trace


@dataclass
class ParsedTrace:
    """A trace split into windows by our markers (``rtadvisor-window <name>``)."""

    syscalls: list[SyscallEvent] = field(default_factory=list)
    forks: list[tuple[int, int, str]] = field(default_factory=list)  # (parent pid, child pid, child comm)
    execs: dict[int, str] = field(default_factory=dict)  # pid -> last filename executed
    first_exec: dict[int, int] = field(default_factory=dict)  # pid -> position of its first exec
    comms: dict[int, str] = field(default_factory=dict)  # task id -> comm as last seen
    tgids: dict[int, int] = field(default_factory=dict)  # task id -> tgid (from record-tgid)
    functions: dict[str, set[str]] = field(default_factory=dict)  # window -> distinct functions
    windows: list[str] = field(default_factory=list)  # marker order


MARKER = "rtadvisor-window "


def parse_trace(text: str, *, first_window: str = "startup") -> ParsedTrace:
    """Parse an instance's ``trace`` text. Lines before the first marker belong to ``first_window``."""
    out = ParsedTrace(windows=[first_window])
    window = first_window
    for seq, line in enumerate(text.splitlines()):
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            continue
        pid = int(match["pid"])
        comm = match["comm"].strip()
        tgid = int(match["tgid"]) if match["tgid"] and match["tgid"].lstrip("-").isdigit() else None
        if tgid is not None and tgid > 0:
            out.tgids[pid] = tgid
        if comm and comm != "<...>":
            out.comms[pid] = comm
        event, body = match["event"], match["body"]
        if event == "sys_enter":
            sys_match = _SYS_ENTER.match(body)
            if sys_match:
                args = tuple(int(a, 16) for a in sys_match["args"].split(",") if a.strip())
                out.syscalls.append(SyscallEvent(pid, tgid, comm, int(sys_match["nr"]), args, window, seq))
        elif event == "tracing_mark_write":
            if body.startswith(MARKER):
                window = body[len(MARKER):].strip()
                out.windows.append(window)
        elif event == "sched_process_fork":
            fork = _FORK.match(body)
            if fork:
                out.forks.append((int(fork["pid"]), int(fork["child"]), fork["child_comm"]))
                out.comms.setdefault(int(fork["child"]), fork["child_comm"])
        elif event == "sched_process_exec":
            ex = _EXEC.match(body)
            if ex:
                out.execs[int(ex["pid"])] = ex["filename"]
                out.first_exec.setdefault(int(ex["pid"]), seq)
        elif event == "function":
            fn = _FUNCTION.match(body.strip())
            if fn:
                out.functions.setdefault(window, set()).add(fn["func"])
    return out


def tasks_of(pids: Iterable[int]) -> Iterator[int]:
    """Every thread id of the given processes (what ``set_event_pid`` filters on)."""
    for pid in pids:
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                if task.name.isdigit():
                    yield int(task.name)
        except OSError:
            continue
