"""Isolation and overhead of each runtime from ONE launch of the built-in ``measure`` workload.

>>> from rtadvisor.bench.measure import measure_runtimes, MeasureOptions   # doctest: +SKIP
>>> report = measure_runtimes(["native", "runc"], options=MeasureOptions(samples=5))
>>> report.runtime("runc").isolation.pass_through.outcome
'passed through'

One launch per runtime does both (one boot of the emulated micro-VM is ~4.5 s): the runner writes
the parameter line on the workload's stdin, opens the trace window when the probe says ``ready``
(writing ``go``), closes it and stops tracing when it says ``done`` (writing ``continue``), then
reads the micro-benchmark results, untraced. How each runtime runs the workload is the backend's
plan (``Backend.plan("measure", ...)``; the Wasm engines are planned here, see
:func:`_wasm_launch`); the plan's labels say where the scratch directory is (``measure_dir``) and
what storage backs it (``storage``).

Leaves nothing behind: every process it starts is in its own process group and killed, the plan's
cleanup always runs, the temporary directory (``rtadvisor-measure-<pid>-*``) is removed, the
tracing instance is removed; the workload exits by itself at end of input, so even a SIGKILLed bench
leaves no workload running, and the next run sweeps a stale tracing instance and temp directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict

from rtadvisor import backends
from rtadvisor.backends.base import Assets, Backend, Command, LaunchPlan
from rtadvisor.errors import BenchError, InputError, RtadvisorError

from . import isolation as iso
from .overhead import FILE_METRICS, SUITE, BenchRecord, OverheadResult, build_metric, storage_comparable
from .tracefs import DEFAULT_BUFFER_KB, TraceFS, TraceInstance, parse_trace, tasks_of

PREFIX = "rtadvisor-measure "
TEMP_PREFIX = "rtadvisor-measure-"
INSTANCE_PREFIX = "rtadv-m"  # container / VM names: rtadv-m<pid>-<runtime>-<random>
SCHEMA_VERSION = 1
ProgressFn = Callable[[str, str], None]  # (runtime, phase)

_NODE_RUNNER = """\
// rtadvisor measure runner for node's WASI: the module's args, one pre-opened directory, stdio.
import { WASI } from 'node:wasi';
import { readFileSync } from 'node:fs';
const [file, dir] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', returnOnExit: true, args: ['measure'],
                        preopens: dir ? { '/work': dir } : {} });
const module = await WebAssembly.compile(readFileSync(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
"""


@dataclass(frozen=True)
class MeasureOptions:
    """What to measure and how much (the defaults keep all nine runtimes within ~20 s here).

    Sampling of each micro-benchmark is adaptive, like the bench's cold starts: at least ``rounds``
    turns, then more until the 95% CI of its headline figure (the paired slowdown; native: its
    rate) is within ±``ci_target_pct`` %, at most ``max_rounds`` turns, and never past ``deadline``
    (a ``time.monotonic()`` value: each benchmark gets an equal share of the time left).
    ``ci_target_pct=None``: exactly ``rounds`` turns."""

    isolation: bool = True
    overhead: bool = True
    sample_ms: int = 5
    rounds: int = 12  # turns per benchmark at least; each turn takes per_turn samples of native and of the runtime
    per_turn: int = 1  # one: the tightest pairing (a turn's command round trip is outside the timing)
    suite: tuple[str, ...] = SUITE
    timeout_s: float = 120.0  # per launch
    buffer_kb: int = DEFAULT_BUFFER_KB
    kernel_functions: bool = True  # try the function tracer (refused on a locked-down kernel)
    workload: Literal["probe", "user"] = "probe"  # "user": the user's artifact in Assets (isolation only)
    tmp_root: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)  # laid over the environment of every process
    max_rounds: int | None = None  # None: max(48, rounds)
    ci_target_pct: float | None = 5.0
    deadline: float | None = None
    #: runs setup/cleanup commands (default: subprocess, here); the bench passes its harness's
    runner: Callable[[Command], object] | None = None

    def __post_init__(self) -> None:
        unknown = [s for s in self.suite if s not in SUITE]
        if unknown:
            raise InputError(f"suite: unknown benchmark {unknown[0]!r}: expected some of {', '.join(SUITE)}")
        if self.sample_ms < 1 or not 1 <= self.rounds <= 50 or not 1 <= self.per_turn <= 20:
            raise InputError("sample_ms must be >= 1, rounds between 1 and 50, per_turn between 1 and 20")
        if self.max_rounds is not None and not self.rounds <= self.max_rounds <= 500:
            raise InputError(f"max_rounds must be between rounds ({self.rounds}) and 500, got {self.max_rounds}")
        if self.ci_target_pct is not None and not 0 < self.ci_target_pct < float("inf"):
            raise InputError(f"ci_target_pct must be a positive number or None, got {self.ci_target_pct!r}")

    @property
    def round_cap(self) -> int:
        """Turns per benchmark at most."""
        return self.max_rounds if self.max_rounds is not None else max(48, self.rounds)

    @property
    def samples(self) -> int:
        """Samples per benchmark and runtime (at least)."""
        return self.rounds * self.per_turn


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RuntimeMeasurement(_Model):
    runtime: str
    isolation: iso.IsolationResult | None = None
    overhead: OverheadResult | None = None
    duration_s: float = 0.0


class MeasureReport(_Model):
    """Isolation and overhead of several runtimes measured in one run (native first)."""

    schema_version: int = SCHEMA_VERSION
    host: dict[str, Any]
    date: str
    options: dict[str, Any]
    runtimes: tuple[RuntimeMeasurement, ...]
    duration_s: float

    def runtime(self, name: str) -> RuntimeMeasurement | None:
        return next((r for r in self.runtimes if r.runtime == name), None)


# ====================================================================================== tracing


class Tracer(contextlib.AbstractContextManager["Tracer"]):
    """tracefs + one private tracing instance, shared by the launches of one measurement run."""

    def __init__(self, buffer_kb: int = DEFAULT_BUFFER_KB) -> None:
        self.fs = TraceFS()
        self.buffer_kb = buffer_kb
        self.instance: TraceInstance | None = None
        self._function_refusal: str | bool | None = False  # False: not asked yet

    def __enter__(self) -> Self:
        self.fs.__enter__()
        try:
            self.instance = self.fs.instance(buffer_kb=self.buffer_kb).__enter__()
            self.function_refusal()  # asked now, never while a launch is traced (it may run dmesg)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.instance is not None:
                self.instance.close()
        finally:
            self.instance = None
            self.fs.close()

    def function_refusal(self) -> str | None:
        """Why the function tracer cannot be used here (asked once), or None."""
        if self._function_refusal is False:
            assert self.instance is not None
            refusal = self.instance.function_tracer_refusal()
            if refusal is not None and not Path(self.fs.root or "/nonexistent", "kprobe_events").exists():
                refusal += "; KPROBES are off too (no kprobe_events)"
            self._function_refusal = refusal
        return self._function_refusal  # type: ignore[return-value]

    @property
    def method(self) -> str:
        return self.fs.method


# ====================================================================================== one launch


@dataclass
class _Observation:
    """What one launch produced, before it becomes results."""

    events: list[dict[str, Any]] = field(default_factory=list)
    returncode: int | None = None
    trace_text: str | None = None
    lost: int = 0
    confinement: dict[int, iso.Confinement] = field(default_factory=dict)
    exclude: set[int] = field(default_factory=set)
    child_pid: int | None = None
    startup_ms: float | None = None
    window_ms: float | None = None
    functions_traced: bool = False
    records: dict[str, BenchRecord] = field(default_factory=dict)

    def event(self, name: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e.get("event") == name), None)


class _Lines:
    """Protocol lines from a pipe: ``rtadvisor-measure {json}`` anywhere in a line (a serial console
    may put kernel messages or a carriage return around it)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.eof = False
        self.raw: list[str] = []  # the last few non-protocol lines, for error messages
        os.set_blocking(fd, False)

    def next_event(self, deadline: float) -> dict[str, Any] | None:
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                text = line.decode("utf-8", "replace").replace("\r", "")
                at = text.find(PREFIX)
                if at < 0:
                    if text.strip():
                        self.raw = ([*self.raw, text.strip()])[-8:]
                    continue
                try:
                    value = json.loads(text[at + len(PREFIX):])
                except ValueError:
                    continue
                if isinstance(value, dict):
                    return value
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError("the measure workload did not answer in time"
                                 + (f" (last output: {self.raw[-1][:160]})" if self.raw else ""))
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    self.eof = True
                    self.buffer += b"\n"
                else:
                    self.buffer += chunk


def _params(options: MeasureOptions, measure_dir: str, *, probe: bool) -> str:
    return f"probe={1 if probe else 0} sample_ms={options.sample_ms} dir={measure_dir}\n"


_ANSWERS = frozenset({"setup", "samples", "teardown", "end", "error"})


def _suite_script(options: MeasureOptions, companion: _Companion | None,
                  records: dict[str, BenchRecord]) -> Generator[str, dict[str, Any], None]:
    """The command sequence for a runtime's workload (a generator: yields a command, receives the
    answer). With a native ``companion`` its samples are interleaved turn by turn, the order
    swapped every round, so both sides of a pair see the same machine load.

    Stopping rule per benchmark (after each turn, the first that applies): ``max_rounds`` reached;
    at least ``rounds`` turns and the headline's 95% CI within ±``ci_target_pct`` %; the next turn
    would end past this benchmark's share of the time left before ``deadline``."""
    k = options.per_turn
    suite = options.suite if options.overhead else ()
    for index, name in enumerate(suite):
        record = records[name] = BenchRecord(name, target_pct=options.ci_target_pct)
        record.setup = yield f"setup {name}"
        if companion is not None:
            record.native_setup = companion.ask(f"setup {name}")
        paired = companion is not None and (record.native_setup or {}).get("status") == "ok"
        record.paired = paired
        if (record.setup or {}).get("status") == "ok":
            share_end = None
            if options.deadline is not None:
                now = time.monotonic()
                share_end = now + max(0.0, options.deadline - now) / (len(suite) - index)
            turn = 0
            while True:
                started = time.monotonic()
                native_first = paired and turn % 2 == 0
                if native_first:
                    record.native_samples += _rates(companion.ask(f"sample {name} {k}"))  # type: ignore[union-attr]
                record.samples += _rates((yield f"sample {name} {k}"))
                if paired and not native_first:
                    record.native_samples += _rates(companion.ask(f"sample {name} {k}"))  # type: ignore[union-attr]
                turn += 1
                record.rounds = turn
                cost = time.monotonic() - started
                if turn >= options.rounds and options.ci_target_pct is not None:
                    headline = record.headline()
                    half = headline.half_width_pct if headline is not None else None
                    if half is not None and half <= options.ci_target_pct:
                        record.stop = f"95% CI within ±{options.ci_target_pct:g}% after {turn} rounds"
                        break
                if turn >= options.round_cap:
                    record.stop = (f"the cap of {options.round_cap} rounds" if options.ci_target_pct is not None
                                   else f"{turn} rounds (no CI target)")
                    break
                if turn < options.rounds:
                    continue
                if options.ci_target_pct is None:
                    record.stop = f"{turn} rounds (no CI target)"
                    break
                if share_end is not None and time.monotonic() + cost > share_end:
                    record.stop = (f"its share of the measurement's time ran out after {turn} rounds "
                                   f"({cost * 1000:.0f} ms per round)")
                    break
        yield f"teardown {name}"
        if companion is not None:
            companion.ask(f"teardown {name}")
    yield "end"


def _rates(event: Mapping[str, Any]) -> list[float]:
    try:
        return [float(x) for x in event.get("samples") or ()]
    except (TypeError, ValueError):
        return []


class _Companion:
    """The native ``measure`` process that runs beside a runtime's workload, sample for sample."""

    def __init__(self, assets: Assets, options: MeasureOptions, workdir: Path) -> None:
        self.options = options
        self.plan = backends.get("native").plan("measure", assets, workdir, instance_id="native-companion")
        self.proc: subprocess.Popen[bytes] | None = None
        self.lines: _Lines | None = None
        self.deadline = time.monotonic() + options.timeout_s

    def start(self) -> None:
        env = {**os.environ, **self.options.env}
        for command in self.plan.setup:
            _run_untimed(command, env, self.options.runner)
        self.proc = subprocess.Popen(list(self.plan.stages[-1].command.argv), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                     start_new_session=True, close_fds=True)
        assert self.proc.stdout is not None
        self.lines = _Lines(self.proc.stdout.fileno())
        self._expect("hello")
        self._send(_params(self.options, str(self.plan.labels["measure_dir"]), probe=False))
        self._expect("start")

    def _send(self, text: str) -> None:
        if self.proc is None or self.proc.stdin is None:
            raise BenchError("the native companion is not running")
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
        except OSError as exc:
            raise BenchError(f"the native companion stopped reading ({exc})") from exc

    def _expect(self, *names: str) -> dict[str, Any]:
        assert self.lines is not None
        while True:
            event = self.lines.next_event(self.deadline)
            if event is None:
                raise BenchError("the native companion exited early")
            if event.get("event") in names:
                return event

    def ask(self, command: str) -> dict[str, Any]:
        """Send one command and return its answer (an ``error`` answer rather than an exception)."""
        try:
            self._send(command + "\n")
            return self._expect(*_ANSWERS)
        except BenchError as exc:
            return {"event": "error", "status": "error", "reason": str(exc)}

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.write(b"end\n")
            proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
        _kill_group(proc)


def _run_untimed(command: Command, env: Mapping[str, str], runner: Callable[[Command], object] | None = None) -> None:
    """Run a setup/cleanup command to completion (``runner``: the bench harness's, which reaps the
    orphans a subreaper inherits while it waits -- ``runsc delete`` waits for its sandbox to go)."""
    if runner is not None:
        runner(command)
        return
    try:
        proc = subprocess.run(list(command.argv), input=command.stdin, cwd=command.cwd, capture_output=True,
                              timeout=command.timeout_s, check=False, env={**env, **(command.env or {})},
                              start_new_session=True)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{' '.join(command.argv[:2])} timed out after {command.timeout_s:g} s") from exc
    except OSError as exc:
        raise BenchError(f"cannot run {command.argv[0]}: {exc.strerror or exc}") from exc
    if command.check and proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise BenchError(f"{' '.join(command.argv[:2])} failed: {err[-1] if err else proc.returncode}")


def _tgid(task: int) -> int | None:
    try:
        for line in Path(f"/proc/{task}/status").read_text().splitlines():
            if line.startswith("Tgid:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _snapshot(tracer: Tracer | None, observation: _Observation, *, own: bool) -> None:
    """Confinement of every live host process of the sandbox (the tasks the trace follows)."""
    if tracer is None or tracer.instance is None:
        return
    me = os.getpid()
    for tgid in sorted({t for t in (_tgid(task) for task in tracer.instance.followed()) if t is not None}):
        if tgid in observation.confinement or (tgid == me and not own):
            continue
        try:
            comm = Path(f"/proc/{tgid}/comm").read_text().strip()
        except OSError:
            continue
        exe = iso._exe(tgid)
        role = "engine" if tgid == me else iso.classify(comm, exe, iso.cmdline(tgid))
        found = iso.read_confinement(tgid, role, exe=exe)
        if found is not None:
            observation.confinement[tgid] = found


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _launch(plan: LaunchPlan, options: MeasureOptions, tracer: Tracer | None, *, probe: bool,
            follow: Sequence[int] = (), companion: _Companion | None = None) -> _Observation:
    """Run a process plan through the protocol (or, for a user artifact, to exit)."""
    env = {**os.environ, **options.env}
    observation = _Observation()
    for command in plan.setup:
        _run_untimed(command, env, options.runner)
    stages = plan.stages
    if not stages:
        raise BenchError("a measure plan needs a stage")
    deadline = time.monotonic() + options.timeout_s
    inst = tracer.instance if tracer is not None else None
    me = threading.get_native_id()
    if inst is not None:
        inst.reset()
        # Our own thread is followed so the child is followed from its fork; its events are excluded.
        inst.follow([me, *tasks_of(follow)])
        observation.exclude.add(me)
        inst.on()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        started = time.monotonic()
        user = plan.workload == "user"
        for stage in stages if user else stages[-1:]:
            command = stage.command
            with tempfile.TemporaryFile() as errfile:
                proc = subprocess.Popen(
                    list(command.argv), stdin=subprocess.DEVNULL if user else subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=errfile, cwd=command.cwd,
                    env={**env, **(command.env or {})}, start_new_session=True, close_fds=True)
                procs.append(proc)
                observation.child_pid = observation.child_pid or proc.pid
                assert proc.stdout is not None
                lines = _Lines(proc.stdout.fileno())
                try:
                    if user:
                        _run_to_exit(proc, lines, tracer, observation, deadline)
                    else:
                        _converse(proc, lines, plan, options, tracer, observation, deadline, probe=probe,
                                  started=started, companion=companion)
                except BenchError as exc:
                    errfile.seek(0)
                    tail = errfile.read().decode(errors="replace").strip().splitlines()
                    raise BenchError(f"{exc}" + (f"; stderr: {tail[-1][:200]}" if tail else "")) from exc
    finally:
        if inst is not None:
            with contextlib.suppress(OSError):
                inst.off()
        for proc in procs:
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        if companion is not None:
            companion.close()
        for command in plan.cleanup:
            with contextlib.suppress(BenchError):
                _run_untimed(Command(command.argv, env=command.env, cwd=command.cwd, timeout_s=command.timeout_s,
                                     stdin=command.stdin, check=False), env, options.runner)
        for proc in procs:
            _kill_group(proc)
    if inst is not None:
        observation.trace_text = inst.read()
        observation.lost = inst.lost_events()
    return observation


def _converse(proc: subprocess.Popen[bytes], lines: _Lines, plan: LaunchPlan, options: MeasureOptions,
              tracer: Tracer | None, observation: _Observation, deadline: float, *, probe: bool,
              started: float, companion: _Companion | None) -> None:
    """The stdin/stdout protocol with the workload (see ``workloads/measure.c``)."""
    assert proc.stdin is not None
    inst = tracer.instance if tracer is not None else None

    def send(text: str) -> None:
        try:
            proc.stdin.write(text.encode())  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError) as exc:
            raise BenchError(f"the workload stopped reading its input ({exc})") from exc

    def expect(*names: str) -> dict[str, Any]:
        while True:
            event = lines.next_event(deadline)
            if event is None:
                rc = proc.wait(timeout=10)
                raise BenchError(f"the measure workload exited ({rc}) before {'/'.join(names)!r}"
                                 + (f"; last output: {lines.raw[-1][:160]}" if lines.raw else ""))
            observation.events.append(event)
            if event.get("event") in names:
                return event

    expect("hello")  # a serial console drops what is sent before the guest reads
    send(_params(options, str(plan.labels.get("measure_dir", ".")), probe=probe))
    if probe:
        expect("ready")
        observation.startup_ms = (time.monotonic() - started) * 1000
        _snapshot(tracer, observation, own=False)
        functions = None
        if inst is not None and options.kernel_functions and tracer is not None and tracer.function_refusal() is None:
            pids = {t for t in inst.followed() if t not in observation.exclude}
            functions = inst.function_trace(pids)
            functions.__enter__()
            observation.functions_traced = True
        window_start = time.monotonic()
        if inst is not None:
            inst.mark("rtadvisor-window workload")
        send("go\n")
        try:
            expect("done")
        finally:
            if inst is not None:
                inst.mark("rtadvisor-window after")
                inst.off()
            if functions is not None:
                functions.__exit__(None, None, None)
        observation.window_ms = (time.monotonic() - window_start) * 1000
        send("continue\n")
    if companion is not None:
        companion.start()  # after the trace window: it is not part of the sandbox
    script = _suite_script(options, companion, observation.records)
    command = next(script)
    while True:
        send(command + "\n")
        answer = expect(*_ANSWERS)
        try:
            command = script.send(answer)
        except StopIteration:
            break
    try:
        observation.returncode = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        observation.returncode = None  # a VMM still powering off: the cleanup kills it


def _run_to_exit(proc: subprocess.Popen[bytes], lines: _Lines, tracer: Tracer | None, observation: _Observation,
                 deadline: float) -> None:
    """A user artifact: no protocol; trace the whole life, snapshot confinement while it runs."""
    while proc.poll() is None:
        _snapshot(tracer, observation, own=False)
        if time.monotonic() > deadline:
            raise BenchError("the user artifact did not exit in time")
        with contextlib.suppress(BenchError):
            lines.next_event(min(deadline, time.monotonic() + 0.02))
    observation.returncode = proc.returncode


def _in_process(module: Path, scratch: Path | None, options: MeasureOptions, tracer: Tracer | None, *,
                probe: bool, workdir: Path, user: bool, companion: _Companion | None) -> _Observation:
    """The wasmtime backend: the engine is THIS process. The trace follows the calling thread. The
    module's stdout arrives through a callback, synchronously inside its ``fd_write``, so the window
    markers sit exactly between its ``ready`` and ``done`` lines, and each answer is followed by the
    next command written into the module's stdin (a FIFO) before the module reads it. A watchdog
    closes the FIFO at the deadline: the module then reads end of input and exits."""
    from rtadvisor.backends.wasm import run_wasi_module

    observation = _Observation()
    inst = tracer.instance if tracer is not None else None
    fifo = workdir / "stdin"
    os.mkfifo(fifo, 0o600)
    # O_RDWR: the open never blocks, and the engine's own read-only open finds a writer.
    writer = os.open(fifo, os.O_RDWR)
    closed = threading.Event()
    pending = bytearray()
    started = time.monotonic()
    state: dict[str, float] = {}
    script = _suite_script(options, companion, observation.records)

    lock = threading.Lock()  # the watchdog may close the FIFO while this thread writes to it

    def write(text: str) -> None:
        with lock:
            if not closed.is_set():
                with contextlib.suppress(OSError):
                    os.write(writer, text.encode())

    def close_writer() -> None:
        with lock:
            if not closed.is_set():
                closed.set()
                with contextlib.suppress(OSError):
                    os.close(writer)

    def on_event(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "hello":
            write(_params(options, "/work", probe=probe))
        elif kind == "start" and not probe:
            if companion is not None:
                companion.start()
            write(next(script) + "\n")
        elif kind == "ready":
            observation.startup_ms = (time.monotonic() - started) * 1000
            _snapshot(tracer, observation, own=True)
            state["go"] = time.monotonic()
            if inst is not None:
                inst.mark("rtadvisor-window workload")
            write("go\n")
        elif kind == "done":
            if companion is not None:
                companion.start()
            write("continue\n" + next(script) + "\n")
        elif kind in _ANSWERS and kind != "end":
            try:
                write(script.send(event) + "\n")
            except StopIteration:
                pass

    raised: list[BaseException] = []

    def on_stdout(data: bytes) -> None:
        # An exception here (Ctrl-C, a failed companion) would be swallowed by the engine as a
        # host-call error: keep it, end the module's input so it exits, re-raise after the run.
        if raised:
            return
        try:
            handle_stdout(data)
        except BaseException as exc:  # re-raised below, after the engine returned
            raised.append(exc)
            close_writer()

    def handle_stdout(data: bytes) -> None:
        pending.extend(data)
        while b"\n" in pending:
            cut = pending.index(b"\n")
            text = pending[:cut].decode("utf-8", "replace")
            del pending[:cut + 1]
            if not text.startswith(PREFIX):
                continue
            if '"event":"done"' in text:  # close the window before anything else runs
                if inst is not None:
                    inst.mark("rtadvisor-window after")
                    inst.off()
                state["done"] = time.monotonic()
            try:
                event = json.loads(text[len(PREFIX):])
            except ValueError:
                continue
            observation.events.append(event)
            on_event(event)

    def watchdog() -> None:
        if not closed.wait(options.timeout_s):
            close_writer()

    guard = threading.Thread(target=watchdog, name="rtadvisor-measure-watchdog", daemon=True)
    guard.start()
    if inst is not None:
        # The engine = this thread + every thread no Python code started (wasmtime's own pool, which
        # runs WASI file operations, may predate this run); other Python threads (this watchdog, a
        # progress display) are not the engine.
        me = threading.get_native_id()
        python_threads = {t.native_id for t in threading.enumerate() if t.native_id is not None} - {me}
        observation.exclude |= python_threads
        inst.reset()
        inst.follow([me, *(t for t in tasks_of([os.getpid()]) if t not in python_threads)])
        inst.on()
    try:
        observation.returncode = run_wasi_module(
            module, args=(), stdin=None if user else fifo,
            preopens={"/work": scratch} if scratch is not None else None,
            on_stdout=on_stdout)
        if user:
            _snapshot(tracer, observation, own=True)
    except RtadvisorError:
        raise
    except Exception as exc:  # wasmtime's own errors (traps, link errors)
        if raised:
            raise raised[0] from exc
        raise BenchError(f"wasmtime: {type(exc).__name__}: {exc}") from exc
    finally:
        if inst is not None:
            with contextlib.suppress(OSError):
                inst.off()
        close_writer()
        guard.join(timeout=1)
        if companion is not None:
            companion.close()
    if raised:
        raise raised[0]
    if "go" in state and "done" in state:
        observation.window_ms = (state["done"] - state["go"]) * 1000
    if inst is not None:
        observation.trace_text = inst.read()
        observation.lost = inst.lost_events()
    return observation


# ====================================================================================== Wasm plans


def _wasm_assets(backend: Backend, assets: Assets) -> Path:
    """Build what the Wasm rows need beyond the backend's own prepare: the precompiled module for
    wasmtime, the runner script for node. Returns the directory."""
    base = assets.dir("measure-wasm")
    base.mkdir(parents=True, exist_ok=True)
    if backend.name == "wasmtime":
        from rtadvisor.backends.wasm import CWASM_SUFFIX, _Engine, _wasmtime_version

        wasm = assets.wasm("measure")
        out = base / f"measure.{CWASM_SUFFIX}"  # the engine with epoch interruption compiles it
        stamp = base / f"measure.{CWASM_SUFFIX}.stamp"
        key = f"{wasm.stat().st_size}:{wasm.stat().st_mtime_ns}:{_wasmtime_version()}"
        if not (out.exists() and stamp.exists() and stamp.read_text().strip() == key):
            eng = _Engine.get()
            try:
                module = eng.wasmtime.Module(eng.engine, wasm.read_bytes())
            except Exception as exc:  # wasmtime's compile error
                raise BenchError(f"wasmtime cannot compile {wasm}: {exc}") from exc
            _write_atomic(out, module.serialize())
            _write_atomic(stamp, (key + "\n").encode())
    elif backend.name == "node-wasi":
        runner = base / "node-runner.mjs"
        if not runner.exists() or runner.read_text() != _NODE_RUNNER:
            _write_atomic(runner, _NODE_RUNNER.encode())
    return base


def _write_atomic(path: Path, data: bytes) -> None:
    staged = path.with_name(f".{path.name}.{os.getpid()}")
    staged.write_bytes(data)
    os.replace(staged, path)


def _wasm_launch(backend: Backend, assets: Assets, workdir: Path, *, user: bool) -> LaunchPlan:
    """Process plans for the Wasm engines that run as processes (node, WASI command-line engines)."""
    module = assets.user_wasm if user and assets.user_wasm is not None else assets.wasm("measure")
    scratch = workdir / "scratch"
    setup = (Command(("mkdir", "-p", str(scratch)), timeout_s=10),)
    if backend.name == "node-wasi":
        runner = assets.dir("measure-wasm") / "node-runner.mjs"
        argv: tuple[str, ...] = ("node", "--no-warnings", str(runner), str(module), "" if user else str(scratch))
        labels = {"measure_dir": "/work", "storage": "host directory pre-opened at /work"}
        method = "node --no-warnings (WASI preview1, one pre-opened directory), stdio through pipes"
    else:
        binary = getattr(backend, "binary", backend.name)
        argv = (binary, *getattr(backend, "subcommand", ()), str(module))
        labels = {"measure_dir": ".", "storage": "none (no directory pre-opened for this engine)"}
        method = f"{binary} module.wasm, stdio through pipes"
    from rtadvisor.backends.base import Stage

    return LaunchPlan(workload="user" if user else "measure", setup=setup,
                      stages=(Stage("measure", Command(argv, timeout_s=120)),), labels=labels, method=method)


# ====================================================================================== results


def _supports(backend: Backend, workload: str, assets: Assets) -> str | None:
    if backend.family == "wasm":
        if workload == "user":
            return None if assets.user_wasm is not None else f"{backend.name} runs a user artifact only from --wasm FILE"
        if not assets.wasm("measure").is_file():
            return "the measure workload is not built for wasm32-wasi (run `rtadvisor prepare`)"
        return None
    return backend.supports(workload, assets)


def _method(tracer: Tracer | None, plan_method: str, user: bool) -> str:
    how = tracer.method if tracer is not None else "no tracing"
    windows = ("one window, spawn to exit (lifecycle)" if user else
               "windows: startup = spawn until the probe is ready; workload = the probe's fixed mix of calls "
               "between two stdin handshakes")
    return (f"raw_syscalls:sys_enter in a private tracefs instance following forks from the launch "
            f"(set_event_pid + event-fork; the containerd daemon's threads added); {windows}; "
            f"the bench's own thread is excluded; {how}; launch: {plan_method}; "
            "pass-through: getpriority(PRIO_PROCESS, 0x52544144) looked up in the workload window; "
            "confinement: /proc/PID/status of each host process while the probe waits")


def _notes(backend: Backend, emulated: bool, in_process: bool) -> tuple[str, ...]:
    notes: list[str] = []
    if in_process:
        notes.append("the engine runs inside the bench process (python + wasmtime): that process's system "
                     "calls are the sandbox's, and its privileges are the bench's")
    if emulated:
        notes.append("emulated (TCG): the host runs no KVM for this VM, so KVM's own host-kernel surface "
                     "(ioctl KVM_RUN, VM exits) is absent; a KVM VMM exposes at least that much more")
    if backend.name in ("runsc", "containerd-runsc"):
        notes.append("gVisor ptrace platform: the workload's system-call instructions trap into the host "
                     "(PTRACE_SYSEMU) but the host does not execute them; the Sentry's own calls are counted")
    return tuple(notes)


def _isolation_result(name: str, backend: Backend, observation: _Observation, plan_labels: Mapping[str, Any],
                      tracer: Tracer | None, plan_method: str, *, user: bool, in_process: bool,
                      duration_s: float) -> iso.IsolationResult:
    emulated = bool(plan_labels.get("emulated"))
    if observation.trace_text is None or tracer is None:
        return iso.IsolationResult(runtime=name, workload="user" if user else "probe", status="error",
                                   reason="no trace was recorded", emulated=emulated)
    trace = parse_trace(observation.trace_text, first_window="lifecycle" if user else "startup")
    child = observation.child_pid
    if child is not None and child in trace.first_exec:
        # the launcher's own child before it became the runtime is still the bench (subprocess work)
        cutoff = trace.first_exec[child]
        trace.syscalls = [e for e in trace.syscalls if not (e.pid == child and e.seq < cutoff)]
    roles = {pid: c.role for pid, c in observation.confinement.items()}
    exes = {pid: c.exe for pid, c in observation.confinement.items() if c.exe}
    exclude = observation.exclude  # the bench's own thread (process launches) or its other Python threads
    windows: list[iso.Window] = []
    if user:
        windows.append(iso.window_exposure(trace, "lifecycle", what="the artifact's whole life: spawn to exit",
                                           exclude=exclude, roles=roles, exes=exes))
    else:
        windows.append(iso.window_exposure(trace, "startup", what="spawn until the probe is ready (sandbox creation)",
                                           exclude=exclude, roles=roles, exes=exes,
                                           duration_ms=_round(observation.startup_ms)))
        windows.append(iso.window_exposure(trace, "workload", what="the probe's fixed mix of calls, between handshakes",
                                           exclude=exclude, roles=roles, exes=exes,
                                           duration_ms=_round(observation.window_ms)))
    passthrough = None
    if not user:
        done = observation.event("done") or {}
        inside = str(done.get("rare_syscall")) if done.get("rare_syscall") else None
        passthrough = iso.pass_through(trace, "workload", expressible=backend.family != "wasm", inside=inside,
                                       exclude=exclude, roles=roles)
    refusal = tracer.function_refusal()
    if refusal is not None:
        functions = iso.KernelFunctions(status="not measurable", reason=refusal)
    elif observation.functions_traced:
        found = trace.functions.get("workload", set())
        functions = iso.KernelFunctions(status="measured", distinct=len(found), complete=observation.lost == 0)
    else:
        functions = iso.KernelFunctions(status="not measurable", reason="function tracing not requested")
    return iso.IsolationResult(
        runtime=name, workload="user" if user else "probe", status="measured",
        method=_method(tracer, plan_method, user), windows=tuple(windows), pass_through=passthrough,
        confinement=tuple(observation.confinement[p] for p in sorted(observation.confinement)),
        kernel_functions=functions, events_lost=observation.lost, complete=observation.lost == 0,
        emulated=emulated, notes=_notes(backend, emulated, in_process), duration_s=round(duration_s, 3))


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _overhead_result(name: str, observation: _Observation, plan_labels: Mapping[str, Any], plan_method: str,
                     options: MeasureOptions, native_storage: str | None, duration_s: float) -> OverheadResult:
    emulated = bool(plan_labels.get("emulated"))
    storage = str(plan_labels.get("storage") or "") or None
    comparable = storage_comparable(storage, native_storage)
    metrics = [build_metric(record, comparable=comparable if record.name in FILE_METRICS else None)
               for record in observation.records.values()]
    if not metrics:
        return OverheadResult(runtime=name, status="error", reason="the workload reported no benchmark",
                              emulated=emulated)
    notes: tuple[str, ...] = ()
    if emulated:
        notes = (("EMULATED: the guest runs under TCG software emulation; these figures measure the emulator, "
                 "not virtualization"),)
    paired = name != "native"
    return OverheadResult(
        runtime=name, status="measured",
        method=(f"the static measure workload inside the runtime ({plan_method}); per benchmark a calibration "
                f"run (also the warm-up), then "
                + (f"{options.rounds}-{options.round_cap} turns (until the 95% CI of the headline figure is "
                   f"within ±{options.ci_target_pct:g}% or its share of the time is up)"
                   if options.ci_target_pct is not None else f"{options.rounds} turns")
                + f" of {options.per_turn} samples of ~{options.sample_ms} ms"
                + (", alternating turn by turn with a native measure process run beside it (order swapped every "
                   "round); slowdown = median of the paired native/runtime rate ratios" if paired else "")
                + "; medians with 95% percentile-bootstrap CIs"),
        metrics=tuple(metrics), storage=storage, emulated=emulated, sample_ms=options.sample_ms,
        samples=options.samples, notes=notes, duration_s=round(duration_s, 3))


# ====================================================================================== entry points


@contextlib.contextmanager
def _workdir(options: MeasureOptions, name: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-{name}-", dir=options.tmp_root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep_stale(tmp_root: Path | None = None) -> list[Path]:
    """Remove what a SIGKILLed measure run left: its temp directories and the (empty) cgroups named
    after its instances (``rtadv-m<pid>-...``), when that pid is gone. The workloads themselves
    exit on their own at end of input."""
    root = tmp_root or Path(tempfile.gettempdir())
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        for entry in root.iterdir():
            match = re.fullmatch(rf"{TEMP_PREFIX}(\d+)-.*", entry.name)
            if match and entry.is_dir() and not Path(f"/proc/{match.group(1)}").exists():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    with contextlib.suppress(OSError):
        for hierarchy in Path("/sys/fs/cgroup").iterdir():
            for group in hierarchy.glob(f"{INSTANCE_PREFIX}*"):
                match = re.match(rf"{INSTANCE_PREFIX}(\d+)-", group.name)
                if match is None or Path(f"/proc/{match.group(1)}").exists() or not group.is_dir():
                    continue
                for sub in sorted((p for p in group.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                    with contextlib.suppress(OSError):
                        sub.rmdir()
                with contextlib.suppress(OSError):
                    group.rmdir()
                    removed.append(group)
    return removed


def _unmeasured(name: str, options: MeasureOptions, status: Literal["not measurable", "not supported", "error"],
                reason: str, emulated: bool = False) -> RuntimeMeasurement:
    workload: Literal["probe", "user"] = options.workload
    return RuntimeMeasurement(
        runtime=name,
        isolation=iso.IsolationResult(runtime=name, workload=workload, status=status, reason=reason,
                                      emulated=emulated) if options.isolation else None,
        overhead=OverheadResult(runtime=name, status=status, reason=reason, emulated=emulated)
        if options.overhead and options.workload == "probe" else None)


def measure_runtime(name: str, assets: Assets | None = None, options: MeasureOptions | None = None, *,
                    tracer: Tracer | None = None) -> RuntimeMeasurement:
    """Isolation and/or overhead of one runtime from one launch (overhead ratios from a native
    companion run beside it). A runtime that is not usable here, or cannot run the workload, gets
    "not measurable" / "not supported" results with the reason; a runtime that fails gets "error"
    results: never an exception for those. Bad options raise :class:`InputError`.

    ``rtadvisor bench`` does the same inside each backend's session (:func:`measure_in_session`).
    """
    options = _effective(options or MeasureOptions())
    assets = assets or Assets()
    if options.isolation and tracer is None:
        sweep_stale(options.tmp_root)
        try:
            own = Tracer(options.buffer_kb).__enter__()
        except BenchError as exc:  # no tracefs here: isolation cannot be measured, overhead still can
            result = measure_runtime(name, assets, MeasureOptions(**{**options.__dict__, "isolation": False}))
            failed = iso.IsolationResult(runtime=name, workload=options.workload, status="not measurable",
                                         reason=str(exc))
            return result.model_copy(update={"isolation": failed})
        try:
            return measure_runtime(name, assets, options, tracer=own)
        finally:
            own.__exit__(None, None, None)
    started = time.monotonic()
    availability = backends.probe(name)
    if not availability.usable:
        return _unmeasured(name, options, "not measurable", availability.reason or "not usable on this node",
                           availability.emulated)
    backend = backends.get(name)
    unsupported = _supports(backend, _workload(options), assets)
    if unsupported:
        return _unmeasured(name, options, "not supported", unsupported, availability.emulated)
    try:
        backend.prepare(assets)
        with backend.session(assets), _workdir(options, name) as workdir:
            instance_id = f"{INSTANCE_PREFIX}{os.getpid()}-{name}-{os.urandom(3).hex()}"
            return _measure_prepared(backend, assets, options, tracer, workdir, instance_id, started,
                                     availability.emulated)
    except RtadvisorError as exc:
        return _unmeasured(name, options, "error", str(exc), availability.emulated)


def measure_in_session(backend: Backend, assets: Assets, options: MeasureOptions, *, tracer: Tracer | None,
                       workdir: Path, instance_id: str, emulated: bool = False) -> RuntimeMeasurement:
    """:func:`measure_runtime` for a backend that is prepared and whose session is entered (the
    bench's measurement phase: its private containerd daemon, its budget): one launch in
    ``workdir`` (removed by the caller), named ``instance_id``. Failures become results, as there."""
    options = _effective(options)
    started = time.monotonic()
    unsupported = _supports(backend, _workload(options), assets)
    if unsupported:
        return _unmeasured(backend.name, options, "not supported", unsupported, emulated)
    try:
        return _measure_prepared(backend, assets, options, tracer, workdir, instance_id, started, emulated)
    except RtadvisorError as exc:
        return _unmeasured(backend.name, options, "error", str(exc), emulated)


def _effective(options: MeasureOptions) -> MeasureOptions:
    if options.workload == "user" and options.overhead:
        return MeasureOptions(**{**options.__dict__, "overhead": False})  # overhead: built-in workload only
    return options


def _workload(options: MeasureOptions) -> str:
    return "user" if options.workload == "user" else "measure"


def _measure_prepared(backend: Backend, assets: Assets, options: MeasureOptions, tracer: Tracer | None,
                      workdir: Path, instance_id: str, started: float, emulated: bool) -> RuntimeMeasurement:
    """One launch of a prepared backend inside its session; raises RtadvisorError on failure."""
    name = backend.name
    user = _workload(options) == "user"
    probe = options.isolation and not user
    active_tracer = tracer if options.isolation else None
    in_process = backend.name == "wasmtime"
    if backend.family == "wasm":
        _wasm_assets(backend, assets)
    native_storage = None
    companion = None
    if options.overhead and name != "native":
        backends.get("native").prepare(assets)
        companion_dir = workdir / "native"
        companion_dir.mkdir()
        companion = _Companion(assets, options, companion_dir)
        native_storage = str(companion.plan.labels.get("storage"))
    if in_process:
        from rtadvisor.backends.wasm import CWASM_SUFFIX

        module = assets.user_wasm if user else assets.dir("measure-wasm") / f"measure.{CWASM_SUFFIX}"
        assert module is not None
        scratch = workdir / "scratch"
        scratch.mkdir()
        labels: Mapping[str, Any] = {"measure_dir": "/work", "storage": "host directory pre-opened at /work"}
        plan_method = "wasmtime in this process (wasmtime-py): precompiled module, one pre-opened directory"
        observation = _in_process(module, None if user else scratch, options, active_tracer, probe=probe,
                                  workdir=workdir, user=user, companion=companion)
    else:
        if backend.family == "wasm":
            plan = _wasm_launch(backend, assets, workdir, user=user)
        else:
            plan = backend.plan(_workload(options), assets, workdir, instance_id=instance_id)
        labels, plan_method = plan.labels, plan.method
        engine = getattr(backend, "engine_pids", lambda: ())() if active_tracer is not None else ()
        observation = _launch(plan, options, active_tracer, probe=probe, follow=engine, companion=companion)
    duration = time.monotonic() - started
    if not user and observation.event("end") is None:
        return _unmeasured(name, options, "error", "the measure workload did not finish", emulated)
    isolation = (_isolation_result(name, backend, observation, labels, active_tracer, plan_method, user=user,
                                   in_process=in_process, duration_s=duration) if options.isolation else None)
    overhead = (_overhead_result(name, observation, labels, plan_method, options, native_storage, duration)
                if options.overhead else None)
    return RuntimeMeasurement(runtime=name, isolation=isolation, overhead=overhead, duration_s=round(duration, 3))


def measure_runtimes(names: Sequence[str] | None = None, assets: Assets | None = None,
                     options: MeasureOptions | None = None, progress: ProgressFn | None = None) -> MeasureReport:
    """:func:`measure_runtime` for several runtimes (default: every registered one), one tracing
    instance for all of them."""
    from .node import node_info

    options = options or MeasureOptions()
    assets = assets or Assets()
    wanted = list(dict.fromkeys(names or backends.names()))
    started = time.monotonic()
    results: list[RuntimeMeasurement] = []
    sweep_stale(options.tmp_root)
    tracer: Tracer | None = None
    tracer_error: str | None = None
    if options.isolation:
        try:
            tracer = Tracer(options.buffer_kb).__enter__()
        except BenchError as exc:
            tracer_error = str(exc)
    try:
        for name in wanted:
            if progress:
                progress(name, "measure")
            if options.isolation and tracer is None:
                measured = measure_runtime(name, assets, MeasureOptions(**{**options.__dict__, "isolation": False}))
                measured = measured.model_copy(update={"isolation": iso.IsolationResult(
                    runtime=name, workload=options.workload, status="not measurable", reason=tracer_error)})
            else:
                measured = measure_runtime(name, assets, options, tracer=tracer)
            results.append(measured)
    finally:
        if tracer is not None:
            tracer.__exit__(None, None, None)
    return MeasureReport(
        host=node_info().model_dump(mode="json"), date=datetime.now(UTC).isoformat(timespec="seconds"),
        options={"isolation": options.isolation, "overhead": options.overhead, "sample_ms": options.sample_ms,
                 "rounds": options.rounds, "per_turn": options.per_turn, "suite": list(options.suite),
                 "workload": options.workload},
        runtimes=tuple(results), duration_s=round(time.monotonic() - started, 3))


def _main() -> None:  # pragma: no cover - a debugging aid: python -m rtadvisor.bench.measure runc
    report = measure_runtimes(sys.argv[1:] or None)
    print(report.model_dump_json(indent=1))


if __name__ == "__main__":  # pragma: no cover
    _main()
