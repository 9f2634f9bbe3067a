"""Isolation, measured for real: kernel tracepoints over every host process of each sandbox.

The shared bench (``measured.full_run``: ``run_bench`` of the nine runtimes, each measured from
one launch inside its bench session) runs once; these tests read it.
Cross-checks against independent tools (strace) and the clean-up guarantees (private tracefs
mount, tracing instances, SIGKILL followed by the next run) run their own launches.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from measured import full_run, leftovers, measured, per_runtime

from rtadvisor.backends.base import Assets
from rtadvisor.bench import isolation as iso
from rtadvisor.bench import tracefs
from rtadvisor.bench.measure import MeasureOptions, measure_runtime

NEEDS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="kernel tracing needs root (CI runs as root)")
CONTAINERS = ("runc", "crun", "containerd")
SANDBOXES = ("runsc", "containerd-runsc")
WASM = ("wasmtime", "node-wasi")


# ------------------------------------------------------------------------------------ pure parts


SAMPLE_TRACE = """\
# tracer: nop
#           TASK-PID       TGID    CPU#  |||||  TIMESTAMP  FUNCTION
          python-100   (    100) [000] .....  10.000001: sched_process_fork: comm=python pid=100 child_comm=python child_pid=101
          python-101   (    101) [000] .....  10.000002: sys_enter: NR 3 (4, 0, 0, 0, 0, 0)
         measure-101   (    101) [001] .....  10.000003: sched_process_exec: filename=/x/measure pid=101 old_pid=101
         measure-101   (    101) [001] .....  10.000004: sys_enter: NR 12 (0, 0, 0, 0, 0, 0)
          python-100   (    100) [000] ...1.  10.000005: tracing_mark_write: rtadvisor-window workload
         measure-101   (    101) [001] .....  10.000006: sys_enter: NR 140 (0, 52544144, 0, 0, 0, 0)
     worker-thre-102   (    101) [001] .....  10.000007: sys_enter: NR 202 (7f00, 80, 1, 0, 0, 0)
          python-100   (    100) [000] ...1.  10.000008: tracing_mark_write: rtadvisor-window after
"""


def test_parse_trace_splits_windows_and_keeps_lineage() -> None:
    trace = tracefs.parse_trace(SAMPLE_TRACE)
    assert trace.windows == ["startup", "workload", "after"]
    assert [(e.nr, e.window) for e in trace.syscalls] == [(3, "startup"), (12, "startup"), (140, "workload"),
                                                          (202, "workload")]
    assert trace.forks == [(100, 101, "python")]
    assert trace.execs == {101: "/x/measure"}
    assert trace.first_exec[101] < trace.syscalls[1].seq  # brk came after the exec, close before it
    assert trace.syscalls[0].seq < trace.first_exec[101]
    thread = trace.syscalls[3]
    assert (thread.pid, thread.tgid) == (102, 101)  # a thread is counted with its process


def test_window_exposure_groups_threads_and_excludes_the_bench() -> None:
    trace = tracefs.parse_trace(SAMPLE_TRACE)
    window = iso.window_exposure(trace, "workload", what="w", exclude={100})
    assert (window.syscalls, window.distinct) == (2, 2)
    assert [p.pid for p in window.processes] == [101]
    assert {c.name for c in window.by_syscall} == {"getpriority", "futex"}
    passed = iso.pass_through(trace, "workload", expressible=True, inside=None)
    assert passed.outcome == "passed through" and passed.seen_in
    assert iso.pass_through(trace, "startup", expressible=True, inside=None).outcome == "not passed through"
    assert iso.pass_through(trace, "workload", expressible=False, inside=None).outcome == "not expressible"


def test_syscall_and_capability_tables_come_from_the_kernel_headers() -> None:
    assert tracefs.syscall_name(140) == "getpriority"
    assert tracefs.syscall_number("io_uring_setup") == 425
    assert tracefs.syscall_name(99999) == "syscall_99999"
    assert iso.decode_capabilities(1 << 21) == ("CAP_SYS_ADMIN",)


@pytest.mark.parametrize(("comm", "exe", "argv", "role"), [
    ("measure", "/x/measure", (), "workload"),
    ("containerd-shim", "/usr/bin/containerd-shim-runc-v2", (), "shim"),
    ("exe", "/usr/bin/runsc", ("runsc-gofer", "gofer"), "gofer"),
    ("exe", "/usr/bin/runsc", ("runsc-sandbox", "boot"), "sandbox kernel"),
    ("runsc", "/usr/bin/runsc", ("runsc", "run"), "runtime"),
    ("qemu-system-x86", "/usr/bin/qemu-system-x86_64", (), "vmm"),
    ("node", "/usr/bin/node", (), "engine"),
    ("containerd", "/usr/bin/containerd", (), "engine"),
    ("umount", "/usr/bin/umount", (), "other"),
])
def test_roles(comm: str, exe: str, argv: tuple[str, ...], role: str) -> None:
    assert iso.classify(comm, exe, argv) == role


# ------------------------------------------------------------------------------------ tracefs itself


@NEEDS_ROOT
def test_private_tracefs_changes_no_host_mount_and_removes_its_instance() -> None:
    before = Path("/proc/self/mountinfo").read_text()
    with tracefs.TraceFS() as fs, fs.instance() as inst:
        assert inst.path.is_dir()
        name = inst.path.name
        assert name.startswith(f"rtadvisor-{os.getpid()}-")
        assert Path("/proc/self/mountinfo").read_text() == before  # a private mount, or the host's own
        root = fs.root
        assert root is not None
    assert Path("/proc/self/mountinfo").read_text() == before
    with tracefs.TraceFS() as fs:
        assert fs.root is not None
        assert not (fs.root / "instances" / name).exists()
        assert root != fs.root or not fs.private  # a private mount dies with its helper


@NEEDS_ROOT
def test_stale_instance_of_a_dead_process_is_swept() -> None:
    with tracefs.TraceFS() as fs:
        assert fs.root is not None
        pid = _dead_pid()
        stale = fs.root / "instances" / f"rtadvisor-{pid}-abcdef"
        stale.mkdir()
        try:
            assert stale.name in tracefs.sweep_stale_instances(fs.root)
            assert not stale.exists()
        finally:
            if stale.exists():
                stale.rmdir()


@NEEDS_ROOT
def test_bench_cleanup_lists_then_removes_a_dead_runs_tracing_instance() -> None:
    from rtadvisor.bench.cleanup import summary, sweep_stale

    with tracefs.TraceFS(sweep=False) as fs:
        assert fs.root is not None
        pid = _dead_pid()
        stale = fs.root / "instances" / f"rtadvisor-{pid}-abc123"
        stale.mkdir()
        try:
            listed = [i for i in sweep_stale(dry_run=True) if i.kind == "tracing-instance"]
            assert [(i.what, i.owner, i.removed) for i in listed] == [
                (f"tracing instance {stale.name}", f"pid {pid} (dead)", False)]
            assert stale.exists()  # a dry run removes nothing
            removed = [i for i in sweep_stale() if i.kind == "tracing-instance"]
            assert [i.removed for i in removed] == [True] and not stale.exists()
            assert "1 tracing instance" in summary(removed) and str(pid) in summary(removed)
        finally:
            if stale.exists():
                stale.rmdir()


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@NEEDS_ROOT
def test_function_tracer_is_tried_and_the_refusal_explained() -> None:
    with tracefs.TraceFS() as fs, fs.instance() as inst:
        refusal = inst.function_tracer_refusal()
        # Either the kernel lets the instance trace functions, or the reason names what refused it.
        assert refusal is None or "function" in refusal or "ftrace" in refusal
        assert (inst.path / "current_tracer").read_text().strip() == "nop"


# ------------------------------------------------------------------------------------ per runtime


@pytest.mark.parametrize("name", per_runtime())
def test_every_runtime_is_measured_with_its_method(name: str) -> None:
    result = measured(name).isolation
    assert result is not None
    assert result.status == "measured", result.reason
    assert "raw_syscalls:sys_enter" in result.method and "event-fork" in result.method
    assert result.complete and result.events_lost == 0
    startup, workload = result.window("startup"), result.window("workload")
    assert startup is not None and workload is not None
    assert startup.syscalls > 0 and workload.syscalls > 0
    if name not in ("native", "wasmtime"):  # creating a sandbox costs the host more than the probe's mix
        assert startup.syscalls > workload.syscalls  # (the in-process engine is up before the window)
    assert workload.distinct == len(workload.by_syscall) <= workload.syscalls
    assert sum(p.syscalls for p in workload.processes) == workload.syscalls
    assert result.confinement, "no host process snapshotted"
    assert result.kernel_functions is not None
    assert result.kernel_functions.status == "measured" or result.kernel_functions.reason


@pytest.mark.parametrize("name", per_runtime(("native", *CONTAINERS)))
def test_containers_pass_the_workloads_own_call_to_the_host(name: str) -> None:
    result = measured(name).isolation
    assert result is not None and result.pass_through is not None
    assert result.pass_through.outcome == "passed through"
    assert any("workload" in s for s in result.pass_through.seen_in)
    workload = result.window("workload")
    assert workload is not None
    names = {c.name for c in workload.by_syscall}
    # the probe's own mix reached the host kernel as itself
    assert {"getpriority", "getppid", "fsync", "epoll_wait", "io_uring_enter"} <= names
    own = next(c for c in result.confinement if c.role == "workload")
    assert own.seccomp == "disabled"  # rtadvisor's bundles set no seccomp profile (runc's default then)
    if name != "native":
        assert len(own.capabilities) < 20 and not own.all_capabilities


@pytest.mark.parametrize("name", per_runtime(SANDBOXES))
def test_gvisor_answers_the_call_itself_under_a_seccomp_filter(name: str) -> None:
    result = measured(name).isolation
    assert result is not None and result.pass_through is not None
    assert result.pass_through.outcome == "not passed through"
    assert result.pass_through.inside is not None and "ESRCH" in result.pass_through.inside
    workload = result.window("workload")
    assert workload is not None
    names = {c.name for c in workload.by_syscall}
    assert "ptrace" in names  # the ptrace platform at work
    assert not {"getpriority", "getppid", "io_uring_enter"} & names
    sentries = [c for c in result.confinement if c.role in ("sandbox kernel", "gofer")]
    assert sentries and all(c.seccomp == "filter" for c in sentries)
    assert any("ptrace platform" in n for n in result.notes)


@pytest.mark.runtime("microvm")
def test_the_micro_vm_shows_only_its_vmm_and_says_emulated() -> None:
    result = measured("microvm").isolation
    assert result is not None and result.pass_through is not None
    assert result.emulated and any("TCG" in n for n in result.notes)
    assert result.pass_through.outcome == "not passed through"
    workload = result.window("workload")
    assert workload is not None
    assert {p.role for p in workload.processes} == {"vmm"}
    assert "getpriority" not in {c.name for c in workload.by_syscall}


@pytest.mark.parametrize("name", per_runtime(WASM))
def test_wasm_cannot_issue_raw_calls_and_its_engine_is_named(name: str) -> None:
    result = measured(name).isolation
    assert result is not None and result.pass_through is not None
    assert result.pass_through.outcome == "not expressible"
    workload = result.window("workload")
    assert workload is not None
    assert "fsync" in {c.name for c in workload.by_syscall}  # the engine syncs the file for the module
    assert {p.role for p in workload.processes} == {"engine"}
    if name == "wasmtime":  # in process: the engine is this very process
        assert {c.pid for c in result.confinement} == {os.getpid()}
        assert any("inside the bench process" in n for n in result.notes)


@pytest.mark.runtime("containerd")
def test_containerd_counts_its_daemon_and_shim() -> None:
    result = measured("containerd").isolation
    assert result is not None
    startup = result.window("startup")
    assert startup is not None
    roles = {p.role for p in startup.processes}
    assert {"engine", "shim", "client", "runtime", "workload"} <= roles


# ------------------------------------------------------------------------------------ cross-checks


@NEEDS_ROOT
@pytest.mark.runtime("native")
def test_tracepoint_counts_agree_with_strace(tmp_path: Path) -> None:
    """The same probe under strace -f: every call we attribute to the workload, strace saw too,
    and strace saw nothing we missed beyond the exec, the exit and the protocol's own reads/writes
    outside our window."""
    if shutil.which("strace") is None:
        pytest.fail("strace is not installed (Debian package strace, in scripts/debian-packages.txt)")
    result = measure_runtime("native", Assets(), MeasureOptions(overhead=False))
    assert result.isolation is not None
    ours = {c.name for w in result.isolation.windows for c in w.by_syscall}
    exe = Assets().native("measure")
    summary = tmp_path / "strace.txt"
    proc = subprocess.run(["strace", "-f", "-qq", "-c", "-U", "name", "-o", str(summary), str(exe)],
                          input=f"probe=1 sample_ms=5 dir={tmp_path}\ngo\ncontinue\nend\n", text=True,
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    theirs = {line.split()[0] for line in summary.read_text().splitlines()[2:]
              if line.strip() and not line.startswith(("-", "total"))}
    assert ours <= theirs, ours - theirs
    assert theirs - ours <= {"execve", "exit_group", "read", "write"}, theirs - ours


@NEEDS_ROOT
@pytest.mark.runtime("runc")
def test_a_user_rootfs_is_traced_over_its_whole_life(tmp_path: Path) -> None:
    from rtadvisor.backends import oci

    rootfs = tmp_path / "rootfs"
    busybox = oci.find_busybox()
    assert busybox is not None
    (rootfs / "bin").mkdir(parents=True)
    for sub in ("proc", "dev", "sys", "tmp"):
        (rootfs / sub).mkdir()
    shutil.copy2(busybox, rootfs / "bin" / "busybox")
    (rootfs / "bin" / "sh").symlink_to("busybox")
    result = measure_runtime("runc", Assets(user_rootfs=rootfs), MeasureOptions(workload="user"))
    assert result.overhead is None  # overhead is measured with the built-in workload only
    isolation = result.isolation
    assert isolation is not None and isolation.status == "measured", isolation and isolation.reason
    assert isolation.workload == "user" and isolation.pass_through is None
    lifecycle = isolation.window("lifecycle")
    assert lifecycle is not None and lifecycle.syscalls > 100
    assert "execve" in {c.name for c in lifecycle.by_syscall}  # sh running in the container


@NEEDS_ROOT
@pytest.mark.runtime("wasmtime", "node-wasi")
def test_the_bench_traces_a_user_wasm_module_over_its_life() -> None:
    """``rtadvisor bench --wasm FILE``: the same bench, the user's module traced spawn to exit, no overhead."""
    from rtadvisor.bench import BenchOptions, run_bench

    run = run_bench(["wasmtime", "node-wasi"], BenchOptions(runs=3, warmups=0, memory=False, workload="user"),
                    Assets(user_wasm=Assets().wasm("hello")))
    assert run.options.workload == "user" and run.options.overhead is False
    for result in run.results:
        assert result.error is None and result.cold_start_ms is not None, result.error
        assert result.overhead is None
        assert result.isolation is not None and result.isolation.status == "measured", result.isolation
        assert result.isolation.workload == "user" and result.isolation.window("lifecycle") is not None


@NEEDS_ROOT
@pytest.mark.parametrize("name", per_runtime(WASM))
def test_a_user_wasm_module_is_traced(name: str) -> None:
    module = Assets().wasm("hello")
    result = measure_runtime(name, Assets(user_wasm=module), MeasureOptions(workload="user"))
    isolation = result.isolation
    assert isolation is not None and isolation.status == "measured", isolation and isolation.reason
    lifecycle = isolation.window("lifecycle")
    assert lifecycle is not None and lifecycle.syscalls > 0
    assert {"write", "writev"} & {c.name for c in lifecycle.by_syscall}  # hello printed its line


def test_unusable_and_unsupported_runtimes_say_why() -> None:
    result = measure_runtime("wasmedge", Assets(), MeasureOptions(overhead=False))
    assert result.isolation is not None
    assert result.isolation.status in ("not measurable", "measured")
    if result.isolation.status == "not measurable":
        assert "not installed" in (result.isolation.reason or "")
    user = measure_runtime("microvm", Assets(user_wasm=Assets().wasm("hello")), MeasureOptions(workload="user"))
    assert user.isolation is not None and user.isolation.status == "not supported"


# ------------------------------------------------------------------------------------ clean-up


@NEEDS_ROOT
def test_the_shared_measurement_left_nothing_behind() -> None:
    full_run()
    time.sleep(0.2)
    assert leftovers(os.getpid()) == {"instances": [], "processes": [], "temp": [], "cgroups": []}


@NEEDS_ROOT
@pytest.mark.runtime("runc")
def test_sigkill_mid_run_then_the_next_run_cleans_up() -> None:
    """SIGKILL the bench while the measure workload runs: the workload exits by itself (end of
    input), and the next run sweeps the stale tracing instance, temp directory and cgroups."""
    child = subprocess.Popen([sys.executable, "-m", "rtadvisor", "bench", "-r", "runc", "--runs", "3", "--warmups",
                              "0", "--no-memory", "--no-store", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # wait until the measure workload's native companion runs (the phase's launch is under way), then
    # kill the bench hard
    companion = str(Path.home() / ".cache/rtadvisor/assets/native/measure")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(companion in p for p in leftovers(child.pid)["processes"]):
        time.sleep(0.02)
    assert leftovers(child.pid)["processes"], "the measure workload never started"
    os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and leftovers(child.pid)["processes"]:
        time.sleep(0.1)
    assert leftovers(child.pid)["processes"] == []  # nothing keeps running without the bench
    from rtadvisor.bench import BenchOptions, run_bench

    # the next bench sweeps what the dead one left (its session directory, cgroups, tracing instance)
    run_bench(["native"], BenchOptions(runs=3, warmups=0, memory=False, overhead=False))
    left = leftovers(child.pid)
    assert left["instances"] == [] and left["temp"] == [] and left["cgroups"] == [], left


def test_rtadvisor_module_entry_point_exists() -> None:
    # the SIGKILL test runs `python -m rtadvisor`; make sure that is a real entry point
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "rtadvisor", "recommend", "--name", "x", "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and '"runtime"' in done.stdout, done.stderr


@NEEDS_ROOT
def test_temp_dirs_of_a_dead_run_are_swept() -> None:
    from rtadvisor.bench.measure import sweep_stale

    stale = Path(tempfile.mkdtemp(prefix=f"rtadvisor-measure-{_dead_pid()}-x-"))
    (stale / "scratch").mkdir()
    assert stale in sweep_stale()
    assert not stale.exists()
