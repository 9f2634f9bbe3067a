"""Process plumbing for the harness: spawn with low overhead, wait precisely, kill and reap everything.

Timed commands are started with ``os.posix_spawn`` (vfork+exec in glibc, no Python-side work between
the clock reads) in a new process group -- not a new session: ``setsid`` would also create a new
scheduler autogroup (``kernel.sched_autogroup_enabled=1`` here), which costs time and changes how
the child is scheduled against hyperfine's children -- stdout into a pipe, and waited for through a pidfd so that the
wait has a timeout and the pipe is drained while waiting (no deadlock on a chatty process). This
keeps the harness's own overhead near hyperfine's (see ``benchmarks/harness_accuracy.py``).

Every spawned process is registered with a :class:`ProcessGuard`; ``guard.kill_all()`` SIGKILLs
each one's process group and reaps it. PID 1 on this machine reaps orphans late, so we reap our own.
"""

from __future__ import annotations

import errno
import fcntl
import os
import resource
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from rtadvisor.backends.base import OWNER_TAG_PREFIX, Command, owner_tag, process_start_ticks  # noqa: F401
from rtadvisor.errors import BenchError

_F_SETPIPE_SZ = 1031  # Linux fcntl; bigger pipe so typical outputs never block the child
#: stdout kept per process; the rest is read (so the process never blocks) and dropped, so that a
#: process printing without end costs bounded memory (its stage timeout bounds the time).
OUTPUT_KEEP = 1 << 20


@dataclass
class Spawned:
    """A process we started: pid, a pidfd to wait on, and the read end of its stdout pipe."""

    pid: int
    pidfd: int
    stdout_fd: int
    argv: tuple[str, ...]
    started_ns: int
    output: bytearray = field(default_factory=bytearray)
    stderr_fd: int = -1  # a memfd: no pipe to drain, readable after exit for error messages
    big_pipe: bool = False  # a 1 MiB stdout pipe: wait on the pidfd alone, drain every 50 ms
    returncode: int | None = None
    rusage: resource.struct_rusage | None = None
    discarded: int = 0  # stdout bytes beyond OUTPUT_KEEP, read and dropped

    @property
    def stdout(self) -> str:
        return self.output.decode("utf-8", "replace")

    def stderr_tail(self, limit: int = 300) -> str:
        """The end of what the process wrote to stderr (empty once its fds are closed)."""
        if self.stderr_fd < 0:
            return ""
        try:
            size = os.fstat(self.stderr_fd).st_size
            data = os.pread(self.stderr_fd, limit, max(0, size - limit))
        except OSError:
            return ""
        return data.decode("utf-8", "replace").strip()


@dataclass(frozen=True)
class Exited:
    """The outcome of a command run to completion."""

    returncode: int
    stdout: str
    stderr: str
    elapsed_ms: float
    cpu_ms: float  # user + system CPU of the process and the descendants it waited for


def _resolve(argv0: str, env: Mapping[str, str]) -> str:
    if "/" in argv0:
        return argv0
    found = shutil.which(argv0, path=env.get("PATH", os.defpath))
    if found is None:
        raise BenchError(f"command not found: {argv0}")
    return found


#: Every process the harness starts carries ``RTADVISOR_BENCH_TOKEN=<guard token>`` in its
#: environment (inherited by whatever it starts in turn). ``kill_all`` sweeps /proc for the token, so a
#: process whose pid never reached the guard's table -- Ctrl-C landing between ``posix_spawn`` and the
#: registration, or a detached grandchild -- is still found and killed.
TOKEN_VARIABLE = "RTADVISOR_BENCH_TOKEN"


def build_env(command: Command, token: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if command.env:
        env.update(command.env)
    if token is not None:
        env[TOKEN_VARIABLE] = token
    return env


def pids_with_env(variable: str, value: str) -> set[int]:
    """Pids of the processes (other than us) whose environment has ``variable=value``."""
    needle = f"{variable}={value}".encode() + b"\0"
    me = os.getpid()
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if needle in fh.read() + b"\0":
                    found.add(int(entry))
        except OSError:  # gone, or a kernel thread
            continue
    return found


class ProcessGuard:
    """Tracks every process the harness starts; ``kill_all`` leaves none behind."""

    def __init__(self) -> None:
        self.live: dict[int, Spawned] = {}
        self.token = owner_tag()

    # ------------------------------------------------------------------ spawning

    def spawn(self, command: Command) -> Spawned:
        """Start ``command`` in its own process group, stdout on a pipe, stdin from ``command.stdin``."""
        env = build_env(command, self.token)
        path = _resolve(command.argv[0], env)
        read_fd, write_fd = os.pipe()
        big_pipe = True
        try:
            fcntl.fcntl(write_fd, _F_SETPIPE_SZ, 1 << 20)
        except OSError:
            big_pipe = False  # pipe-max-size may be lower; then drain while waiting
        stdin_fd = os.open(os.devnull, os.O_RDONLY)
        if command.stdin:
            stdin_read, stdin_write = os.pipe()
            os.write(stdin_write, command.stdin)  # small inputs only: the pipe buffer holds them
            os.close(stdin_write)
            os.close(stdin_fd)
            stdin_fd = stdin_read
        errfd = os.memfd_create("rtadvisor-stderr", os.MFD_CLOEXEC)
        try:
            started = time.perf_counter_ns()
            if command.cwd is None:
                pid = os.posix_spawn(
                    path, list(command.argv), env, setpgroup=0,
                    file_actions=[
                        (os.POSIX_SPAWN_DUP2, stdin_fd, 0),
                        (os.POSIX_SPAWN_DUP2, write_fd, 1),
                        (os.POSIX_SPAWN_DUP2, errfd, 2),
                        (os.POSIX_SPAWN_CLOSE, read_fd),
                    ],
                )
            else:  # posix_spawn has no chdir action in Python; Popen's fork/exec does
                proc = subprocess.Popen(
                    [path, *command.argv[1:]], env=env, cwd=command.cwd, stdin=stdin_fd,
                    stdout=write_fd, stderr=errfd, process_group=0, close_fds=True,
                )
                pid = proc.pid
                proc.returncode = 0  # we reap it ourselves via wait4; stop Popen from doing so
        except OSError as exc:
            os.close(read_fd)
            raise BenchError(f"cannot start {command.argv[0]}: {exc.strerror or exc}") from exc
        except BaseException:
            os.close(errfd)
            raise
        finally:
            os.close(write_fd)
            os.close(stdin_fd)
        pidfd = os.pidfd_open(pid)
        spawned = Spawned(pid=pid, pidfd=pidfd, stdout_fd=read_fd, argv=command.argv, started_ns=started,
                          stderr_fd=errfd, big_pipe=big_pipe)
        self.live[pid] = spawned
        return spawned

    # ------------------------------------------------------------------ waiting

    def _drain(self, sp: Spawned) -> bool:
        """Read what is available; False at EOF."""
        if sp.stdout_fd < 0:
            return False
        try:
            chunk = os.read(sp.stdout_fd, 1 << 16)
        except BlockingIOError:
            return True
        if not chunk:
            os.close(sp.stdout_fd)
            sp.stdout_fd = -1
            return False
        room = OUTPUT_KEEP - len(sp.output)
        if room > 0:
            sp.output.extend(chunk[:room])
        sp.discarded += max(0, len(chunk) - max(room, 0))
        return True

    def wait_exit(self, sp: Spawned, timeout_s: float, *, reap: bool = False) -> Exited:
        """Wait for exit (draining stdout); on timeout kill the group and raise BenchError.

        ``reap``: also reap orphans that exit meanwhile (untimed cleanup commands). As a child
        subreaper we inherit e.g. a runsc sandbox when its launcher exits; ``runsc delete`` waits
        for that sandbox to disappear, and an unreaped zombie never does: 5 s per sandbox until
        runsc gives up, unless we reap it while ``delete`` waits."""
        deadline = time.monotonic() + timeout_s
        if sp.big_pipe and sp.stdout_fd >= 0:
            os.set_blocking(sp.stdout_fd, False)
        while True:
            # With a big pipe, waking up for every write would add a context switch to short
            # runs (measurable against hyperfine): wait for the exit alone, drain now and then.
            watch_stdout = sp.stdout_fd >= 0 and not sp.big_pipe
            fds = [sp.pidfd] + ([sp.stdout_fd] if watch_stdout else [])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill(sp)
                raise BenchError(f"{' '.join(sp.argv[:3])} timed out after {timeout_s:g} s")
            if reap:
                reap_orphans(self)
            poll = 0.05 if (sp.big_pipe or reap) else remaining
            ready, _, _ = select.select(fds, [], [], min(remaining, poll))
            if sp.stdout_fd in ready or (sp.big_pipe and sp.pidfd not in ready):
                self._drain(sp)
            if sp.pidfd in ready:
                break
        _, status, usage = os.wait4(sp.pid, 0)
        elapsed_ms = (time.perf_counter_ns() - sp.started_ns) / 1e6
        sp.returncode = os.waitstatus_to_exitcode(status)
        sp.rusage = usage
        # Whatever the process wrote before exiting is in the pipe; a grandchild that kept the
        # pipe open (a daemonised shim) must not block us, so read without waiting for EOF.
        if sp.stdout_fd >= 0:
            os.set_blocking(sp.stdout_fd, False)
            while self._drain(sp):
                if not select.select([sp.stdout_fd], [], [], 0)[0]:
                    break
        stderr = sp.stderr_tail()
        self._close_fds(sp)
        # The process group stays registered: a launcher may leave a detached child in it (e.g. a
        # container's init) that must live until the instance's cleanup, which then kills the group.
        cpu_ms = (usage.ru_utime + usage.ru_stime) * 1000.0
        return Exited(returncode=sp.returncode, stdout=sp.stdout, stderr=stderr, elapsed_ms=elapsed_ms,
                      cpu_ms=cpu_ms)

    def wait_ready(self, sp: Spawned, line: str, timeout_s: float) -> float:
        """Wait until ``line`` appears on stdout; returns elapsed ms. The process keeps running."""
        deadline = time.monotonic() + timeout_s
        needle = line.encode()
        while needle not in sp.output:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"{' '.join(sp.argv[:3])}: no {line!r} within {timeout_s:g} s")
            fds = ([sp.pidfd] if sp.returncode is None else []) + ([sp.stdout_fd] if sp.stdout_fd >= 0 else [])
            if not fds:  # exited and EOF: the line never came
                raise BenchError(
                    f"{' '.join(sp.argv[:3])} exited with {sp.returncode} before printing {line!r}"
                    + _tail(sp.stdout, sp.stderr_tail())
                )
            ready, _, _ = select.select(fds, [], [], remaining)
            if sp.stdout_fd in ready:
                self._drain(sp)
                continue
            if sp.pidfd in ready and sp.returncode is None:
                # The stage process exited. A detaching launcher (``runc run -d``) exits 0 while its
                # detached child keeps the pipe and prints the line later: keep reading. Its process
                # group stays alive until cleanup.
                _, status, _ = os.wait4(sp.pid, 0)
                sp.returncode = os.waitstatus_to_exitcode(status)
                if sp.returncode != 0:
                    self._drain(sp)
                    if needle in sp.output:
                        break
                    raise BenchError(
                        f"{' '.join(sp.argv[:3])} exited with {sp.returncode} before printing {line!r}"
                        + _tail(sp.stdout, sp.stderr_tail())
                    )
        return (time.perf_counter_ns() - sp.started_ns) / 1e6

    # ------------------------------------------------------------------ killing

    def _close_fds(self, sp: Spawned) -> None:
        for fd in (sp.pidfd, sp.stdout_fd, sp.stderr_fd):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        sp.pidfd = sp.stdout_fd = sp.stderr_fd = -1

    def kill(self, sp: Spawned) -> None:
        """SIGKILL the process group of ``sp`` (what is left of it) and reap the leader."""
        try:
            os.killpg(sp.pid, signal.SIGKILL)
        except OSError:
            pass
        if sp.returncode is None:
            try:
                os.kill(sp.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                _, status, _ = os.wait4(sp.pid, 0)
                sp.returncode = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                pass
        self._close_fds(sp)
        self.live.pop(sp.pid, None)

    def kill_all(self) -> None:
        """Kill and reap every process still registered, and any process carrying our token."""
        for sp in list(self.live.values()):
            self.kill(sp)
        for _ in range(50):  # a few rounds: a dying launcher may still be starting something
            strays = pids_with_env(TOKEN_VARIABLE, self.token)
            if not strays:
                return
            for pid in strays:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            for pid in strays:
                try:
                    os.waitpid(pid, 0)  # our child (directly or as subreaper): reap it
                except ChildProcessError:
                    pass
            time.sleep(0.01)


def _tail(stdout: str, stderr: str) -> str:
    """``: <last words>`` for an error message: stderr if any, else stdout (one line)."""
    text = (stderr.strip() or stdout.strip())[-300:]
    return (": " + " | ".join(line.strip() for line in text.splitlines() if line.strip())) if text else ""


def run_untimed(guard: ProcessGuard, command: Command) -> Exited:
    """Run a setup/cleanup command to completion; raise BenchError on failure if ``check``."""
    sp = guard.spawn(command)
    try:
        result = guard.wait_exit(sp, command.timeout_s, reap=True)
    finally:
        guard.kill(sp)  # nothing an untimed command started outlives it
    if command.check and result.returncode != 0:
        raise BenchError(
            f"{' '.join(command.argv[:3])} failed with exit code {result.returncode}"
            + _tail(result.stdout, result.stderr)
        )
    return result


# ---------------------------------------------------------------------- memory


def smaps_rollup_kib(pid: int, field_name: str = "Pss") -> int | None:
    """A field of /proc/PID/smaps_rollup in KiB (None if the process is gone or unreadable)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0  # kernel threads / zombies have no mappings


def process_tree(roots: Iterable[int]) -> set[int]:
    """The given pids plus all their descendants (those still alive)."""
    found: set[int] = set()
    for pid in roots:
        try:
            proc = psutil.Process(pid)
            found.add(pid)
            found.update(child.pid for child in proc.children(recursive=True))
        except psutil.Error:
            continue
    return found


def pids_by_markers(markers: Iterable[str]) -> set[int]:
    """Host processes whose command line contains any marker (e.g. a container id)."""
    wanted = [m for m in markers if m]
    if not wanted:
        return set()
    me = os.getpid()
    found: set[int] = set()
    for proc in psutil.process_iter(["cmdline"]):
        if proc.pid == me:
            continue
        cmdline = " ".join(proc.info.get("cmdline") or ())
        if any(m in cmdline for m in wanted):
            found.add(proc.pid)
    return found


def kill_pids(pids: Iterable[int]) -> None:
    """SIGKILL these processes (those already gone are skipped)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue


def read_pid_files(paths: Iterable[Path]) -> set[int]:
    pids: set[int] = set()
    for path in paths:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        for token in text.split():
            if token.isdigit():
                pids.add(int(token))
    return pids


def thread_count(pids: Iterable[int]) -> int:
    """Tasks (threads) of these processes: each uses one pid number."""
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).num_threads()
        except psutil.Error:
            continue
    return total


def mem_available_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    raise BenchError("MemAvailable missing from /proc/meminfo")


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def pids_in_groups(pgids: Iterable[int]) -> set[int]:
    """Live processes whose process group is one of ``pgids``."""
    wanted = set(pgids)
    if not wanted:
        return set()
    found: set[int] = set()
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) in wanted:
                found.add(proc.pid)
        except OSError:
            continue
    return found


def become_subreaper() -> bool:
    """Make orphaned descendants (a container's init, a shim, a VMM) our children, not PID 1's.

    PID 1 on this machine reaps orphans late, so zombies would linger; as a child subreaper we can
    reap them ourselves (:func:`reap_orphans`). Returns False where prctl is unavailable.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def reap_orphans(guard: ProcessGuard) -> int:
    """Reap exited children the guard does not track (orphans reparented to us). Returns how many."""
    reaped = 0
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return reaped
        if info is None:
            return reaped
        if info.si_pid in guard.live and guard.live[info.si_pid].returncode is None:
            # ours to wait for with wait4 (it carries the rusage we want); other zombies may be
            # queued behind it, so look for them one by one
            return reaped + _reap_untracked_zombies(guard)
        try:
            os.waitpid(info.si_pid, os.WNOHANG)
            reaped += 1
        except ChildProcessError:
            return reaped


def _reap_untracked_zombies(guard: ProcessGuard) -> int:
    me = os.getpid()
    reaped = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid in guard.live and guard.live[pid].returncode is None:
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if len(fields) > 1 and fields[0] == b"Z" and int(fields[1]) == me:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    reaped += 1
            except ChildProcessError:
                continue
    return reaped
