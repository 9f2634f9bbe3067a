"""``scan --fix``: write ``runtimeClassName`` (and the route-R2 Wasm annotation) into the manifests.

ruamel.yaml's round-trip loader finds *where* each pod spec and annotation map sits (line and column
of every key). The change is then made as a minimal text edit at that position (one inserted or
replaced line), so everything else in the file - comments, key order, quoting, indentation, document
separators, line endings - stays byte for byte. Re-dumping the whole document with ruamel would
normalise indentation and wrap long lines, which is exactly the churn a reviewer does not want.

Every edited file is checked before it is written: parsed again, it must equal the original data
with only the intended keys changed. Files are written atomically (temp file in the same directory,
then rename), so an interrupted fix never leaves half a manifest. A second run finds nothing to do.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .core import Finding
from .infer import WASM_VARIANT

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_SCALAR = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#,\]}]+)""")


@dataclass(frozen=True)
class FileFix:
    """The outcome of fixing one file."""

    file: str
    changed: bool
    diff: str = ""
    changes: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    applied: tuple[tuple[int, int | None], ...] = ()  # (doc_index, item_index) of fixed workloads


@dataclass
class _Edits:
    lines: list[str]
    newline: str
    ops: list[tuple[int, int, Any]] = field(default_factory=list)  # (line, order, op)

    def insert(self, before: int, new_lines: list[str]) -> None:
        self.ops.append((before, 0, ("insert", new_lines)))

    def replace(self, line: int, start: int, end: int, text: str) -> None:
        self.ops.append((line, 1, ("replace", start, end, text)))

    def apply(self) -> str:
        lines = list(self.lines)
        for line, _, op in sorted(self.ops, key=lambda o: (o[0], o[1]), reverse=True):
            if op[0] == "insert":
                lines[line:line] = [text + self.newline for text in op[1]]
            else:
                _, start, end, text = op
                lines[line] = lines[line][:start] + text + lines[line][end:]
        return "".join(lines)


class FixError(Exception):
    """One workload cannot be fixed automatically (the message says why)."""


def fix_files(findings: Sequence[Finding], dry_run: bool = False) -> list[FileFix]:
    """Apply the fixable findings, grouped per file; with ``dry_run`` only compute the diffs."""
    by_file: dict[Path, list[Finding]] = {}
    seen: set[tuple[Path, int, int | None]] = set()
    for f in findings:
        if f.fixable and f.path is not None:
            key = (f.path.resolve(), f.doc_index, f.item_index)
            if key in seen:  # the same object reached twice: fix it once
                continue
            seen.add(key)
            by_file.setdefault(key[0], []).append(f)
    return [fix_file(path, items, dry_run=dry_run) for path, items in by_file.items()]


def fix_file(path: Path, findings: Sequence[Finding], dry_run: bool = False) -> FileFix:
    """Fix one file; returns the unified diff and what changed (or why it could not)."""
    from ruamel.yaml import YAML

    display = findings[0].file if findings else str(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return FileFix(display, False, errors=(f"{display}: cannot read for --fix: {exc}",))
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        docs = list(YAML(typ="rt").load_all(text))
    except Exception as exc:  # noqa: BLE001 - ruamel raises many unrelated types for bad YAML
        return FileFix(display, False, errors=(f"{display}: cannot parse for --fix: {exc}",))
    newline = "\r\n" if "\r\n" in text else "\n"
    edits = _Edits(text.splitlines(keepends=True), newline)
    expected = list(yaml.load_all(text, Loader=_Loader))
    changes: list[str] = []
    errors: list[str] = []
    applied: list[tuple[int, int | None]] = []
    for f in findings:
        snapshot = len(edits.ops)
        try:
            changes.extend(_plan(f, docs, expected, edits))
            applied.append((f.doc_index, f.item_index))
        except FixError as exc:
            del edits.ops[snapshot:]
            errors.append(f"{f.file}:{f.line}: {f.workload}: {exc}")
    if not edits.ops:
        return FileFix(display, False, changes=(), errors=tuple(errors))
    new_text = edits.apply()
    try:
        reparsed = list(yaml.load_all(new_text, Loader=_Loader))
    except yaml.YAMLError as exc:
        reparsed = [f"unparsable: {exc}"]
    if reparsed != expected:
        return FileFix(display, False, errors=(*errors, f"{display}: --fix produced a result that does not check out; file left unchanged"))
    diff = "".join(
        difflib.unified_diff(text.splitlines(keepends=True), new_text.splitlines(keepends=True), f"a/{display.lstrip('/')}", f"b/{display.lstrip('/')}")
    )
    if not dry_run:
        _atomic_write(path, (b"\xef\xbb\xbf" if bom else b"") + new_text.encode("utf-8"))
    return FileFix(display, True, diff, tuple(changes), tuple(errors), tuple(applied))


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".rtadvisor-tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _walk(node: Any, keys: Sequence[str | int]) -> Any:
    for k in keys:
        if isinstance(k, int):
            if not isinstance(node, list) or k >= len(node):
                return None
            node = node[k]
        else:
            if not isinstance(node, dict) or k not in node:
                return None
            node = node[k]
    return node


def _set_plain(obj: dict[str, Any], keys: Sequence[str], key: str, value: str | None) -> None:
    node: Any = obj
    for k in keys:
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    if value is None:
        node.pop(key, None)
    else:
        node[key] = value


def _plan(f: Finding, docs: list[Any], expected: list[Any], edits: _Edits) -> list[str]:
    """Add this finding's edits; update ``expected`` (plain data) to what the file must parse to."""
    if f.doc_index >= len(docs) or f.doc_index >= len(expected):
        raise FixError("document not found (file changed since the scan?)")
    obj = docs[f.doc_index]
    plain = expected[f.doc_index]
    if f.item_index is not None:
        obj = _walk(obj, ["items", f.item_index])
        plain = _walk(plain, ["items", f.item_index])
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(obj, dict) or obj.get("kind") != f.kind or (isinstance(meta, dict) and meta.get("name") not in (None, f.name)):
        raise FixError("object not found at its place (file changed since the scan?)")
    changes: list[str] = []
    spec = _walk(obj, f.pod_spec_path)
    if f.status == "mismatch":
        _runtime_class(obj, spec, f, edits)
        _set_plain(plain, f.pod_spec_path, "runtimeClassName", f.recommended_runtime_class)
        if f.recommended_runtime_class is None:
            changes.append(f"{f.workload}: removed runtimeClassName {f.current_runtime_class} (default runtime runc)")
        else:
            changes.append(f"{f.workload}: runtimeClassName {f.current_runtime_class or '(none)'} -> {f.recommended_runtime_class}")
    if f.needs_wasm_annotation:
        _wasm_annotation(obj, f, edits)
        _set_plain(plain, (*f.template_meta_path, "annotations"), WASM_VARIANT, "compat-smart")
        changes.append(f"{f.workload}: annotation {WASM_VARIANT}: compat-smart")
    return changes


def _block_map(m: Any, what: str) -> None:
    from ruamel.yaml.comments import CommentedMap

    if not isinstance(m, CommentedMap):
        raise FixError(f"{what} is not a mapping")
    if m.fa.flow_style():
        raise FixError(f"{what} is written in flow style ({{...}}); edit it by hand")
    if not m:
        raise FixError(f"{what} is empty; edit it by hand")


def _insert_first(m: Any, edits: _Edits, new_lines: list[str], what: str) -> None:
    """Insert ``new_lines`` (already relative-indented) before the first key of block mapping ``m``."""
    _block_map(m, what)
    first = next(iter(m))
    line, col = m.lc.key(first)
    if edits.lines[line][:col].strip():
        raise FixError(f"{what}: first key shares its line with other text; edit it by hand")
    edits.insert(line, [" " * col + text for text in new_lines])


def _indent_step(parent: Any, key: str, child: Any) -> int:
    """Indentation the file uses for nested maps, measured where ``parent[key]`` = ``child``."""
    try:
        step = child.lc.key(next(iter(child)))[1] - parent.lc.key(key)[1]
    except (AttributeError, KeyError, StopIteration, TypeError):  # no position info: use the default
        step = 0
    return step if step > 0 else 2


def _replace_value(m: Any, key: str, value: str, edits: _Edits, what: str) -> None:
    line, col = m.lc.value(key)
    match = _SCALAR.match(edits.lines[line], col)
    if match is None:
        raise FixError(f"{what}.{key}: value not found where expected")
    old = match.group(0)
    new = f'"{value}"' if old.startswith('"') else (f"'{value}'" if old.startswith("'") else value)
    edits.replace(line, match.start(), match.end(), new)


def _runtime_class(obj: Any, spec: Any, f: Finding, edits: _Edits) -> None:
    what = ".".join(f.pod_spec_path)
    _block_map(spec, what)
    wanted = f.recommended_runtime_class
    if "runtimeClassName" in spec:
        if wanted is None:
            line, col = spec.lc.key("runtimeClassName")
            rest = edits.lines[line][col:]
            if edits.lines[line][:col].strip() or not re.match(r"runtimeClassName\s*:\s*\S+\s*(#.*)?$", rest.rstrip("\r\n")):
                raise FixError(f"{what}.runtimeClassName: not on a line of its own; edit it by hand")
            edits.ops.append((line, 1, ("replace", 0, len(edits.lines[line]), "")))
        else:
            _replace_value(spec, "runtimeClassName", wanted, edits, what)
        return
    if wanted is None:
        return
    _insert_first(spec, edits, [f"runtimeClassName: {wanted}"], what)


def _wasm_annotation(obj: Any, f: Finding, edits: _Edits) -> None:
    meta_path = f.template_meta_path
    tmeta = _walk(obj, meta_path)
    where = ".".join(meta_path)
    entry = f"{WASM_VARIANT}: compat-smart"
    if tmeta is None:
        parent = _walk(obj, meta_path[:-1])
        grand = _walk(obj, meta_path[:-2])
        step = _indent_step(grand, meta_path[-2], parent) if len(meta_path) >= 2 else 2
        _insert_first(parent, edits, ["metadata:", " " * step + "annotations:", " " * 2 * step + entry], ".".join(meta_path[:-1]))
        return
    ann = tmeta.get("annotations") if isinstance(tmeta, dict) else None
    if ann is None:
        if "annotations" in tmeta:
            raise FixError(f"{where}.annotations is empty; edit it by hand")
        parent = _walk(obj, meta_path[:-1])
        step = _indent_step(parent, meta_path[-1], tmeta)
        _insert_first(tmeta, edits, ["annotations:", " " * step + entry], where)
        return
    if WASM_VARIANT in ann:
        _block_map(ann, f"{where}.annotations")
        _replace_value(ann, WASM_VARIANT, "compat-smart", edits, f"{where}.annotations")
        return
    _insert_first(ann, edits, [entry], f"{where}.annotations")
