"""containerd backends and :class:`PrivateContainerd`, a throw-away containerd daemon.

:class:`PrivateContainerd` runs Debian's containerd (1.6) as *our own* daemon: config, content
store, state and sockets in a private directory, the CRI plugin disabled (no Kubernetes here) unless
the caller's config says otherwise. The deploy area reuses it to prove generated configs::

    with PrivateContainerd(extra_config='[plugins."io.containerd.runtime.v1.linux"]\\n...') as ctd:
        ctd.import_image(Path("image.tar"), base_name="localhost/demo")
        result = ctd.run("localhost/demo:hello", "c1", runc_binary="/usr/bin/crun")
        assert result.returncode == 0

What we learned running it here (see ``docs/backends.md``):

* It is started under a tiny *subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)`` in a Python stub, in its
  own session): the runc v2 shims daemonise, and PID 1 of this machine reaps orphans late, so
  without it every finished container leaves a zombie shim. The stub reaps them, and when the daemon
  stops it kills whatever shim or container is still attached: nothing survives teardown.
* containerd 1.6 still writes shim sockets, FIFOs and the shim's runc root under ``/run/containerd``
  whatever the config says; teardown removes what this daemon added (and the directory itself if it
  did not exist before), plus the namespace's empty cgroup directories (``/sys/fs/cgroup/*/<ns>``).
* Debian's runsc has no ``containerd-shim-runsc-v1``; the runc v2 shim with ``--runc-binary`` set to
  a wrapper that execs ``runsc --network=none --platform=ptrace "$@"`` works (without
  ``--network=none`` tasks stick in CREATED).
* ``ctr run -d`` gives the container no stdout; idle instances log to a file (``--log-uri
  file://``) and a small waiter stage reports the ready line.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import tomlkit

from rtadvisor.backends import register
from rtadvisor.backends.base import (
    HELLO_OUTPUT,
    IDLE_READY,
    Assets,
    Availability,
    Backend,
    Command,
    Family,
    LaunchPlan,
    Stage,
    mark_owned,
)
from rtadvisor.backends.oci import (
    IMAGE_NAME,
    MEASURE_DIR,
    MEASURE_IMAGE,
    find_busybox,
    measure_asset_dir,
    prepare_measure_assets,
    prepare_oci_assets,
    ready_waiter,
    tool_version,
)
from rtadvisor.errors import BenchError, InputError

RUN_CONTAINERD = Path("/run/containerd")
CRI_PLUGIN = "io.containerd.grpc.v1.cri"
CRI_PLUGIN_V1 = "cri"  # the same plugin in a version-1 config (plugins are named by id there)
#: The name a user's ``--oci-layout`` image is imported under.
USER_IMAGE = "localhost/rtadvisor/user"

# The stub containerd runs under: subreaper, forwards TERM/INT/HUP, reaps every orphan, and once the
# daemon is gone kills (and reaps) whatever is still parented to it (shims, their containers).
_REAPER = r"""
import ctypes, os, shutil, signal, subprocess, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
parent = os.getppid()
libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG: our owner died (even SIGKILL) -> stop
if os.getppid() != parent:
    sys.exit(1)
child = subprocess.Popen(sys.argv[1:])
def forward(sig, frame):
    try:
        os.kill(child.pid, sig)
    except OSError:
        pass
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, forward)
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        break
    except InterruptedError:
        continue
    if pid == child.pid:
        break
me = str(os.getpid())
for _ in range(50):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me:
                kids.append(int(entry))
    if not kids:
        break
    for pid in kids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    time.sleep(0.02)
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
if os.getppid() != parent:  # orphaned: nobody else will tear down, so do the essentials here
    directory = os.path.dirname(sys.argv[-1])
    namespace = os.environ.get("RTADVISOR_CONTAINERD_NS", "")
    with open("/proc/self/mountinfo") as fh:
        points = [line.split()[4] for line in fh]
    for point in sorted((p for p in points if p.startswith(directory + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
    if os.path.basename(directory).startswith("rtadvisor-containerd-"):
        shutil.rmtree(directory, ignore_errors=True)
    if namespace.startswith("rtadvisor-"):
        try:
            from rtadvisor.backends.containerd import prune_run_skeleton, remove_namespace_leftovers
            remove_namespace_leftovers(namespace, os.path.join(directory, "containerd.sock"))
            prune_run_skeleton()
        except Exception:
            pass
"""


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def containerd_config(directory: Path, *, extra_config: str | Mapping[str, Any] | None = None,
                      config_path: Path | None = None, disable_cri: bool = True) -> str:
    """The TOML of a private containerd: ``root``, ``state``, ``grpc.address`` and ``ttrpc.address``
    under ``directory`` (always, even over a full ``config_path``), CRI disabled unless
    ``disable_cri`` is False, then ``extra_config`` (TOML text or a mapping) merged in. Pure.

    >>> "disabled_plugins" in containerd_config(Path("/x"))
    True
    """
    # The config this writes always states its version. One made here is version 2; a given file
    # without ``version`` is what containerd reads as version 1 (its plugin sections named by short
    # id, ``[plugins.cri]``), so it stays version 1, written out explicitly -- adding ``version = 2``
    # to it would silently turn its plugin sections into unknown keys.
    doc: dict[str, Any] = {"version": 2}
    if config_path is not None:
        try:
            doc = tomlkit.parse(config_path.read_text()).unwrap()
        except (OSError, ValueError) as exc:
            raise InputError(f"{config_path}: not a readable containerd TOML config ({exc})") from exc
    if extra_config is not None:
        if isinstance(extra_config, str):
            try:
                fragment = tomlkit.parse(extra_config).unwrap()
            except ValueError as exc:
                raise InputError(f"containerd config fragment is not valid TOML: {exc}") from exc
        else:
            fragment = dict(extra_config)
        _deep_merge(doc, fragment)
    doc["root"] = str(directory / "root")
    doc["state"] = str(directory / "state")
    doc.setdefault("grpc", {})["address"] = str(directory / "containerd.sock")
    doc.setdefault("ttrpc", {})["address"] = str(directory / "containerd.sock.ttrpc")
    doc.setdefault("debug", {})["address"] = ""  # no debug socket in /run/containerd
    doc.setdefault("metrics", {})["address"] = ""
    version = doc.get("version")
    if version is None:
        version = 1 if config_path is not None else 2
    doc["version"] = version
    # version 1 names plugins by id ("cri"), version 2 by URI (containerd's V1/V2DisabledFilter)
    cri = CRI_PLUGIN_V1 if version == 1 else CRI_PLUGIN
    disabled = [p for p in doc.get("disabled_plugins", []) if p not in (CRI_PLUGIN, CRI_PLUGIN_V1)]
    if disable_cri:
        disabled.append(cri)
    doc["disabled_plugins"] = disabled
    return tomlkit.dumps(doc)


def _snapshot(root: Path) -> set[str]:
    if not root.exists():
        return set()
    found = {str(root)}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            found.add(os.path.join(dirpath, name))
    return found


def _mounts_under(prefix: Path) -> list[str]:
    out: list[str] = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        fields = line.split()
        if len(fields) > 4:
            point = fields[4].replace("\\040", " ")
            if point == str(prefix) or point.startswith(str(prefix) + "/"):
                out.append(point)
    return sorted(set(out), key=len, reverse=True)


def remove_namespace_leftovers(namespace: str, address: str, ids: Iterable[str] = ()) -> None:
    """Remove what containerd 1.6 leaves under ``/run/containerd`` for a namespace's containers
    (shim runc root, shim sockets ``s/sha256(address/ns/id)``, ctr's FIFO dirs) and the namespace's
    cgroup directories. Everything removed is derived from our namespace and container ids, so a
    concurrent daemon's entries are never touched."""
    import hashlib

    runc_root = RUN_CONTAINERD / "runc" / namespace
    known = set(ids)
    with contextlib.suppress(OSError):
        known |= {p.name for p in runc_root.iterdir()}
    shutil.rmtree(runc_root, ignore_errors=True)
    for cid in known:
        digest = hashlib.sha256(os.path.join(address, namespace, cid).encode()).hexdigest()
        with contextlib.suppress(OSError):
            (RUN_CONTAINERD / "s" / digest).unlink()
    fifo_root = RUN_CONTAINERD / "fifo"
    with contextlib.suppress(OSError):
        for fifo_dir in fifo_root.iterdir():
            names = {p.name for p in fifo_dir.iterdir()}
            if names and all(n.rsplit("-", 1)[0] in known for n in names):
                shutil.rmtree(fifo_dir, ignore_errors=True)
    for hierarchy in Path("/sys/fs/cgroup").glob("*"):
        group = hierarchy / namespace
        if group.is_dir():
            for sub in sorted(group.rglob("*"), key=lambda p: len(str(p)), reverse=True):
                if sub.is_dir():
                    with contextlib.suppress(OSError):
                        sub.rmdir()
            with contextlib.suppress(OSError):
                group.rmdir()


def prune_run_skeleton() -> None:
    """With no containerd running, the empty ``/run/containerd/{fifo,runc,s}`` skeleton is nobody's
    (also when a concurrent private daemon created it after we started): remove it. rmdir only
    removes empty directories."""
    if other_containerd_running():
        return
    for sub in ("fifo", "runc", "s"):
        with contextlib.suppress(OSError):
            (RUN_CONTAINERD / sub).rmdir()
    with contextlib.suppress(OSError):
        RUN_CONTAINERD.rmdir()


def other_containerd_running() -> bool:
    """True if some containerd daemon is running (after ours stopped: someone else's)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "containerd":
                    state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    if state not in ("Z", "X"):  # a zombie left for a lazy PID 1 runs nothing
                        return True
            except (OSError, IndexError):
                continue
    return False


class PrivateContainerd(contextlib.AbstractContextManager["PrivateContainerd"]):
    """A containerd daemon of our own (context manager): start, import, run, teardown.

    Teardown (``stop()``, also on errors and Ctrl-C inside the ``with``) kills every task of our
    namespace, stops the daemon, kills any shim left, unmounts everything under the private
    directory, removes it, the ``/run/containerd`` entries it added and the namespace's cgroups.
    """

    def __init__(self, directory: Path | None = None, *, namespace: str | None = None,
                 extra_config: str | Mapping[str, Any] | None = None, config_path: Path | None = None,
                 disable_cri: bool = True, start_timeout_s: float = 20.0,
                 containerd: str = "containerd", ctr: str = "ctr") -> None:
        self._given_dir = directory
        self.directory: Path = directory or Path("/nonexistent")
        self.namespace = namespace or f"rtadvisor-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.extra_config = extra_config
        self.config_path = config_path
        self.disable_cri = disable_cri
        self.start_timeout_s = start_timeout_s
        self.containerd = containerd
        self.ctr_binary = ctr
        self._proc: subprocess.Popen[bytes] | None = None
        self._run_before: set[str] = set()
        self._owns_dir = directory is None
        self._seen_ids: set[str] = set()

    # ---------------------------------------------------------------- paths
    @property
    def address(self) -> Path:
        return self.directory / "containerd.sock"

    @property
    def config_file(self) -> Path:
        return self.directory / "config.toml"

    @property
    def log_file(self) -> Path:
        return self.directory / "containerd.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def ctr_argv(self, *args: str) -> tuple[str, ...]:
        """``ctr`` against this daemon and namespace (pure)."""
        return (self.ctr_binary, "--address", str(self.address), "--namespace", self.namespace, *args)

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Write the config, start the daemon (own session, under the reaper), wait for the socket."""
        if self._proc is not None:
            return
        if shutil.which(self.containerd) is None:
            raise BenchError(f"{self.containerd} is not installed on this node")
        if self._given_dir is None:
            self.directory = Path(tempfile.mkdtemp(prefix="rtadvisor-containerd-"))
            mark_owned(self.directory)  # if we die without stop(), `rtadvisor bench cleanup` removes it
        self.directory.mkdir(parents=True, exist_ok=True)
        self._run_before = _snapshot(RUN_CONTAINERD)
        try:
            self.config_file.write_text(containerd_config(self.directory, extra_config=self.extra_config,
                                                          config_path=self.config_path, disable_cri=self.disable_cri))
            with self.log_file.open("ab") as log:
                self._proc = subprocess.Popen(
                    [sys.executable, "-c", _REAPER, self.containerd, "--config", str(self.config_file)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                    env={**os.environ, "RTADVISOR_CONTAINERD_NS": self.namespace})
            deadline = time.monotonic() + self.start_timeout_s
            while not self._socket_ready():
                if self._proc.poll() is not None:
                    raise BenchError(f"containerd exited with {self._proc.returncode} at start: {self._log_tail()}")
                if time.monotonic() > deadline:
                    raise BenchError(f"containerd did not open {self.address} within {self.start_timeout_s:g} s: "
                                     f"{self._log_tail()}")
                time.sleep(0.02)
        except BaseException:
            self.stop()
            raise

    def _socket_ready(self) -> bool:
        if not self.address.exists():
            return False
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(str(self.address))
            except OSError:
                return False
        return True

    def _log_tail(self) -> str:
        """The daemon's last error line (or its last line: containerd reports a bad config as a plain
        line before exiting 0). The log itself goes with the private directory."""
        try:
            every = [ln.strip() for ln in self.log_file.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return "no log"
        errors = [ln for ln in every if "level=error" in ln or "level=fatal" in ln]
        return ((errors or every)[-1] if every else "nothing in its log")[-300:]

    def stop(self) -> None:
        """Tear everything down; safe to call twice, never raises for leftovers it can't see."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None and self._socket_ready():
                # Orderly first (runc removes its cgroups and mounts); a failure here must not stop
                # the teardown: the kill below gets whatever is left.
                with contextlib.suppress(Exception):
                    self._remove_all_tasks()
            # SIGTERM to the reaper: it forwards to containerd, then kills and reaps the shims.
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # anything left in the daemon's session
        if self.directory != Path("/nonexistent"):
            for point in _mounts_under(self.directory):
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)
            self._remove_run_entries()
            if self._owns_dir:
                shutil.rmtree(self.directory, ignore_errors=True)

    def _remove_all_tasks(self) -> None:
        listing = self.ctr("containers", "list", "--quiet", check=False, timeout=15)
        self._seen_ids.update(listing.stdout.split())
        for cid in listing.stdout.split():
            self.ctr("tasks", "kill", "--signal", "SIGKILL", cid, check=False, timeout=15)
            self.ctr("tasks", "delete", "--force", cid, check=False, timeout=15)
            self.ctr("containers", "delete", cid, check=False, timeout=15)

    def _remove_run_entries(self) -> None:
        remove_namespace_leftovers(self.namespace, str(self.address), self._seen_ids)
        if other_containerd_running():
            # Another daemon shares /run/containerd: what appeared meanwhile may be its own.
            return
        after = _snapshot(RUN_CONTAINERD)
        added = sorted(after - self._run_before, key=len, reverse=True)
        for path in added:
            p = Path(path)
            for point in _mounts_under(p):
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)
            with contextlib.suppress(OSError):
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
        prune_run_skeleton()

    # ---------------------------------------------------------------- client
    def ctr(self, *args: str, check: bool = True, timeout: float = 60.0,
            input: bytes | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``ctr`` against this daemon; an error (``check``) becomes a :class:`BenchError`."""
        try:
            proc = subprocess.run(self.ctr_argv(*args), capture_output=True, text=True, timeout=timeout,
                                  check=False, input=input.decode() if input is not None else None)
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"ctr {' '.join(args[:2])} timed out after {timeout:g} s") from exc
        if check and proc.returncode != 0:
            raise BenchError(f"ctr {' '.join(args[:2])} failed: {proc.stderr.strip()[-300:]}")
        return proc

    def import_image(self, tar: Path, *, base_name: str | None = None) -> list[str]:
        """Import an OCI image layout tar; returns the image names now present."""
        args = ["images", "import"]
        if base_name:
            args += ["--base-name", base_name]
        self.ctr(*args, str(tar), timeout=300)
        return self.images()

    def images(self) -> list[str]:
        return self.ctr("images", "list", "--quiet").stdout.split()

    def run_argv(self, image: str, container_id: str, *args: str, runtime: str | None = None,
                 runc_binary: str | None = None, rm: bool = True, detach: bool = False,
                 log_uri: str | None = None, mounts: Sequence[str] = ()) -> tuple[str, ...]:
        """The ``ctr run`` command line (pure). ``mounts``: ``--mount`` specs
        (``type=bind,src=/host,dst=/ctr,options=rbind:rw``)."""
        flags: list[str] = []
        for mount in mounts:
            flags += ["--mount", mount]
        if rm:
            flags.append("--rm")
        if detach:
            flags.append("--detach")
        if runtime:
            flags += ["--runtime", runtime]
        if runc_binary:
            flags += ["--runc-binary", runc_binary]
        if log_uri:
            flags += ["--log-uri", log_uri]
        return self.ctr_argv("run", *flags, image, container_id, *args)

    def run(self, image: str, container_id: str, *args: str, runtime: str | None = None,
            runc_binary: str | None = None, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """``ctr run --rm`` in the foreground; returns the completed process (stdout = the container's)."""
        argv = self.run_argv(image, container_id, *args, runtime=runtime, runc_binary=runc_binary)
        self._seen_ids.add(container_id)
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            self.ctr("tasks", "kill", "--signal", "SIGKILL", container_id, check=False)
            self.ctr("tasks", "delete", "--force", container_id, check=False)
            self.ctr("containers", "delete", container_id, check=False)
            raise BenchError(f"ctr run {image} timed out after {timeout:g} s") from exc


# --------------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------------


def _first_manifest_annotations(tar: Path) -> dict[str, str]:
    """Annotations of the first manifest in an OCI layout tar's index.json ({} if unreadable)."""
    import json
    import tarfile

    try:
        with tarfile.open(tar) as archive:
            member = next(m for m in archive.getmembers() if m.name.lstrip("./") == "index.json")
            fh = archive.extractfile(member)
            index = json.loads(fh.read()) if fh else {}
        return dict((index.get("manifests") or [{}])[0].get("annotations") or {})
    except (OSError, ValueError, StopIteration, tarfile.TarError, AttributeError, TypeError):
        return {}


def runsc_wrapper_text(runsc: str = "runsc") -> str:
    """The ``--runc-binary`` wrapper that makes the runc v2 shim drive gVisor."""
    return f'#!/bin/sh\nexec {shlex.quote(runsc)} --network=none --platform=ptrace "$@"\n'


class ContainerdBackend(Backend):
    """``ctr run`` through a private containerd on the runc v2 shim (``runc``, the default)."""

    name = "containerd"
    family: Family = "container"
    via = "runc"

    def __init__(self) -> None:
        self._daemon: PrivateContainerd | None = None

    # -- probe / prepare -------------------------------------------------------------------------
    def probe(self) -> Availability:
        for tool in ("containerd", "ctr", "containerd-shim-runc-v2", *self.extra_tools()):
            if shutil.which(tool) is None:
                return Availability.missing(self.name, tool)
        if find_busybox() is None:
            return Availability(name=self.name, usable=False,
                                reason="busybox-static not installed on this node (needed for the image)")
        if os.geteuid() != 0:
            return Availability(name=self.name, usable=False, reason="a private containerd needs root here")
        version = tool_version("containerd")
        return Availability(name=self.name, usable=True, binary=shutil.which("containerd"), version=version,
                            notes=(f"ctr run on the runc v2 shim with {self.via}; a private containerd daemon",))

    def extra_tools(self) -> tuple[str, ...]:
        return ("runc",)

    def prepare(self, assets: Assets) -> None:
        prepare_oci_assets(assets)
        prepare_measure_assets(assets)
        base = assets.dir("containerd")
        base.mkdir(parents=True, exist_ok=True)
        wrapper = base / "runsc-wrapper"
        text = runsc_wrapper_text(shutil.which("runsc") or "runsc")
        if not wrapper.exists() or wrapper.read_text() != text:
            tmp = base / f".runsc-wrapper.{os.getpid()}"
            tmp.write_text(text)
            os.chmod(tmp, 0o755)
            os.replace(tmp, wrapper)

    def supports(self, workload: str, assets: Assets) -> str | None:
        if workload == "user":
            if assets.user_oci_layout is None:
                return f"{self.name} runs a user artifact given as --oci-layout DIR|TAR"
            return None
        if workload == "measure":
            if not (measure_asset_dir(assets) / "image.tar").is_file():
                return "the measure workload is not built (run `rtadvisor prepare`; it needs a static C toolchain)"
            return None
        return None if workload in ("hello", "idle") else f"unknown workload {workload!r}"

    def engine_pids(self) -> tuple[int, ...]:
        """The private containerd daemon of the current session: the host process every container
        of this backend goes through (it forks the shims), e.g. for kernel tracing."""
        daemon = self._daemon
        if daemon is None or daemon.pid is None:
            return ()
        pids: list[int] = []
        with contextlib.suppress(OSError):
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    with contextlib.suppress(OSError, IndexError):
                        fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                        if int(fields[1]) == daemon.pid and (entry / "comm").read_text().strip() == "containerd":
                            pids.append(int(entry.name))
        return tuple(pids)

    # -- session: one daemon for all the runs of a measurement -------------------------------------
    @contextlib.contextmanager
    def session(self, assets: Assets) -> Iterator[None]:
        """Start a private containerd with our image imported; stop it (and everything) on exit."""
        if self._daemon is not None:  # nested use shares the running daemon
            yield
            return
        daemon = PrivateContainerd()
        with daemon:
            daemon.import_image(assets.dir("oci") / "image.tar")
            if (measure_asset_dir(assets) / "image.tar").is_file():
                daemon.import_image(measure_asset_dir(assets) / "image.tar")
            if assets.user_oci_layout is not None:
                self._import_user(daemon, assets.user_oci_layout)
            self._daemon = daemon
            try:
                yield
            finally:
                self._daemon = None

    def _import_user(self, daemon: PrivateContainerd, layout: Path) -> None:
        tar = layout
        if layout.is_dir():
            tar = daemon.directory / "user-image.tar"
            from rtadvisor.backends.oci import tar_layout

            tar_layout(layout, tar)
        before = set(daemon.images())
        after = daemon.import_image(tar, base_name=USER_IMAGE)
        new = [i for i in after if i not in before]
        # The name ctr gives it: io.containerd.image.name if the layout has one, else base:ref.name.
        annotations = _first_manifest_annotations(tar)
        named = annotations.get("io.containerd.image.name")
        ref = annotations.get("org.opencontainers.image.ref.name")
        candidates = [named] if named else []
        candidates += [f"{USER_IMAGE}:{ref}"] if ref else []
        self.user_image = next((c for c in candidates if c in after), new[0] if new else f"{USER_IMAGE}:latest")

    user_image: str = f"{USER_IMAGE}:latest"  # replaced by the imported name in session()

    # -- pure planning ---------------------------------------------------------------------------
    def runc_binary(self, assets: Assets) -> str | None:
        return None

    def plan(self, workload: str, assets: Assets, workdir: Path, *, instance_id: str) -> LaunchPlan:
        daemon = self._daemon or _PlanningDaemon()
        runc_binary = self.runc_binary(assets)
        if workload == "measure":
            return self._measure_plan(daemon, runc_binary, workdir, instance_id)
        if workload == "hello":
            image = f"{IMAGE_NAME}:hello"
        elif workload == "idle":
            image = f"{IMAGE_NAME}:idle"
        elif workload == "user":
            image = self.user_image
        else:
            raise ValueError(f"{self.name} cannot run workload {workload!r}")
        cleanup_script = "; ".join(
            " ".join(shlex.quote(a) for a in daemon.ctr_argv(*args)) + " >/dev/null 2>&1"
            for args in (("tasks", "kill", "--signal", "SIGKILL", instance_id),
                         ("tasks", "delete", "--force", instance_id),
                         ("containers", "delete", instance_id))
        )
        cleanup = (Command(("sh", "-c", cleanup_script + "; exit 0"), check=False, timeout_s=30),)
        artifacts = (assets.dir("oci") / "layout",)
        via = f"runc v2 shim + {self.via}"
        if workload == "idle":
            log = workdir / "container.log"
            start = Command(daemon.run_argv(image, instance_id, rm=False, detach=True, runc_binary=runc_binary,
                                            log_uri=f"file://{log}"), timeout_s=60)
            waiter = ready_waiter(log)
            return LaunchPlan(
                workload=workload,
                stages=(Stage("start", start), Stage("ready", waiter, ready_line=IDLE_READY)),
                cleanup=cleanup, cmdline_markers=(instance_id,), artifacts=artifacts,
                labels={"via": via},
                method=f"ctr run --detach ({via}), then wait for the ready line in the container log",
            )
        run = Command(daemon.run_argv(image, instance_id, runc_binary=runc_binary), timeout_s=60)
        return LaunchPlan(
            workload=workload,
            stages=(Stage("run", run),),
            cleanup=cleanup,
            expected_stdout=HELLO_OUTPUT if workload == "hello" else None,
            cmdline_markers=(instance_id,),
            artifacts=artifacts,
            labels={"via": via},
            method=f"ctr run --rm ({via}) against a running private containerd, until exit "
                   "(client + daemon + shim + runtime; daemon CPU not counted)",
        )


    def _measure_plan(self, daemon: PrivateContainerd, runc_binary: str | None, workdir: Path,
                      instance_id: str) -> LaunchPlan:
        """``measure`` through ``ctr run --rm`` in the foreground (ctr forwards stdin/stdout through
        the shim's FIFOs), ``<workdir>/scratch`` bind-mounted at ``/work``."""
        scratch = workdir / "scratch"
        mount = f"type=bind,src={scratch},dst={MEASURE_DIR},options=rbind:rw"
        run = Command(daemon.run_argv(MEASURE_IMAGE, instance_id, runc_binary=runc_binary, mounts=(mount,)),
                      timeout_s=120)
        cleanup_script = "; ".join(
            " ".join(shlex.quote(a) for a in daemon.ctr_argv(*args)) + " >/dev/null 2>&1"
            for args in (("tasks", "kill", "--signal", "SIGKILL", instance_id),
                         ("tasks", "delete", "--force", instance_id),
                         ("containers", "delete", instance_id)))
        via = f"runc v2 shim + {self.via}"
        return LaunchPlan(
            workload="measure",
            setup=(Command(("mkdir", "-p", str(scratch)), timeout_s=10),),
            stages=(Stage("measure", run),),
            cleanup=(Command(("sh", "-c", cleanup_script + "; exit 0"), check=False, timeout_s=30),),
            cmdline_markers=(instance_id,),
            labels={"via": via, "measure_dir": MEASURE_DIR,
                    "storage": f"host directory bind-mounted at {MEASURE_DIR} (ctr run --mount)"},
            method=f"ctr run --rm ({via}) of /measure against a running private containerd",
        )


class _PlanningDaemon(PrivateContainerd):
    """Stands in for the session's daemon when plan() is called outside a session (unit tests):
    the argv shows placeholders and cannot reach any daemon."""

    def __init__(self) -> None:
        super().__init__(Path("/run/rtadvisor-no-session"), namespace="rtadvisor")


class ContainerdRunscBackend(ContainerdBackend):
    """``ctr run`` on the runc v2 shim with ``--runc-binary`` = a wrapper that execs runsc."""

    name = "containerd-runsc"
    family: Family = "sandbox"
    via = "runsc (gVisor, ptrace, --network=none) via --runc-binary"

    def extra_tools(self) -> tuple[str, ...]:
        return ("runsc",)

    def runc_binary(self, assets: Assets) -> str | None:
        return str(assets.dir("containerd") / "runsc-wrapper")


def containerd_backends() -> Sequence[Backend]:
    return (ContainerdBackend(), ContainerdRunscBackend())


for _backend in containerd_backends():
    register(_backend)
