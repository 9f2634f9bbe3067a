"""WebAssembly backends: wasmtime embedded in Python, Node's WASI, and any WASI command-line engine.

* ``wasmtime``: the wasmtime engine in *this* process (PyPI ``wasmtime``). Stages timed apart:
  ``compile`` (Cranelift, from .wasm), ``serialize``, ``deserialize`` (precompiled load of the
  prepared ``.cwasm``, mmap), ``instantiate`` (Linker + WASI), ``run`` (``_start``) and the fast
  path ``instantiate_pre`` (``Linker.instantiate_pre`` -> ``InstancePre.instantiate``). The
  reported cold start is ``instantiate + run`` of the precompiled module; the whole-process figure
  (``python`` + ``import wasmtime`` + deserialize + instantiate + run) is reported beside it as
  ``whole_process``. The pooling allocator is not exposed by wasmtime-py's ``Config`` (checked on
  50.x), so ``InstancePre`` is the fast path. Density: N idle instances (one ``Store`` each, the way
  Wasm platforms pack functions) in ONE engine process, beside one process per instance.
* ``node-wasi``: ``node --no-warnings`` with ``new WASI({version: 'preview1', returnOnExit: true})``;
  whole process timed; the runner also reports its in-process compile / instantiate / start times.
* ``wasmedge``, ``wasmtime-cli``, ``wasmer``, ``iwasm``: one generic code path for a WASI
  command-line engine (``ENGINE [run] module.wasm``), used when the binary is installed; otherwise
  the backend says "<engine> not installed on this node" and no number is ever made up.
"""

from __future__ import annotations

import errno
import hashlib
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from rtadvisor.backends import register
from rtadvisor.backends.base import (
    HELLO_OUTPUT,
    IDLE_READY,
    Assets,
    Availability,
    Backend,
    Command,
    InProcessRun,
    LaunchPlan,
    Stage,
    StageTimer,
)
from rtadvisor.errors import BenchError

#: stdout lines ``RTADVISOR_STAGES {"compile": 1.2, ...}`` carry stage times measured inside a runtime.
SELF_REPORT_PREFIX = "RTADVISOR_STAGES "


def _user_key(path: Path) -> str:
    st = path.stat()
    return hashlib.sha256(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]


def _module_for(workload: str, assets: Assets) -> Path:
    if workload == "user":
        if assets.user_wasm is None:
            raise BenchError("workload 'user' needs --wasm FILE")
        return assets.user_wasm
    return assets.wasm(workload)


def _wasm_supports(name: str, workload: str, assets: Assets) -> str | None:
    if workload == "user" and assets.user_wasm is None:
        return f"{name} runs a user artifact only from --wasm FILE"
    return None


def _write_atomic(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{os.getpid()}")
    if isinstance(data, str):
        staged.write_text(data, encoding="utf-8")
    else:
        staged.write_bytes(data)
    os.replace(staged, path)


# ====================================================================== wasmtime (in process)

# ---------------------------------------------------------------------- limits of a wasmtime run


@dataclass(frozen=True)
class WasmLimits:
    """What one wasmtime instance may use, like node-wasi's timeout: an infinite loop, a huge
    ``memory.grow`` or endless output each end in a clear error, in bounded time and memory.

    * ``timeout_s``: epoch interruption (the engine is built with ``epoch_interruption``; a watchdog
      bumps the epoch at the deadline, or at once on Ctrl-C/SIGTERM, and the guest traps);
    * ``memory_bytes``: ``Store.set_limits(memory_size=...)``: a ``memory.grow`` beyond it returns -1
      (instantiation fails if the module's minimum memory is larger);
    * ``output_bytes``: stdout beyond it fails with EFBIG and stops the guest.

    Defaults are changed with ``RTADVISOR_WASM_TIMEOUT_S``, ``RTADVISOR_WASM_MEMORY_MB`` and
    ``RTADVISOR_WASM_OUTPUT_KB``.
    """

    timeout_s: float = 30.0
    memory_bytes: int = 256 * 2**20
    output_bytes: int = 2**20

    @classmethod
    def from_env(cls) -> WasmLimits:
        values: dict[str, float] = {}
        for variable, field_name, scale in (("RTADVISOR_WASM_TIMEOUT_S", "timeout_s", 1.0),
                                            ("RTADVISOR_WASM_MEMORY_MB", "memory_bytes", 2.0**20),
                                            ("RTADVISOR_WASM_OUTPUT_KB", "output_bytes", 1024.0)):
            raw = os.environ.get(variable)
            if raw is None or not raw.strip():
                continue
            try:
                number = float(raw)
            except ValueError:
                number = float("nan")
            if not (0 < number < 1e9):
                raise BenchError(f"${variable}: expected a positive number below 1e9, got {raw[:40]!r}")
            values[field_name] = number * scale
        return cls(timeout_s=values.get("timeout_s", cls.timeout_s),
                   memory_bytes=int(values.get("memory_bytes", cls.memory_bytes)),
                   output_bytes=int(values.get("output_bytes", cls.output_bytes)))

    def describe(self) -> str:
        return (f"limits: {self.timeout_s:g} s (RTADVISOR_WASM_TIMEOUT_S), memory {self.memory_bytes / 2**20:g} MiB "
                f"(RTADVISOR_WASM_MEMORY_MB; a memory.grow beyond it fails), output "
                f"{self.output_bytes / 1024:g} KiB (RTADVISOR_WASM_OUTPUT_KB)")


# Run in a fresh interpreter: the whole-process figure and the one-process-per-instance idle worker.
# The engine config must match the one that precompiled the .cwasm (epoch interruption on).
# argv: cwasm, timeout_s (0: none, for idle instances held until killed), memory limit in bytes.
_WASMTIME_PROCESS_SCRIPT = """import sys, threading, wasmtime
config = wasmtime.Config()
config.epoch_interruption = True
engine = wasmtime.Engine(config)
module = wasmtime.Module.deserialize_file(engine, sys.argv[1])
linker = wasmtime.Linker(engine)
linker.define_wasi()
store = wasmtime.Store(engine)
store.set_limits(memory_size=int(sys.argv[3]))
store.set_epoch_deadline(1)
if float(sys.argv[2]) > 0:
    timer = threading.Timer(float(sys.argv[2]), engine.increment_epoch)
    timer.daemon = True
    timer.start()
wasi = wasmtime.WasiConfig()
wasi.inherit_stdout()
store.set_wasi(wasi)
instance = linker.instantiate(store, module)
try:
    instance.exports(store)["_start"](store)
except wasmtime.ExitTrap as trap:
    sys.exit(trap.code)
"""

# N idle instances in ONE engine process: instantiated (memory, tables, WASI context) but not
# started, each in its own Store, then hold them. argv: cwasm, N, ready line, memory limit.
_WASMTIME_PACK_SCRIPT = """import signal, sys, wasmtime
config = wasmtime.Config()
config.epoch_interruption = True
engine = wasmtime.Engine(config)
module = wasmtime.Module.deserialize_file(engine, sys.argv[1])
linker = wasmtime.Linker(engine)
linker.define_wasi()
pre = linker.instantiate_pre(module)
held = []
for _ in range(int(sys.argv[2])):
    store = wasmtime.Store(engine)
    store.set_limits(memory_size=int(sys.argv[4]))
    store.set_epoch_deadline(1)
    store.set_wasi(wasmtime.WasiConfig())
    held.append((store, pre.instantiate(store)))
print(sys.argv[3], flush=True)
while True:
    signal.pause()
"""

#: Part of the cache key of precompiled modules: code compiled for another config cannot be loaded.
ENGINE_CONFIG_KEY = "epoch_interruption=1"
#: ...and of their file name, so that an rtadvisor with another engine config sharing the asset
#: cache never overwrites these (nor these its own).
CWASM_SUFFIX = "epoch.cwasm"


class _Engine:
    """One wasmtime Engine + Linker per process (creating them is process start-up, not instance start)."""

    _instance: _Engine | None = None

    def __init__(self) -> None:
        import wasmtime

        self.wasmtime = wasmtime
        config = wasmtime.Config()
        config.epoch_interruption = True  # a run can be stopped: its deadline, Ctrl-C (see _Watchdog)
        self.engine = wasmtime.Engine(config)
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()

    @classmethod
    def get(cls) -> _Engine:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance


def _wasmtime_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("wasmtime")
    except Exception:  # metadata missing just means "unknown"
        return None


class _Watchdog:
    """Stops a running guest: bumps the engine's epoch when the time is up, or at once when SIGINT or
    SIGTERM arrives (Python cannot run its signal handler while the guest runs native code, so the
    signal's wakeup fd is watched from this thread). Started before the timed stages: the thread
    then only sleeps in ``select``, costing the guest nothing."""

    def __init__(self, engine: object, timeout_s: float) -> None:
        self.engine = engine
        self.timeout_s = timeout_s
        self.timed_out = False
        self.interrupted = False
        self._stop_r, self._stop_w = os.pipe()
        self._wake_r = self._wake_w = -1
        self._old_wakeup: int | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_w, False)
            try:
                old = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
            except ValueError:
                old = -2
            if old == -1:
                self._old_wakeup = old
            else:  # someone else (an event loop) owns the wakeup fd: leave it, rely on the deadline
                if old >= 0:
                    signal.set_wakeup_fd(old)
                for fd in (self._wake_r, self._wake_w):
                    os.close(fd)
                self._wake_r = self._wake_w = -1
        self._thread = threading.Thread(target=self._watch, name="rtadvisor-wasm-watchdog", daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        fds = [self._stop_r] + ([self._wake_r] if self._wake_r >= 0 else [])
        ready, _, _ = select.select(fds, [], [], self.timeout_s)
        if self._stop_r in ready:
            return
        if ready:
            self.interrupted = True
        else:
            self.timed_out = True
        self.engine.increment_epoch()  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        os.write(self._stop_w, b"x")
        if self._thread is not None:
            self._thread.join()
        if self._old_wakeup is not None:
            signal.set_wakeup_fd(self._old_wakeup)
        for fd in (self._stop_r, self._stop_w, self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)


class _CappedOutput:
    """A WASI stdout that keeps at most ``cap`` bytes; beyond that the write fails (EFBIG) and the
    guest is stopped at its next epoch check (endless output must not grow our memory)."""

    def __init__(self, cap: int, engine: object) -> None:
        self.cap = cap
        self.engine = engine
        self.size = 0
        self.exceeded = False
        self.chunks: list[bytes] = []

    def __call__(self, data: bytes) -> int:
        if self.size + len(data) > self.cap:
            if not self.exceeded:
                self.exceeded = True
                self.engine.increment_epoch()  # type: ignore[attr-defined]
            return -errno.EFBIG
        self.size += len(data)
        self.chunks.append(bytes(data))
        return len(data)

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", "replace")


def _trap_line(exc: BaseException) -> str:
    """The line of a wasmtime error that says what happened ("wasm trap: ...", not the backtrace)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("wasm trap:") or "memory minimum size" in line or "exceeds" in line:
            return line
    return lines[-1] if lines else type(exc).__name__


class _WasmtimeRun:
    """The in-process hello/user run (a callable object so the plan itself stays a plain value)."""

    def __init__(self, wasm: Path, cwasm: Path, check_exit: bool, limits: WasmLimits | None = None) -> None:
        self.wasm = wasm
        self.cwasm = cwasm
        self.check_exit = check_exit
        self.limits = limits or WasmLimits()

    def __call__(self, timer: StageTimer) -> str:
        eng = _Engine.get()
        wasmtime = eng.wasmtime
        limits = self.limits
        raw = self.wasm.read_bytes()
        with timer.stage("compile"):
            compiled = wasmtime.Module(eng.engine, raw)
        with timer.stage("serialize"):
            compiled.serialize()
        with timer.stage("deserialize"):
            module = wasmtime.Module.deserialize_file(eng.engine, str(self.cwasm))
        output = _CappedOutput(limits.output_bytes, eng.engine)
        code = 0
        with _Watchdog(eng.engine, limits.timeout_s) as watchdog:
            try:
                with timer.stage("instantiate"):
                    store = wasmtime.Store(eng.engine)
                    store.set_limits(memory_size=limits.memory_bytes)
                    store.set_epoch_deadline(1)
                    wasi = wasmtime.WasiConfig()
                    wasi.stdout_custom = output
                    store.set_wasi(wasi)
                    instance = eng.linker.instantiate(store, module)
                with timer.stage("run"):
                    start = instance.exports(store)["_start"]
                    try:
                        start(store)  # type: ignore[operator]
                    except wasmtime.ExitTrap as trap:
                        code = trap.code
            except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:  # a trap, or instantiation refused by a limit
                if output.exceeded:
                    raise BenchError(f"wasm module wrote more than {limits.output_bytes // 1024} KiB to stdout and "
                                     f"was stopped (output cap; {limits.describe()})") from exc
                if watchdog.timed_out:
                    raise BenchError(f"wasm module ran longer than {limits.timeout_s:g} s and was stopped "
                                     f"(epoch deadline; {limits.describe()})") from exc
                if watchdog.interrupted:
                    raise KeyboardInterrupt from exc  # the signal's own handler may also raise it
                raise BenchError(f"wasm module failed: {_trap_line(exc)} ({limits.describe()})") from exc
        if output.exceeded:
            raise BenchError(f"wasm module wrote more than {limits.output_bytes // 1024} KiB to stdout "
                             f"(output cap; {limits.describe()})")
        if self.check_exit and code != 0:
            raise BenchError(f"wasm module exited with code {code} ({limits.describe()})")
        # The fast path, beside (not inside) the cold start: a pre-linked InstancePre.
        pre = eng.linker.instantiate_pre(module)
        with timer.stage("instantiate_pre"):
            store2 = wasmtime.Store(eng.engine)
            store2.set_limits(memory_size=limits.memory_bytes)
            store2.set_epoch_deadline(1)
            store2.set_wasi(wasmtime.WasiConfig())
            pre.instantiate(store2)
        return output.text()


def run_wasi_module(module: Path, *, args: tuple[str, ...] = (), stdin: Path | None = None,
                    preopens: dict[str, Path] | None = None,
                    on_stdout: Callable[[bytes], None] | None = None,
                    limits: WasmLimits | None = None) -> int:
    """Run a WASI command module to completion on this process's wasmtime engine; its exit code.

    The engine the ``wasmtime`` backend measures, for callers that need arguments, a stdin file,
    pre-opened directories (guest path -> host directory) and stdout as it is written (the isolation
    probe marks its trace window from the ``on_stdout`` callback). ``module`` is a ``.wasm`` (compiled
    here) or a ``.cwasm`` made by this engine's ``Module.serialize``. The same limits as the measured
    run apply (time, memory, output: :class:`WasmLimits`).
    """
    limits = limits or WasmLimits()
    eng = _Engine.get()
    wasmtime = eng.wasmtime
    if module.suffix == ".cwasm":
        compiled = wasmtime.Module.deserialize_file(eng.engine, str(module))
    else:
        compiled = wasmtime.Module(eng.engine, module.read_bytes())
    store = wasmtime.Store(eng.engine)
    store.set_limits(memory_size=limits.memory_bytes)
    store.set_epoch_deadline(1)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [module.stem, *args]
    if stdin is not None:
        wasi.stdin_file = str(stdin)
    for guest, host in (preopens or {}).items():
        wasi.preopen_dir(str(host), guest)
    output = _CappedOutput(limits.output_bytes, eng.engine)

    def write(data: bytes) -> int:
        n = output(data)
        if n > 0 and on_stdout is not None:
            on_stdout(bytes(data))
        output.chunks.clear()  # counted, not kept: the caller consumes the stream
        return n

    wasi.stdout_custom = write
    store.set_wasi(wasi)
    with _Watchdog(eng.engine, limits.timeout_s) as watchdog:
        try:
            instance = eng.linker.instantiate(store, compiled)
            instance.exports(store)["_start"](store)  # type: ignore[operator]
        except wasmtime.ExitTrap as trap:
            return int(trap.code)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            if output.exceeded:
                raise BenchError(f"wasm module wrote more than {limits.output_bytes // 1024} KiB to stdout "
                                 f"(output cap; {limits.describe()})") from exc
            if watchdog.timed_out:
                raise BenchError(f"wasm module ran longer than {limits.timeout_s:g} s and was stopped "
                                 f"(epoch deadline; {limits.describe()})") from exc
            if watchdog.interrupted:
                raise KeyboardInterrupt from exc
            raise BenchError(f"wasm module failed: {_trap_line(exc)} ({limits.describe()})") from exc
    return 0


class WasmtimeBackend(Backend):
    """wasmtime embedded in the Python process (PyPI ``wasmtime``)."""

    name = "wasmtime"
    family = "wasm"

    def probe(self) -> Availability:
        from rtadvisor.workloads import wasi_toolchain_missing

        version = _wasmtime_version()
        if version is None:
            return Availability.missing(self.name, "the wasmtime Python package")
        missing = None if Assets().wasm("hello").exists() else wasi_toolchain_missing()
        if missing:
            return Availability(name=self.name, usable=False, version=version, reason=missing)
        return Availability(name=self.name, usable=True, binary=sys.executable, version=f"wasmtime-py {version}",
                            notes=(("in-process engine; pooling allocator not exposed by wasmtime-py, "
                                    "fast path = InstancePre"),))

    def _cwasm(self, workload: str, assets: Assets) -> Path:
        if workload == "user":
            assert assets.user_wasm is not None
            return assets.dir("wasmtime") / f"user-{_user_key(assets.user_wasm)}.{CWASM_SUFFIX}"
        return assets.dir("wasmtime") / f"{workload}.{CWASM_SUFFIX}"

    def supports(self, workload: str, assets: Assets) -> str | None:
        return _wasm_supports(self.name, workload, assets)

    def prepare(self, assets: Assets) -> None:
        from rtadvisor.workloads import ensure_built

        ensure_built(assets, native=False)
        eng = _Engine.get()
        workloads = ["hello", "idle"] + (["user"] if assets.user_wasm is not None else [])
        version = _wasmtime_version() or "?"
        for workload in workloads:
            wasm = _module_for(workload, assets)
            out = self._cwasm(workload, assets)
            stamp = out.with_name(out.name + ".stamp")
            key = hashlib.sha256(wasm.read_bytes() + version.encode() + ENGINE_CONFIG_KEY.encode()).hexdigest()
            if out.exists() and stamp.exists() and stamp.read_text().strip() == key:
                continue
            try:
                module = eng.wasmtime.Module(eng.engine, wasm.read_bytes())
            except Exception as exc:  # wasmtime's own validation/compile error
                raise BenchError(f"wasmtime cannot compile {wasm}: {exc}") from exc
            _write_atomic(out, module.serialize())
            _write_atomic(stamp, key + "\n")

    def plan(self, workload: str, assets: Assets, workdir: Path, *, instance_id: str) -> LaunchPlan:
        limits = WasmLimits.from_env()
        memory = str(limits.memory_bytes)
        if workload in ("hello", "user"):
            wasm = _module_for(workload, assets)
            cwasm = self._cwasm(workload, assets)
            expected = HELLO_OUTPUT if workload == "hello" else None
            whole = LaunchPlan(
                workload=workload,
                stages=(Stage("process", Command((sys.executable, "-c", _WASMTIME_PROCESS_SCRIPT, str(cwasm),
                                                  f"{limits.timeout_s:g}", memory),
                                                 timeout_s=limits.timeout_s + 30)),),
                expected_stdout=expected,
                method="python -c: import wasmtime, deserialize, instantiate, run _start",
            )
            return LaunchPlan(
                workload=workload,
                in_process=InProcessRun(
                    run=_WasmtimeRun(wasm, cwasm, check_exit=True, limits=limits),
                    cold_start_stages=("instantiate", "run"),
                    description="precompiled module deserialized from .cwasm; Store+WASI+Linker.instantiate, then _start",
                ),
                expected_stdout=expected,
                artifacts=(wasm,),
                labels={"cache": "precompiled .cwasm in page cache", "in_process": True},
                method=("in-process instantiate + run of a precompiled module (engine already up, epoch "
                        f"interruption on; {limits.describe()})"),
                whole_process=whole,
            )
        if workload == "idle":
            cwasm = self._cwasm("idle", assets)
            return LaunchPlan(
                workload=workload,
                stages=(Stage("start", Command((sys.executable, "-c", _WASMTIME_PROCESS_SCRIPT, str(cwasm), "0",
                                                memory)), ready_line=IDLE_READY),),
                artifacts=(assets.wasm("idle"),),
                method="one python+wasmtime process per idle instance",
            )
        raise ValueError(f"wasmtime cannot run workload {workload!r}")

    def pack_plan(self, count: int, assets: Assets, workdir: Path, *, instance_id: str) -> LaunchPlan | None:
        cwasm = self._cwasm("idle", assets)
        return LaunchPlan(
            workload="idle",
            stages=(Stage("start", Command((sys.executable, "-c", _WASMTIME_PACK_SCRIPT, str(cwasm), str(count),
                                           IDLE_READY, str(WasmLimits.from_env().memory_bytes)), timeout_s=120.0),
                          ready_line=IDLE_READY),),
            artifacts=(assets.wasm("idle"),),
            method=f"{count} idle instances (one Store each, InstancePre) in one python+wasmtime process",
        )


# ====================================================================== node WASI

_NODE_RUNNER = """\
// rtadvisor node-wasi runner: run a WASI command module, or hold N idle instances (pack mode).
import { WASI } from 'node:wasi';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [mode, file, count, ready] = process.argv.slice(2);
const t0 = performance.now();
const module = await WebAssembly.compile(readFileSync(file));
const t1 = performance.now();
if (mode === 'pack') {
  const held = [];
  for (let i = 0; i < Number(count); i++) {
    const wasi = new WASI({ version: 'preview1', returnOnExit: true });
    held.push([wasi, await WebAssembly.instantiate(module, wasi.getImportObject())]);
  }
  process.stdout.write(ready + '\\n');
  setInterval(() => held.length, 1 << 30);
} else {
  const wasi = new WASI({ version: 'preview1', returnOnExit: true });
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  const t2 = performance.now();
  const code = wasi.start(instance);
  const t3 = performance.now();
  if (mode === 'report') {
    process.stdout.write('RTADVISOR_STAGES ' + JSON.stringify(
      { node_compile: t1 - t0, node_instantiate: t2 - t1, node_start: t3 - t2 }) + '\\n');
  }
  process.exitCode = code;
}
"""


def _node_version(binary: str) -> str | None:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


class NodeWasiBackend(Backend):
    """Node.js's built-in WASI (preview1) running the same module as a fresh process."""

    name = "node-wasi"
    family = "wasm"

    def probe(self) -> Availability:
        from rtadvisor.workloads import wasi_toolchain_missing

        binary = shutil.which("node")
        if binary is None:
            return Availability.missing(self.name, "node")
        version = _node_version(binary)
        major = int(version.lstrip("v").split(".")[0]) if version and version.lstrip("v")[:1].isdigit() else 0
        if major < 20:
            return Availability(name=self.name, usable=False, binary=binary, version=version,
                                reason=f"node {version} too old: WASI preview1 needs node >= 20")
        missing = None if Assets().wasm("hello").exists() else wasi_toolchain_missing()
        if missing:
            return Availability(name=self.name, usable=False, binary=binary, version=version, reason=missing)
        return Availability(name=self.name, usable=True, binary=binary, version=f"node {version}")

    def supports(self, workload: str, assets: Assets) -> str | None:
        return _wasm_supports(self.name, workload, assets)

    def _runner(self, assets: Assets) -> Path:
        return assets.dir("node-wasi") / "runner.mjs"

    def prepare(self, assets: Assets) -> None:
        from rtadvisor.workloads import ensure_built

        ensure_built(assets, native=False)
        runner = self._runner(assets)
        if not runner.exists() or runner.read_text(encoding="utf-8") != _NODE_RUNNER:
            _write_atomic(runner, _NODE_RUNNER)

    def _argv(self, assets: Assets, *args: str) -> tuple[str, ...]:
        return ("node", "--no-warnings", str(self._runner(assets)), *args)

    def plan(self, workload: str, assets: Assets, workdir: Path, *, instance_id: str) -> LaunchPlan:
        module = _module_for(workload, assets)
        if workload in ("hello", "user"):
            return LaunchPlan(
                workload=workload,
                stages=(Stage("process", Command(self._argv(assets, "report", str(module)))),),
                expected_stdout=HELLO_OUTPUT if workload == "hello" else None,
                artifacts=(module,),
                method="node --no-warnings runner.mjs (WASI preview1): whole process until exit",
                self_report_prefix=SELF_REPORT_PREFIX,
            )
        if workload == "idle":
            return LaunchPlan(
                workload=workload,
                stages=(Stage("start", Command(self._argv(assets, "run", str(module))), ready_line=IDLE_READY),),
                artifacts=(module,),
                method="one node process per idle instance",
            )
        raise ValueError(f"node-wasi cannot run workload {workload!r}")

    def pack_plan(self, count: int, assets: Assets, workdir: Path, *, instance_id: str) -> LaunchPlan | None:
        module = assets.wasm("idle")
        return LaunchPlan(
            workload="idle",
            stages=(Stage("start", Command(self._argv(assets, "pack", str(module), str(count), IDLE_READY),
                                           timeout_s=120.0), ready_line=IDLE_READY),),
            artifacts=(module,),
            method=f"{count} idle WASI instances (instantiated, not started) in one node process",
        )


# ====================================================================== generic WASI command-line engines


class WasiCliBackend(Backend):
    """Any WASI command-line engine: ``BINARY [SUBCOMMAND] module.wasm``; used only when installed."""

    family = "wasm"

    def __init__(self, name: str, binary: str, subcommand: tuple[str, ...],
                 version_args: tuple[str, ...] = ("--version",)) -> None:
        self.name = name
        self.binary = binary
        self.subcommand = subcommand
        self.version_args = version_args

    def probe(self) -> Availability:
        path = shutil.which(self.binary)
        if path is None:
            return Availability.missing(self.name, self.binary)
        try:
            out = subprocess.run([path, *self.version_args], capture_output=True, text=True, timeout=10,
                                 check=False)
            version = (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else None
        except (OSError, subprocess.TimeoutExpired):
            version = None
        return Availability(name=self.name, usable=True, binary=path, version=version)

    def supports(self, workload: str, assets: Assets) -> str | None:
        return _wasm_supports(self.name, workload, assets)

    def prepare(self, assets: Assets) -> None:
        from rtadvisor.workloads import ensure_built

        ensure_built(assets, native=False)

    def plan(self, workload: str, assets: Assets, workdir: Path, *, instance_id: str) -> LaunchPlan:
        module = _module_for(workload, assets)
        argv = (self.binary, *self.subcommand, str(module))
        if workload == "idle":
            return LaunchPlan(workload=workload, stages=(Stage("start", Command(argv), ready_line=IDLE_READY),),
                              artifacts=(module,), method=f"one {self.binary} process per idle instance")
        return LaunchPlan(
            workload=workload,
            stages=(Stage("process", Command(argv)),),
            expected_stdout=HELLO_OUTPUT if workload == "hello" else None,
            artifacts=(module,),
            method=f"{' '.join(argv[:1 + len(self.subcommand)])} module.wasm: whole process until exit",
        )


register(WasmtimeBackend())
register(NodeWasiBackend())
register(WasiCliBackend("wasmedge", "wasmedge", ()))
register(WasiCliBackend("wasmtime-cli", "wasmtime", ("run",)))
register(WasiCliBackend("wasmer", "wasmer", ("run",)))
register(WasiCliBackend("iwasm", "iwasm", (), version_args=("--version",)))
