"""Whatever a manifest holds, the scan reports a finding or a problem; it never raises."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtadvisor.scan import scan
from rtadvisor.scan.quantity import QuantityError, memory_mib

KEYS = st.sampled_from(
    ["containers", "initContainers", "resources", "limits", "requests", "memory", "cpu", "nvidia.com/gpu", "image",
     "command", "args", "volumes", "hostPath", "path", "securityContext", "privileged", "capabilities", "add",
     "metadata", "annotations", "labels", "rtadvisor.io/isolation", "rtadvisor.io/ignore", "runtimeClassName",
     "nodeSelector", "tolerations", "hostNetwork", "name", "spec", "template", "jobTemplate", "items"]
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True), st.text(max_size=12),
                    st.sampled_from(["128Mi", "1e3", "/dev/vfio", "/dev/bus/usb", "strong", "true", "x.wasm", "-1", "1e999"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)), max_leaves=25)
KINDS = st.sampled_from(["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "List", "Service", "Deploymnet"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=KINDS, spec=VALUES, metadata=VALUES)
def test_any_shape_is_a_finding_or_a_problem(tmp_path: Path, fixed_engine, kind: str, spec: object, metadata: object) -> None:
    doc = {"apiVersion": "apps/v1" if kind != "Pod" else "v1", "kind": kind, "metadata": metadata, "spec": spec}
    if kind == "List":
        doc["items"] = [{"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}, spec]
    f = tmp_path / "m.yaml"
    f.write_text(yaml.safe_dump(doc))
    result = scan([str(f)], recommend=fixed_engine("gvisor"))
    counted = len(result.findings) + len(result.ignored) + len(result.problems) + result.other_objects
    assert counted >= 1
    for p in result.problems:
        assert p.file == str(f) and p.message


def test_binary_and_empty_files(tmp_path: Path, fixed_engine) -> None:
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "comments.yml").write_text("# nothing here\n---\n")
    result = scan([str(tmp_path)], recommend=fixed_engine("runc"))
    assert [(Path(p.file).name, p.rule) for p in result.problems] == [("bin.yaml", "unreadable")]
    assert result.files == 2 and not result.findings


def test_absurd_quantities_are_malformed() -> None:
    for bad in ("1e999", "9" * 400 + "Ei"):
        try:
            memory_mib(bad)
        except QuantityError:
            continue
        raise AssertionError(bad)


# --------------------------------------------------------------------------- hostile input, unit level
# (tests/hostile runs the same kinds of input through the real CLI)

POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: c\n    image: nginx\n"


def _lol() -> str:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", "data:",
             '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"  {cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_depth_and_special_files_are_problems(tmp_path: Path, fixed_engine) -> None:
    import os

    (tmp_path / "lol.yaml").write_text(_lol())
    # within libyaml's own 1000 levels, deeper than Python's stack when constructed
    (tmp_path / "deep.yaml").write_text(POD.format(name="d") + "  volumes: " + "[" * 990 + "]" * 990 + "\n")
    (tmp_path / "int.yaml").write_text(POD.format(name="i") + "  priority: " + "9" * 5000 + "\n")
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "ok.yaml").write_text(POD.format(name="ok"))
    result = scan([str(tmp_path), "/dev/zero"], recommend=fixed_engine("runc"))
    by_file = {Path(p.file).name: p for p in result.problems}
    assert "aliases expand" in by_file["lol.yaml"].message and by_file["lol.yaml"].rule == "invalid-yaml"
    assert "nested too deep" in by_file["deep.yaml"].message
    assert "a FIFO" in by_file["fifo.yaml"].message and by_file["fifo.yaml"].rule == "unreadable"
    assert "a character device" in by_file["zero"].message
    # priority is not among what the scan reads, so its 5000 digits are never converted
    assert sorted(f.name for f in result.findings) == ["i", "ok"]
    assert "dir.yaml" not in by_file  # a directory named *.yaml is walked, not read


def test_walk_does_not_follow_links_out_of_the_tree(tmp_path: Path, fixed_engine) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    tree.mkdir()
    outside.mkdir()
    (outside / "secret.yaml").write_text(POD.format(name="secret"))
    (tree / "real.yaml").write_text(POD.format(name="real"))
    (tree / "out.yaml").symlink_to(outside / "secret.yaml")
    (tree / "in.yaml").symlink_to("real.yaml")
    (tree / "dir").symlink_to(outside)
    result = scan([str(tree)], recommend=fixed_engine("gvisor"))
    assert [f.file for f in result.findings] == [str(tree / "real.yaml")]  # once, under its own name
    (problem,) = result.problems
    assert problem.file == str(tree / "out.yaml") and "not followed: a symbolic link" in problem.message


def test_fix_never_writes_through_a_link_or_outside_the_roots(tmp_path: Path, fixed_engine) -> None:
    from rtadvisor.scan.fix import fix_files

    outside = tmp_path / "outside.yaml"
    outside.write_text(POD.format(name="p"))
    link = tmp_path / "tree" / "link.yaml"
    link.parent.mkdir()
    link.symlink_to(outside)
    findings = scan([str(link)], recommend=fixed_engine("gvisor")).findings
    (outcome,) = fix_files(findings, roots=[str(link)])
    assert not outcome.changed and "a symbolic link" in outcome.errors[0]
    assert outside.read_text() == POD.format(name="p") and link.is_symlink()
    # the real file, scanned by its own name, but fixed with roots that do not contain it
    findings = scan([str(outside)], recommend=fixed_engine("gvisor")).findings
    (outcome,) = fix_files(findings, roots=[str(tmp_path / "tree")])
    assert not outcome.changed and "outside the paths given" in outcome.errors[0]
    (outcome,) = fix_files(findings, roots=[str(outside)])
    assert outcome.changed and "runtimeClassName: gvisor" in outside.read_text()


def test_fix_refuses_a_spec_shared_through_an_anchor(tmp_path: Path, fixed_engine) -> None:
    from rtadvisor.scan.fix import fix_files

    target = tmp_path / "shared.yaml"
    text = ("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec: &s\n"
            "    containers:\n    - name: c\n      image: x\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: b}\n"
            "  spec: *s\n")
    target.write_text(text)
    outcomes = fix_files(scan([str(target)], recommend=fixed_engine("gvisor")).findings)
    assert all(not o.changed for o in outcomes) and any("YAML anchor" in e for o in outcomes for e in o.errors)
    assert target.read_text() == text


def test_unified_diff_from_edits_applies(tmp_path: Path) -> None:
    """The diff --fix builds from its own edits (no difflib search) is a valid unified diff."""
    import difflib
    import random

    from rtadvisor.scan.fix import _Edits, _unified_diff

    def apply(old: list[str], diff: str) -> str:
        out: list[str] = []
        i = 0
        lines = diff.splitlines(keepends=True)[2:]
        k = 0
        while k < len(lines):
            a = lines[k].split()[1][1:]
            k += 1
            start, length = (int(x) for x in a.split(",")) if "," in a else (int(a), 1)
            start = start - 1 if length else start
            out.extend(old[i:start])
            i = start
            while k < len(lines) and not lines[k].startswith("@@"):
                tag, text = lines[k][0], lines[k][1:]
                k += 1
                if tag == " ":
                    out.append(text)
                    i += 1
                elif tag == "-":
                    i += 1
                else:
                    out.append(text)
        return "".join(out + old[i:])

    rng = random.Random(7)
    same = 0
    for _ in range(500):
        n = rng.randint(1, 30)
        old = [f"l{rng.randint(0, 3)}\n" for _ in range(n)]
        edits = _Edits(old, "\n")
        replaced: set[int] = set()
        for _ in range(rng.randint(1, 4)):
            line = rng.randint(0, n - 1)
            if rng.random() < 0.5:
                edits.insert(line, [f"new{rng.randint(0, 9)}"] * rng.randint(1, 3))
            elif line not in replaced:
                replaced.add(line)
                edits.replace(line, 0, 1, "X") if rng.random() < 0.7 else edits.ops.append(
                    (line, 1, ("replace", 0, len(old[line]), "")))
        new = edits.apply()
        diff = _unified_diff(edits, "a/x", "b/x")
        assert apply(old, diff) == new
        same += diff == "".join(difflib.unified_diff(old, new.splitlines(keepends=True), "a/x", "b/x"))
    assert same > 350  # mostly the very text difflib prints (it may align repeated lines differently)
