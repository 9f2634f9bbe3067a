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
