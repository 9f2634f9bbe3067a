"""``scan --fix``: write ``runtimeClassName`` (and the route-R2 Wasm annotation) into the manifests.

libyaml's composed node tree says *where* each pod spec and annotation map sits (line and column of
every key and value, the same marks the scan's line numbers come from). The change is then made as a
minimal text edit at that position (one inserted or replaced line), so everything else in the file -
comments, key order, quoting, indentation, document separators, line endings - stays byte for byte.
Re-dumping the document would normalise indentation and wrap long lines, which is exactly the churn
a reviewer does not want. (This used ruamel.yaml's round-trip loader for the positions; being pure
Python it needed ~0.1 ms per node here, 12 s for a 900 KB file, where the C parser needs 0.3 s.)

Every edited file is checked before it is written: parsed again, it must equal the original data
with only the intended keys changed. A pod spec defined through a YAML anchor that other places share
is not edited (the edit would change them too).

Safety of the write (:func:`rtadvisor.safeio.replace_file`): only regular files are written, never
through a symbolic link, only inside the paths the scan was given, only if the file is still the one
that was read; the new content goes to a temp file that is renamed over the old one, so an
interrupted fix never leaves half a manifest (temp files of a killed run are swept by the next). A
second run finds nothing to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rtadvisor import safeio
from rtadvisor.errors import InputError
from rtadvisor.safeio import LimitedYamlLoader, show

from .core import Finding
from .infer import WASM_VARIANT

_SCALAR = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#,\]}]+)""")
_NULL = "tag:yaml.org,2002:null"


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


def _unified_diff(edits: _Edits, fromfile: str, tofile: str, context: int = 3) -> str:
    """The unified diff of ``edits`` (same format as ``difflib.unified_diff``), built from the edits
    themselves: the changed lines are known, so there is nothing to search for. difflib's matcher
    needs seconds on a 30,000-line file of look-alike manifests (its longest-match search is
    quadratic on repeated lines)."""
    old = edits.lines
    inserts: dict[int, list[str]] = {}
    replaced: dict[int, str] = {}
    for line, _, op in sorted(edits.ops, key=lambda o: (o[0], o[1])):
        if op[0] == "insert":  # a later insert at the same line lands above the earlier one (see apply)
            inserts[line] = [text + edits.newline for text in op[1]] + inserts.get(line, [])
        else:
            _, start, end, text = op
            current = replaced.get(line, old[line])
            replaced[line] = current[:start] + text + current[end:]
    rows: list[tuple[str, int, int, str]] = []  # (tag, old index, new index, text)
    j = 0
    for i in range(len(old) + 1):
        for text in inserts.get(i, ()):
            rows.append(("+", i, j, text))
            j += 1
        if i == len(old):
            break
        if i in replaced and replaced[i] != old[i]:
            rows.append(("-", i, j, old[i]))
            if replaced[i]:
                rows.append(("+", i + 1, j, replaced[i]))
                j += 1
        else:
            rows.append((" ", i, j, old[i]))
            j += 1
    changed = [k for k, row in enumerate(rows) if row[0] != " "]
    if not changed:
        return ""
    hunks: list[tuple[int, int]] = []
    for k in changed:
        lo, hi = max(0, k - context), min(len(rows), k + context + 1)
        if hunks and lo <= hunks[-1][1]:
            hunks[-1] = (hunks[-1][0], hi)
        else:
            hunks.append((lo, hi))
    out = [f"--- {fromfile}\n", f"+++ {tofile}\n"]
    for lo, hi in hunks:
        part = rows[lo:hi]
        a_start = next((r[1] for r in part if r[0] != "+"), part[0][1])
        b_start = next((r[2] for r in part if r[0] != "-"), part[0][2])
        a_len = sum(1 for r in part if r[0] != "+")
        b_len = sum(1 for r in part if r[0] != "-")
        out.append(f"@@ -{_range(a_start, a_len)} +{_range(b_start, b_len)} @@\n")
        k = 0
        while k < len(part):  # within a run of changes, removals first (as difflib prints them)
            if part[k][0] == " ":
                out.append(" " + part[k][3])
                k += 1
                continue
            run_end = k
            while run_end < len(part) and part[run_end][0] != " ":
                run_end += 1
            out.extend("-" + r[3] for r in part[k:run_end] if r[0] == "-")
            out.extend("+" + r[3] for r in part[k:run_end] if r[0] == "+")
            k = run_end
    return "".join(out)


def _range(start: int, length: int) -> str:
    """difflib's ``_format_range_unified``: 1-based start, length omitted when 1."""
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


class FixError(Exception):
    """One workload cannot be fixed automatically (the message says why)."""


class _FixInputError(InputError):
    pass


def fix_files(findings: Sequence[Finding], dry_run: bool = False, roots: Sequence[str] | None = None) -> list[FileFix]:
    """Apply the fixable findings, grouped per file; with ``dry_run`` only compute the diffs.

    ``roots``: the paths the scan was given (``-`` ignored); a file whose real location is not one of
    them or inside one of them is not written. A file reached through a symbolic link is never
    written (the link's target is fixed by scanning it under its own name).
    """
    by_file: dict[str, tuple[Path, list[Finding]]] = {}
    seen: set[tuple[str, int, int | None]] = set()
    for f in findings:
        if f.fixable and f.path is not None:
            real = os.path.realpath(f.path)
            key = (real, f.doc_index, f.item_index)
            if key in seen:  # the same object reached twice: fix it once
                continue
            seen.add(key)
            by_file.setdefault(real, (f.path, []))[1].append(f)
    allowed = None if roots is None else [r for r in roots if r != "-"]
    return [fix_file(path, items, dry_run=dry_run, roots=allowed) for path, items in by_file.values()]


def _inside(path: Path, roots: Sequence[str]) -> bool:
    real = os.path.realpath(path)
    for root in roots:
        r = os.path.realpath(root)
        if real == r or real.startswith(r.rstrip("/") + "/"):
            return True
    return False


def _compose(text: str, where: str) -> tuple[list[yaml.Node | None], list[Any]]:
    """Node tree (for positions) and data (for the check) of every document, within the limits."""
    loader = LimitedYamlLoader(text)
    nodes: list[yaml.Node | None] = []
    data: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_checked_node()
            nodes.append(node)
            data.append(None if node is None else loader.construct_document(node))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise FixError(f"{where}{line}: cannot parse for --fix: {show(getattr(exc, 'problem', None) or exc)}") from exc
    finally:
        loader.dispose()
    return nodes, data


def fix_file(path: Path, findings: Sequence[Finding], dry_run: bool = False,
             roots: Sequence[str] | None = None) -> FileFix:
    """Fix one file; returns the unified diff and what changed (or why it could not)."""
    display = show(findings[0].file if findings else str(path))  # for messages; FileFix.file stays raw
    raw_name = findings[0].file if findings else str(path)
    if roots is not None and not _inside(path, roots):
        outside = f"{display}: not fixed: it resolves to {show(os.path.realpath(path))}, outside the paths given to the scan"
        return FileFix(raw_name, False, errors=(outside,))
    if path.is_symlink():
        return FileFix(raw_name, False, errors=(
            (f"{display}: not fixed: a symbolic link (to {show(os.path.realpath(path))}); --fix writes only regular "
            "files, never through a link: scan the target under its own name"),))
    try:
        raw, st = safeio.read_bytes_stat(path, error=_FixInputError, follow_symlinks=False)
        text = raw.decode("utf-8-sig")
    except _FixInputError as exc:
        return FileFix(raw_name, False, errors=(f"not fixed: {exc}",))
    except UnicodeDecodeError:
        return FileFix(raw_name, False, errors=(f"{display}: not fixed: not UTF-8 text",))
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        docs, expected = _compose(text, display)
    except FixError as exc:
        return FileFix(raw_name, False, errors=(str(exc),))
    newline = "\r\n" if "\r\n" in text else "\n"
    edits = _Edits(text.splitlines(keepends=True), newline)
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
            errors.append(f"{show(f.file)}:{f.line}: {show(f.workload)}: {exc}")
    if not edits.ops:
        return FileFix(raw_name, False, changes=(), errors=tuple(errors))
    new_text = edits.apply()
    try:
        _, reparsed = _compose(new_text, display)
    except FixError as exc:
        reparsed = [f"unparsable: {exc}"]
    if reparsed != expected:
        return FileFix(raw_name, False, errors=(*errors, f"{display}: --fix produced a result that does not check out; file left unchanged"))
    diff = _unified_diff(edits, f"a/{display.lstrip('/')}", f"b/{display.lstrip('/')}")
    if not dry_run:
        try:
            safeio.replace_file(path, (b"\xef\xbb\xbf" if bom else b"") + new_text.encode("utf-8"),
                                expect=(st.st_dev, st.st_ino), within=roots, error=_FixInputError)
        except _FixInputError as exc:
            return FileFix(raw_name, False, errors=(*errors, f"not fixed: {exc}"))
    return FileFix(raw_name, True, diff, tuple(changes), tuple(errors), tuple(applied))


# ---------------------------------------------------------------------------- the node tree


def _child(node: Any, key: str | int) -> Any:
    if isinstance(key, int):
        if isinstance(node, yaml.SequenceNode) and 0 <= key < len(node.value):
            return node.value[key]
        return None
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _key_node(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    for k, _ in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return k
    return None


def _has(node: Any, key: str) -> bool:
    return isinstance(node, yaml.MappingNode) and _key_node(node, key) is not None


def _scalar(node: Any) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) and node.tag != _NULL else None


def _is_null(node: Any) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL


def _shared(root: yaml.Node) -> set[int]:
    """Ids of nodes reachable along more than one path (YAML anchors used through aliases)."""
    count: dict[int, int] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        count[id(node)] = count.get(id(node), 0) + 1
        if count[id(node)] > 1:
            continue
        if isinstance(node, yaml.MappingNode):
            stack.extend(c for pair in node.value for c in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return {k for k, n in count.items() if n > 1}


def _walk(node: Any, keys: Sequence[str | int]) -> Any:
    """Follow ``keys`` through plain data (dicts and lists); None where the path ends."""
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


def _walk_node(node: Any, keys: Sequence[str | int]) -> Any:
    """Follow ``keys`` through the node tree; None where the path ends."""
    for k in keys:
        node = _child(node, k)
        if node is None:
            return None
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
    if f.doc_index >= len(docs) or f.doc_index >= len(expected) or docs[f.doc_index] is None:
        raise FixError("document not found (file changed since the scan?)")
    root = docs[f.doc_index]
    obj = root
    plain = expected[f.doc_index]
    prefix: tuple[str | int, ...] = ()
    if f.item_index is not None:
        prefix = ("items", f.item_index)
        obj = _walk_node(obj, prefix)
        plain = _walk(plain, prefix)
    meta = _child(obj, "metadata")
    name = _scalar(_child(meta, "name"))
    if not isinstance(obj, yaml.MappingNode) or _scalar(_child(obj, "kind")) != f.kind or name not in (None, f.name):
        raise FixError("object not found at its place (file changed since the scan?)")
    shared = _shared(root)
    edited = [f.pod_spec_path] if f.status == "mismatch" else []
    if f.needs_wasm_annotation:
        edited.append(f.template_meta_path)
    for path in edited:
        for depth in range(len(prefix) + len(path) + 1):
            node = _walk_node(root, (*prefix, *path)[:depth])
            if node is not None and id(node) in shared:
                raise FixError(f"{'.'.join(map(str, path)) or 'the object'} is defined through a YAML anchor "
                               "that other places share; edit it by hand")
    changes: list[str] = []
    spec = _walk_node(obj, f.pod_spec_path)
    if f.status == "mismatch":
        _runtime_class(spec, f, edits)
        _set_plain(plain, f.pod_spec_path, "runtimeClassName", f.recommended_runtime_class)
        if f.recommended_runtime_class is None:
            changes.append(f"{show(f.workload)}: removed runtimeClassName {show(f.current_runtime_class)} "
                           "(default runtime runc)")
        else:
            changes.append(f"{show(f.workload)}: runtimeClassName {show(f.current_runtime_class or '(none)')} -> "
                           f"{f.recommended_runtime_class}")
    if f.needs_wasm_annotation:
        _wasm_annotation(obj, f, edits)
        _set_plain(plain, (*f.template_meta_path, "annotations"), WASM_VARIANT, "compat-smart")
        changes.append(f"{show(f.workload)}: annotation {WASM_VARIANT}: compat-smart")
    return changes


def _block_map(m: Any, what: str) -> yaml.MappingNode:
    if not isinstance(m, yaml.MappingNode):
        raise FixError(f"{what} is not a mapping")
    if m.flow_style:
        raise FixError(f"{what} is written in flow style ({{...}}); edit it by hand")
    if not m.value:
        raise FixError(f"{what} is empty; edit it by hand")
    return m


def _insert_first(m: Any, edits: _Edits, new_lines: list[str], what: str) -> None:
    """Insert ``new_lines`` (already relative-indented) before the first key of block mapping ``m``."""
    first = _block_map(m, what).value[0][0]
    line, col = first.start_mark.line, first.start_mark.column
    if line >= len(edits.lines) or edits.lines[line][:col].strip():
        raise FixError(f"{what}: first key shares its line with other text; edit it by hand")
    edits.insert(line, [" " * col + text for text in new_lines])


def _indent_step(parent: Any, key: str, child: Any) -> int:
    """Indentation the file uses for nested maps, measured where ``parent[key]`` = ``child``."""
    step = 0
    key_node = _key_node(parent, key) if isinstance(parent, yaml.MappingNode) else None
    if key_node is not None and isinstance(child, yaml.MappingNode) and child.value:
        step = child.value[0][0].start_mark.column - key_node.start_mark.column
    return step if step > 0 else 2


def _replace_value(m: yaml.MappingNode, key: str, value: str, edits: _Edits, what: str) -> None:
    node = _child(m, key)
    if not isinstance(node, yaml.ScalarNode):
        raise FixError(f"{what}.{key}: not a plain value; edit it by hand")
    line, col = node.start_mark.line, node.start_mark.column
    match = _SCALAR.match(edits.lines[line], col) if line < len(edits.lines) else None
    if match is None:
        raise FixError(f"{what}.{key}: value not found where expected")
    old = match.group(0)
    new = f'"{value}"' if old.startswith('"') else (f"'{value}'" if old.startswith("'") else value)
    edits.replace(line, match.start(), match.end(), new)


def _runtime_class(spec: Any, f: Finding, edits: _Edits) -> None:
    what = ".".join(f.pod_spec_path)
    spec = _block_map(spec, what)
    wanted = f.recommended_runtime_class
    key = _key_node(spec, "runtimeClassName")
    if key is not None:
        if wanted is None:
            line, col = key.start_mark.line, key.start_mark.column
            rest = edits.lines[line][col:] if line < len(edits.lines) else ""
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
    tmeta = _walk_node(obj, meta_path)
    where = ".".join(meta_path)
    entry = f"{WASM_VARIANT}: compat-smart"
    if tmeta is None:
        parent = _walk_node(obj, meta_path[:-1])
        grand = _walk_node(obj, meta_path[:-2])
        step = _indent_step(grand, meta_path[-2], parent) if len(meta_path) >= 2 else 2
        _insert_first(parent, edits, ["metadata:", " " * step + "annotations:", " " * 2 * step + entry], ".".join(meta_path[:-1]))
        return
    if not isinstance(tmeta, yaml.MappingNode):
        raise FixError(f"{where} is not a mapping; edit it by hand")
    ann = _child(tmeta, "annotations")
    if ann is None or _is_null(ann):
        if ann is not None:
            raise FixError(f"{where}.annotations is empty; edit it by hand")
        parent = _walk_node(obj, meta_path[:-1])
        step = _indent_step(parent, meta_path[-1], tmeta)
        _insert_first(tmeta, edits, ["annotations:", " " * step + entry], where)
        return
    if _has(ann, WASM_VARIANT):
        ann = _block_map(ann, f"{where}.annotations")
        _replace_value(ann, WASM_VARIANT, "compat-smart", edits, f"{where}.annotations")
        return
    _insert_first(ann, edits, [entry], f"{where}.annotations")
