"""Bounded, one-line-error reading of everything a user hands us: files, stdin, YAML, JSON, TOML, numbers.

Every entry point (profiles, manifests, containerd configs, RuntimeClass files, decision JSON, OCI
layouts, Wasm modules, CLI options) reads through here so that hostile input ends quickly, in bounded
memory, with one line naming the file or field and what was expected:

* **files** — only regular files are read (a FIFO, ``/dev/zero``, a directory or a socket is refused
  before any byte is read; the file is opened with ``O_NONBLOCK`` so a FIFO cannot block), and at
  most :attr:`Limits.max_bytes` of them (``RTADVISOR_MAX_INPUT_BYTES``);
* **YAML** — libyaml's C parser (which refuses nesting beyond 1000 levels itself) with PyYAML's
  SafeConstructor, plus three caps checked *while* the document is composed or before it is
  constructed: nodes per file, nesting depth, and nodes after alias expansion (the "billion laughs"
  bomb: 9 aliases of 9 aliases... is 900 bytes of text and a billion nodes);
* **JSON / TOML** — the standard parsers with ``NaN``/``Infinity`` refused, non-finite floats and
  integers beyond :data:`MAX_INT_DIGITS` digits refused, and a depth cap;
* **numbers** — :func:`finite_number` and :func:`number_option` for values that reach arithmetic;
* **paths** — :func:`open_beneath` resolves a relative path inside a directory without following
  symbolic links or ``..`` (an OCI layout's digest must not read ``/etc/shadow``);
* **writes** — :func:`replace_file` replaces a regular file atomically without following symbolic
  links, so an interrupted write never leaves half a file and a swapped-in symlink is refused;
* **gzip** — :func:`gunzip_stream` decompresses in chunks with a cap on the output (gzip bombs).

The limits, their defaults and environment variables are listed in ``docs/limits.md``.

Why hand-written parts: PyYAML has no node, alias or depth limit of its own (libyaml's 1000-level
nesting cap is the only one), ruamel.yaml has none either, and Python's ``json``/``tomllib`` accept
``NaN`` and ``inf``; the checks are small hooks into those libraries (the resolver callbacks the C
parser already makes per node, the ``parse_*`` hooks of ``json``), not replacement parsers.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import math
import os
import re
import stat
import sys
import tomllib
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

import yaml
import yaml.constructor
import yaml.resolver

from rtadvisor.errors import InputError

try:  # libyaml ships with PyYAML's wheels; the pure-Python parser is the slow fallback
    from yaml.cyaml import CParser as _CParser
except ImportError:  # pragma: no cover
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _CParser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)


__all__ = [
    "ENV",
    "MAX_INT_DIGITS",
    "TEMP_SUFFIX",
    "CountingYamlLoader",
    "LimitedYamlLoader",
    "Limits",
    "YamlLimitError",
    "check_toml",
    "check_tree",
    "check_yaml",
    "finite_number",
    "gunzip_stream",
    "iter_fd",
    "limits",
    "load_json",
    "load_toml",
    "load_yaml",
    "load_yaml_all",
    "number_option",
    "open_beneath",
    "read_beneath",
    "read_bytes",
    "read_bytes_stat",
    "read_stdin",
    "read_text",
    "replace_file",
    "show",
    "size_text",
]

#: Integers with more digits are refused (Python's own ``int()`` limit for decimal strings; a 5000-digit
#: "number" is never meaningful here and converting it costs quadratic time).
MAX_INT_DIGITS = 4300

MIB = 1 << 20


# --------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limits:
    """Every bound on input, with its default; ``limits()`` reads the overrides from the environment."""

    #: text inputs: profiles, manifests, containerd configs, RuntimeClass files, decision JSON, OCI JSON
    max_bytes: int = 8 * MIB
    #: binary inputs: Wasm modules, ``image build --add`` / ``--busybox`` files
    max_binary_bytes: int = 64 * MIB
    #: YAML nodes (scalars, sequences, mappings) per file, aliases counted as the nodes they stand for
    max_yaml_nodes: int = 400_000
    #: YAML nodes of a file edited in place with ruamel.yaml's round-trip loader (pure Python, ~0.1 ms a node)
    max_edit_nodes: int = 20_000
    #: containerd configs (parsed with tomlkit to keep their style: pure Python, ~20 us a byte here)
    max_config_bytes: int = 128 * 1024
    #: nesting depth of YAML, JSON and TOML documents
    max_depth: int = 100
    #: an OCI layer blob, compressed and uncompressed, when a layout is verified
    max_layer_bytes: int = 512 * MIB


#: environment variable for each limit
ENV: dict[str, str] = {
    "max_bytes": "RTADVISOR_MAX_INPUT_BYTES",
    "max_binary_bytes": "RTADVISOR_MAX_BINARY_BYTES",
    "max_yaml_nodes": "RTADVISOR_MAX_YAML_NODES",
    "max_edit_nodes": "RTADVISOR_MAX_EDIT_NODES",
    "max_config_bytes": "RTADVISOR_MAX_CONFIG_BYTES",
    "max_depth": "RTADVISOR_MAX_DEPTH",
    "max_layer_bytes": "RTADVISOR_MAX_LAYER_BYTES",
}
_SIZE_UNITS = {"": 1, "k": 1000, "kb": 1000, "ki": 1024, "kib": 1024, "m": 10**6, "mb": 10**6, "mi": MIB,
               "mib": MIB, "g": 10**9, "gb": 10**9, "gi": 1 << 30, "gib": 1 << 30}
_SIZE = re.compile(r"^\s*(\d{1,15})\s*([a-zA-Z]{0,3})\s*$")


def _parse_limit(name: str, text: str, is_size: bool) -> int:
    match = _SIZE.fullmatch(text)
    unit = match[2].lower() if match else ""
    if match is None or (unit and not is_size) or unit not in _SIZE_UNITS or int(match[1]) < 1:
        example = "a size such as 8MiB, 500k or 8388608" if is_size else "a positive integer"
        raise InputError(f"environment variable {name}: expected {example}, got {show(text)}")
    return int(match[1]) * _SIZE_UNITS[unit]


def limits() -> Limits:
    """The limits in force: the defaults of :class:`Limits`, overridden by ``RTADVISOR_MAX_*``."""
    values: dict[str, int] = {}
    for f in fields(Limits):
        raw = os.environ.get(ENV[f.name])
        if raw is not None and raw.strip():
            values[f.name] = _parse_limit(ENV[f.name], raw, f.name.endswith("bytes"))
    return Limits(**values)


def size_text(n: int) -> str:
    """``8388608`` -> ``8 MiB`` (exact binary units when they fit, else bytes)."""
    for unit, size in (("GiB", 1 << 30), ("MiB", MIB), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def _raise_hint(limit_name: str) -> str:
    return f"set {ENV[limit_name]} to raise the limit"


# --------------------------------------------------------------------------- showing user text

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def show(value: object) -> str:
    """User-supplied text made safe for one line of a terminal: control characters (ESC, newline,
    bidi overrides) are written as escapes, the rest is kept. Paths are shown as given."""
    text = str(value)
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


# --------------------------------------------------------------------------- reading files


def _label(path: str | os.PathLike[str], what: str) -> str:
    return f"{what} {show(os.fspath(path))}" if what else show(os.fspath(path))


def read_bytes(
    path: str | os.PathLike[str],
    *,
    what: str = "",
    limit: int | None = None,
    error: type[Exception] = InputError,
    follow_symlinks: bool = True,
    dir_fd: int | None = None,
    limit_name: str = "max_bytes",
    purpose: str = "",
) -> bytes:
    """The bytes of a regular file, at most ``limit`` of them (default: :attr:`Limits.max_bytes`).

    Anything else raises ``error`` with one line ``<what> <path>: <why>``: a missing or unreadable
    file, a directory, FIFO, device or socket (refused before reading, and without blocking on a
    FIFO), a symlink when ``follow_symlinks`` is false, a file larger than the limit.
    """
    return read_bytes_stat(path, what=what, limit=limit, error=error, follow_symlinks=follow_symlinks,
                           dir_fd=dir_fd, limit_name=limit_name, purpose=purpose)[0]


def read_bytes_stat(
    path: str | os.PathLike[str],
    *,
    what: str = "",
    limit: int | None = None,
    error: type[Exception] = InputError,
    follow_symlinks: bool = True,
    dir_fd: int | None = None,
    limit_name: str = "max_bytes",
    purpose: str = "",
) -> tuple[bytes, os.stat_result]:
    """:func:`read_bytes` and the ``fstat`` of the file read (its identity, for :func:`replace_file`)."""
    label = _label(path, what)
    cannot = f"cannot read {purpose}".rstrip()
    if limit is None:
        limit = getattr(limits(), limit_name)
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            raise error(f"{label}: is a symbolic link; not followed") from exc
        raise error(f"{label}: {cannot}: {_reason(exc)}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{label}: {_kind(st.st_mode)}, expected a regular file")
        if st.st_size > limit:
            raise error(f"{label}: {st.st_size} bytes is more than the {size_text(limit)} input limit "
                        f"({_raise_hint(limit_name)})")
        return _read_fd(fd, limit, label, error, limit_name), st
    except OSError as exc:
        raise error(f"{label}: {cannot}: {_reason(exc)}") from exc
    finally:
        os.close(fd)


def _read_fd(fd: int, limit: int, label: str, error: type[Exception], limit_name: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = os.read(fd, min(1 << 20, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:  # grew while we read it (or a /proc-like file that lies about its size)
            raise error(f"{label}: more than the {size_text(limit)} input limit ({_raise_hint(limit_name)})")


def _decode(data: bytes, label: str, error: type[Exception]) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{label}: not UTF-8 text (invalid byte at offset {exc.start})") from exc


def read_text(
    path: str | os.PathLike[str],
    *,
    what: str = "",
    limit: int | None = None,
    error: type[Exception] = InputError,
    follow_symlinks: bool = True,
    purpose: str = "",
    limit_name: str = "max_bytes",
) -> str:
    """:func:`read_bytes` decoded as UTF-8 (a BOM is dropped); binary data is refused in one line."""
    data = read_bytes(path, what=what, limit=limit, error=error, follow_symlinks=follow_symlinks, purpose=purpose,
                      limit_name=limit_name)
    return _decode(data, _label(path, what), error)


def read_stdin(*, what: str = "stdin", limit: int | None = None, error: type[Exception] = InputError,
               stream: IO[bytes] | None = None) -> str:
    """Standard input as UTF-8 text, at most ``limit`` bytes (:attr:`Limits.max_bytes`)."""
    if limit is None:
        limit = limits().max_bytes
    src = stream if stream is not None else getattr(sys.stdin, "buffer", None)
    if src is None:  # a text stream without a byte buffer (a test's StringIO, an embedding app)
        text = sys.stdin.read(limit + 1)
        if len(text) > limit:
            raise error(f"{what}: more than the {size_text(limit)} input limit ({_raise_hint('max_bytes')})")
        return text
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = src.read(min(1 << 20, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise error(f"{what}: more than the {size_text(limit)} input limit ({_raise_hint('max_bytes')})")
    return _decode(b"".join(chunks), what, error)


# --------------------------------------------------------------------------- paths inside a directory


def open_beneath(root: str | os.PathLike[str], relpath: str, *, what: str = "",
                 error: type[Exception] = InputError) -> int:
    """Open ``root/relpath`` for reading without leaving ``root``: no absolute path, no ``..``, and no
    symbolic link in any component (each one is opened with ``O_NOFOLLOW`` relative to its parent).
    Returns a file descriptor (the caller closes it). Why by hand: Python has no ``openat2``
    ``RESOLVE_BENEATH``."""
    label = what or f"{show(os.fspath(root))}: {show(relpath)}"
    parts = relpath.split("/")
    if relpath.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\0" in relpath:
        raise error(f"{label}: path {show(relpath)} leaves the directory (expected a relative path without ..)")
    try:
        dir_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise error(f"{label}: cannot open {show(os.fspath(root))}: {_reason(exc)}") from exc
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
            except OSError as exc:
                why = "a symbolic link or not a directory" if exc.errno in (errno.ELOOP, errno.ENOTDIR) else _reason(exc)
                raise error(f"{label}: {show(part)}: {why}") from exc
            os.close(dir_fd)
            dir_fd = nxt
        try:
            return os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
        except OSError as exc:
            why = "is a symbolic link; not followed" if exc.errno == errno.ELOOP else _reason(exc)
            raise error(f"{label}: {why}") from exc
    finally:
        os.close(dir_fd)


def read_beneath(root: str | os.PathLike[str], relpath: str, *, what: str = "", limit: int | None = None,
                 error: type[Exception] = InputError, limit_name: str = "max_bytes") -> bytes:
    """The bytes of the regular file ``root/relpath`` (see :func:`open_beneath`), at most ``limit``."""
    label = what or f"{show(os.fspath(root))}: {show(relpath)}"
    if limit is None:
        limit = getattr(limits(), limit_name)
    fd = open_beneath(root, relpath, what=label, error=error)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{label}: {_kind(st.st_mode)}, expected a regular file")
        if st.st_size > limit:
            raise error(f"{label}: {st.st_size} bytes is more than the {size_text(limit)} limit "
                        f"({_raise_hint(limit_name)})")
        return _read_fd(fd, limit, label, error, limit_name)
    except OSError as exc:
        raise error(f"{label}: cannot read: {_reason(exc)}") from exc
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- atomic replace

TEMP_SUFFIX = ".rtadvisor-tmp"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_stale(dir_fd: int, name: str) -> None:
    """Remove temp files an earlier, killed rtadvisor left beside ``name`` (our marker, dead pid)."""
    prefix = f".{name}."
    with contextlib.suppress(OSError), os.scandir(dir_fd) as entries:
        for entry in entries:
            if not (entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX)):
                continue
            pid = entry.name[len(prefix):-len(TEMP_SUFFIX)].split(".", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(entry.name, dir_fd=dir_fd)


def replace_file(path: str | os.PathLike[str], data: bytes, *, expect: tuple[int, int] | None = None,
                 within: Iterable[str | os.PathLike[str]] | None = None, error: type[Exception] = InputError) -> str:
    """Replace the regular file ``path`` with ``data`` atomically; returns the real path written.

    * the new content goes to a temp file beside it (``.NAME.PID.RANDOM.rtadvisor-tmp``), is
      fsynced, gets the old file's mode, and is renamed over the old name: a reader sees the old or
      the new file, never half of one; temp files of earlier killed runs are removed first;
    * the final component must be a regular file, not a symbolic link (the rename replaces the
      directory entry, so it could not write *through* a link anyway, but turning a link into a file
      is not what the user asked for either);
    * ``expect`` = ``(st_dev, st_ino)`` of the file that was read: a file swapped in since is refused;
    * ``within``: the directory actually written (resolved through the open descriptor, so a
      symlinked parent swapped in meanwhile cannot redirect it) must lie inside one of these paths
      (or the file must be one of them).
    """
    p = Path(path)
    label = show(os.fspath(p))
    try:
        dir_fd = os.open(p.parent if str(p.parent) else ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise error(f"{label}: cannot open its directory: {_reason(exc)}") from exc
    tmp: str | None = None
    try:
        real_dir = os.readlink(f"/proc/self/fd/{dir_fd}")
        real = os.path.join(real_dir, p.name)
        if within is not None:
            roots = [os.path.realpath(r) for r in within]
            if not any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots):
                raise error(f"{label}: resolves to {show(real)}, outside the given paths; not written")
        try:
            st = os.stat(p.name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError as exc:
            raise error(f"{label}: cannot write: {_reason(exc)}") from exc
        if stat.S_ISLNK(st.st_mode):
            raise error(f"{label}: is a symbolic link; not written through")
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{label}: {_kind(st.st_mode)}, expected a regular file")
        if expect is not None and (st.st_dev, st.st_ino) != expect:
            raise error(f"{label}: changed since it was read; not written")
        _sweep_stale(dir_fd, p.name)
        tmp = f".{p.name}.{os.getpid()}.{os.urandom(4).hex()}{TEMP_SUFFIX}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
            with contextlib.suppress(OSError):  # keep the owner when we may (root fixing a user's file)
                os.fchown(fd, st.st_uid, st.st_gid)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, p.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        tmp = None
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)
        return real
    except OSError as exc:
        raise error(f"{label}: cannot write: {_reason(exc)}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
        os.close(dir_fd)


# --------------------------------------------------------------------------- YAML


class YamlLimitError(yaml.MarkedYAMLError):
    """A YAML document is over a limit (nodes, depth, alias expansion) or holds an unusable value."""


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Composing a document allocates one object per node and per mark, none of them cyclic; the
    cyclic collector's repeated passes over them cost more than the parse itself (2.2x at 1M nodes
    here), so it sleeps meanwhile."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _LimitedResolver(yaml.resolver.Resolver):
    """SafeLoader's resolver that also counts nodes and tracks depth.

    The C parser calls ``descend_resolver`` before composing every node (also explicitly tagged
    ones, which skip ``resolve``) and ``ascend_resolver`` after it, so these two hooks see the whole
    document as it is built, and a limit stops composition before the memory is spent. Path
    resolvers are never registered by the safe loader, so nothing else needs them.
    """

    _nodes: int
    _depth: int
    _max_nodes: int
    _max_depth: int
    _nodes_limit: str

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        self._nodes += 1
        self._depth += 1
        if self._nodes > self._max_nodes or self._depth > self._max_depth:
            mark = getattr(current_node, "start_mark", None)
            if self._depth > self._max_depth:
                problem = f"nested more than {self._max_depth} levels deep ({_raise_hint('max_depth')})"
            else:
                problem = f"more than {self._max_nodes} YAML nodes in one file ({_raise_hint(self._nodes_limit)})"
            raise YamlLimitError(None, None, problem, mark)

    def ascend_resolver(self) -> None:
        self._depth -= 1


#: Texts above this size compose with the garbage collector paused (below it, pausing costs more than
#: the collections it saves).
_BIG_TEXT = 256 * 1024

#: Where an alias token can start: after a line start, blank, ``[``, ``{``, ``,`` or ``:``, a ``*``
#: followed by an anchor character (libyaml's scanner takes ``[0-9A-Za-z_-]`` only). A superset of
#: real aliases (``ls *.txt`` matches too), so texts without a match (quoted cron schedules
#: ``"*/5 * * * *"``, RBAC ``verbs: ["*"]``) skip the walk.
_ALIAS = re.compile(r"(?:^|[\s\[{,:])\*[0-9A-Za-z_-]", re.MULTILINE)


class LimitedYamlLoader(_CParser, yaml.constructor.SafeConstructor, _LimitedResolver):  # type: ignore[misc,valid-type]
    """libyaml's parser + PyYAML's SafeConstructor, with the limits of :class:`Limits`.

    * nodes per loader (a loader reads one file) and nesting depth: while composing;
    * aliases: :meth:`get_checked_node` walks a composed document once (memoised per node, so the
      walk is linear in the *text*) and refuses it when its aliases expand beyond the node limit or
      the depth limit, or refer to themselves; only run when the text may hold an alias at all;
    * construction: a value PyYAML cannot build (an integer of 5000 digits, the date 2001-02-30)
      becomes a :class:`YamlLimitError` with its line instead of a ``ValueError``.

    The scan's reader subclasses it (its projection constructs only what it reads); everything else
    calls :func:`load_yaml` / :func:`load_yaml_all`.
    """

    def __init__(self, stream: str, lim: Limits | None = None, *, max_nodes: int | None = None,
                 nodes_limit: str = "max_yaml_nodes") -> None:
        lim = lim or limits()
        _CParser.__init__(self, stream)
        yaml.constructor.SafeConstructor.__init__(self)
        _LimitedResolver.__init__(self)
        self._nodes = 0
        self._depth = 0
        self._max_nodes = max_nodes if max_nodes is not None else getattr(lim, nodes_limit)
        self._nodes_limit = nodes_limit
        self._max_depth = lim.max_depth
        self._expanded = 0
        self._big = len(stream) > _BIG_TEXT if isinstance(stream, str) else True
        # "*" in text is a C-speed scan; the regex runs only on the few texts that have a star
        self._may_alias = ("*" in stream and _ALIAS.search(stream) is not None) if isinstance(stream, str) else True

    # -- composing with limits

    def get_checked_node(self) -> yaml.Node | None:
        """The next document's node (None for an empty one), composed within the limits."""
        if self._big:
            with _gc_paused():
                node = self.get_node()
        else:
            node = self.get_node()
        if node is not None and self._may_alias:
            self._check_aliases(node)
        elif node is not None:
            self._expanded = self._nodes
        return node

    def _check_aliases(self, root: yaml.Node) -> None:
        """Expanded size and depth of a node graph, memoised per node (aliases share node objects).

        Iterative, so a deep graph cannot exhaust Python's stack; a node met again while it is still
        open is a recursive alias (``&a [*a]``), which no Kubernetes object or JSON value can be."""
        size: dict[int, int] = {}
        height: dict[int, int] = {}
        open_: set[int] = set()
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        budget = self._max_nodes - self._expanded
        while stack:
            node, done = stack.pop()
            key = id(node)
            children: list[yaml.Node]
            if isinstance(node, yaml.MappingNode):
                children = [c for pair in node.value for c in pair]
            elif isinstance(node, yaml.SequenceNode):
                children = node.value
            else:
                children = []
            if done:
                open_.discard(key)
                size[key] = 1 + sum(size[id(c)] for c in children)
                height[key] = 1 + max((height[id(c)] for c in children), default=0)
                if size[key] > budget:
                    raise YamlLimitError(None, None, f"aliases expand to more than {self._max_nodes} YAML nodes "
                                         f"({_raise_hint(self._nodes_limit)})", node.start_mark)
                if height[key] > self._max_depth:
                    raise YamlLimitError(None, None, f"aliases nest more than {self._max_depth} levels deep "
                                         f"({_raise_hint('max_depth')})", node.start_mark)
                continue
            if key in size:
                continue
            if key in open_:
                raise YamlLimitError(None, None, "recursive alias (an anchor used inside itself)", node.start_mark)
            open_.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in size)
        self._expanded += size[id(root)]

    # -- constructing with errors that name the line

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError, TypeError) as exc:
            raise YamlLimitError(None, None, f"cannot construct a value: {exc}", node.start_mark) from exc

    def construct_yaml_int(self, node: yaml.Node) -> int:
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise YamlLimitError(None, None, f"integer with {digits} digits (at most {MAX_INT_DIGITS})", node.start_mark)
        return int(super().construct_yaml_int(node))

    def construct_document(self, node: yaml.Node) -> Any:
        try:
            return super().construct_document(node)
        except (ValueError, OverflowError, TypeError) as exc:
            raise YamlLimitError(None, None, f"cannot construct a value: {exc}", node.start_mark) from exc


LimitedYamlLoader.add_constructor("tag:yaml.org,2002:int", LimitedYamlLoader.construct_yaml_int)


class CountingYamlLoader(LimitedYamlLoader):
    """:class:`LimitedYamlLoader` without the per-node depth tracking (the node and alias limits
    stay): a quarter less work per node, for a caller that reads many files and turns a
    ``RecursionError`` (a document nested deeper than Python's stack, up to libyaml's own 1000
    levels) into a problem of that file - the scan. Aliases are still checked for depth."""

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        self._nodes += 1
        if self._nodes > self._max_nodes:
            raise YamlLimitError(None, None, f"more than {self._max_nodes} YAML nodes in one file "
                                 f"({_raise_hint(self._nodes_limit)})", getattr(current_node, "start_mark", None))

    def ascend_resolver(self) -> None:
        return None


def _yaml_message(exc: yaml.YAMLError, where: str) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = f" line {mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    text = f"{context}: {problem}" if context and isinstance(exc, yaml.constructor.ConstructorError) else problem
    return f"{where}:{line} invalid YAML: {show(text)}"


def _yaml_docs(text: str, where: str, error: type[Exception], lim: Limits, nodes_limit: str,
               construct: bool) -> Iterator[Any]:
    loader = LimitedYamlLoader(text, lim, nodes_limit=nodes_limit)
    try:
        while loader.check_node():
            node = loader.get_checked_node()
            if node is None:
                continue
            if construct:
                with _gc_paused():
                    value = loader.construct_document(node)
                yield value
            else:
                yield node
    except yaml.YAMLError as exc:
        raise error(_yaml_message(exc, where)) from exc
    except RecursionError as exc:  # belt and braces: the depth limit keeps us far from it
        raise error(f"{where}: invalid YAML: nested too deep ({_raise_hint('max_depth')})") from exc
    finally:
        loader.dispose()


def load_yaml_all(text: str, *, where: str, error: type[Exception] = InputError, finite: bool = True,
                  limits_: Limits | None = None) -> list[Any]:
    """Every document of a YAML text (empty documents dropped), built by PyYAML's SafeConstructor
    within the limits; with ``finite`` a ``.inf``/``.nan`` anywhere is refused. Errors are one line
    ``<where>: line <n> invalid YAML: <problem>``."""
    lim = limits_ or limits()
    docs = list(_yaml_docs(text, where, error, lim, "max_yaml_nodes", True))
    for doc in docs:
        check_tree(doc, where=where, error=error, finite=finite, max_depth=lim.max_depth)
    return docs


def load_yaml(text: str, *, where: str, error: type[Exception] = InputError, finite: bool = True,
              limits_: Limits | None = None) -> Any:
    """The single document of a YAML text (None when empty); see :func:`load_yaml_all`."""
    docs = load_yaml_all(text, where=where, error=error, finite=finite, limits_=limits_)
    if len(docs) > 1:
        raise error(f"{where}: expected one YAML document, found {len(docs)}")
    return docs[0] if docs else None


def check_yaml(text: str, *, where: str, error: type[Exception] = InputError, for_edit: bool = False) -> None:
    """Compose (not construct) every document within the limits: the guard to run before handing a
    text to a loader without limits (ruamel.yaml's round-trip loader, used to edit files in place,
    expands aliases and recurses without bounds). With ``for_edit`` the node limit is
    :attr:`Limits.max_edit_nodes` (ruamel.yaml is pure Python), else :attr:`Limits.max_yaml_nodes`."""
    for _ in _yaml_docs(text, where, error, limits(), "max_edit_nodes" if for_edit else "max_yaml_nodes", False):
        pass


# --------------------------------------------------------------------------- data-tree checks


def check_tree(data: Any, *, where: str, error: type[Exception] = InputError, finite: bool = True,
               max_depth: int | None = None) -> None:
    """Refuse a loaded document nested deeper than ``max_depth`` or (with ``finite``) holding a
    non-finite float; the message names the path, e.g. ``x.yaml: field 'a.b[2]': .inf is not a
    finite number``. Iterative and cycle-safe (shared subtrees are visited once)."""
    if max_depth is None:
        max_depth = limits().max_depth
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    seen: set[int] = set()
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, float):
            if finite and not math.isfinite(value):
                raise error(f"{where}: field '{show(path) or '(top)'}': {value!r} is not a finite number")
            continue
        if not isinstance(value, dict | list | tuple):
            continue
        if depth > max_depth:
            raise error(f"{where}: field '{show(path)}': nested more than {max_depth} levels deep "
                        f"({_raise_hint('max_depth')})")
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, dict):
            for k, v in value.items():
                stack.append((v, depth + 1, f"{path}.{k}" if path else str(k)))
        else:
            for i, v in enumerate(value):
                stack.append((v, depth + 1, f"{path}[{i}]"))


# --------------------------------------------------------------------------- JSON and TOML


class _BadNumber(ValueError):
    pass


def _json_constant(name: str) -> Any:
    raise _BadNumber(f"{name} is not a JSON number (RFC 8259 has no NaN or Infinity)")


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadNumber(f"{text[:40]} is out of range for a number")
    return value


def _json_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise _BadNumber(f"integer with {len(text)} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def load_json(data: str | bytes, *, where: str, error: type[Exception] = InputError,
              max_depth: int | None = None) -> Any:
    """Parse JSON strictly: ``NaN``/``Infinity``, floats beyond the double range, integers beyond
    :data:`MAX_INT_DIGITS` digits and nesting beyond the depth limit are refused in one line."""
    if isinstance(data, bytes):
        data = _decode(data, where, error)
    try:
        value = json.loads(data, parse_constant=_json_constant, parse_float=_json_float, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise error(f"{where}: line {exc.lineno} invalid JSON: {show(exc.msg)} (column {exc.colno})") from exc
    except _BadNumber as exc:
        raise error(f"{where}: invalid JSON: {exc}") from exc
    except RecursionError as exc:
        raise error(f"{where}: invalid JSON: nested too deep ({_raise_hint('max_depth')})") from exc
    check_tree(value, where=where, error=error, max_depth=max_depth)
    return value


def load_toml(text: str, *, where: str, error: type[Exception] = InputError, finite: bool = True,
              max_depth: int | None = None) -> dict[str, Any]:
    """Parse TOML with :mod:`tomllib`; ``inf``/``nan`` (valid TOML) are refused with ``finite``,
    integers beyond :data:`MAX_INT_DIGITS` digits and nesting beyond the depth limit always."""
    try:
        value = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: invalid TOML: {show(exc)}") from exc
    except ValueError as exc:  # int() of a too-long literal
        raise error(f"{where}: invalid TOML: {show(str(exc).split(';')[0])}") from exc
    except RecursionError as exc:
        raise error(f"{where}: invalid TOML: nested too deep ({_raise_hint('max_depth')})") from exc
    check_tree(value, where=where, error=error, finite=finite, max_depth=max_depth)
    return value


def check_toml(text: str, *, where: str, error: type[Exception] = InputError) -> None:
    """Validate a TOML text within the limits before a style-preserving parser (tomlkit) edits it."""
    load_toml(text, where=where, error=error, finite=False)


# --------------------------------------------------------------------------- numbers


def finite_number(value: object, *, where: str, error: type[Exception] = InputError,
                  minimum: float | None = None, maximum: float | None = None, integer: bool = False) -> float:
    """``value`` as a float that arithmetic can use: a real number (not a bool, not a string), finite,
    within ``[minimum, maximum]``; an integer when ``integer``. Otherwise one line naming ``where``."""
    expected = "an integer" if integer else "a finite number"
    if minimum is not None and maximum is not None:
        expected += f" from {minimum:g} to {maximum:g}"
    elif minimum is not None:
        expected += f" >= {minimum:g}"
    elif maximum is not None:
        expected += f" <= {maximum:g}"
    shown = show(repr(value) if isinstance(value, str) else value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"{where}: expected {expected}, got {shown}")
    try:
        number = float(value)
    except OverflowError:
        raise error(f"{where}: expected {expected}, got a number out of range") from None
    if not math.isfinite(number) or (integer and not number.is_integer()):
        raise error(f"{where}: expected {expected}, got {shown}")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise error(f"{where}: expected {expected}, got {shown}")
    return number


_NUMBER = re.compile(r"^[+-]?(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})(?:[eE][+-]?\d{1,4})?$", re.ASCII)


def number_option(text: str, *, option: str, error: type[Exception] = InputError, minimum: float | None = None,
                  maximum: float | None = None, integer: bool = False) -> float:
    """A number typed on the command line: decimal notation only (no ``inf``, ``nan``, ``0x``, 5000
    digits), finite, within bounds. ``option`` names the option in the one-line error."""
    cleaned = text.strip()
    if not _NUMBER.fullmatch(cleaned):
        shown = show(repr(text if len(text) <= 40 else text[:37] + "..."))
        raise error(f"{option}: expected a decimal number, got {shown}")
    return finite_number(float(cleaned), where=option, error=error, minimum=minimum, maximum=maximum,
                         integer=integer)


# --------------------------------------------------------------------------- gzip


def gunzip_stream(chunks: Iterable[bytes], *, limit: int, where: str,
                  error: type[Exception] = InputError, on_output: Callable[[bytes], None]) -> int:
    """Decompress a gzip stream chunk by chunk, handing each piece of output to ``on_output`` (a hash
    update, say) and stopping with one line once more than ``limit`` bytes came out (a gzip bomb
    inflates a megabyte into a gigabyte). Returns the uncompressed size."""
    inflater = zlib.decompressobj(wbits=31)
    total = 0
    try:
        for chunk in chunks:
            data = chunk
            while data:
                out = inflater.decompress(data, 1 << 20)
                total += len(out)
                if total > limit:
                    raise error(f"{where}: decompresses to more than {size_text(limit)} "
                                f"({_raise_hint('max_layer_bytes')})")
                on_output(out)
                data = inflater.unconsumed_tail
                if inflater.eof:
                    if inflater.unused_data.strip(b"\0"):
                        # concatenated gzip members are legal; start the next one
                        rest = inflater.unused_data
                        inflater = zlib.decompressobj(wbits=31)
                        data = rest
                    else:
                        data = b""
        if not inflater.eof:
            raise error(f"{where}: truncated gzip stream")
    except zlib.error as exc:
        raise error(f"{where}: not a valid gzip stream ({exc})") from exc
    return total


def iter_fd(fd: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """Read an open file descriptor to its end in chunks."""
    while True:
        data = os.read(fd, chunk)
        if not data:
            return
        yield data

