"""The packaged knowledge files validate, and a broken copy is an error naming file and field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from rtadvisor import kb
from rtadvisor.errors import KnowledgeBaseError
from rtadvisor.kb import schema
from rtadvisor.kb.loader import load_from

REQUIRED_RUNTIMES = {"runc", "crun", "gvisor", "kata", "wasmedge", "wasmtime", "vm"}


@pytest.fixture()
def data_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(kb.DATA_DIR, dst)
    return dst


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_every_file_validates_and_is_versioned() -> None:
    base = kb.load()
    assert set(base.files) == set(schema.FILE_MODELS)
    for name, path in base.files.items():
        doc = yaml.safe_load(path.read_text())
        assert doc["schema_version"] == schema.SCHEMA_VERSION, name
        assert path.name == name


def test_load_is_cached() -> None:
    assert kb.load() is kb.load()


def test_runtimes_have_required_ids_and_facts() -> None:
    base = kb.load()
    assert set(base.runtimes) >= REQUIRED_RUNTIMES
    for r in base.runtimes.values():
        assert r.isolation_layer.startswith("L-") and 1 <= r.isolation <= 5
        assert r.typical_uses and r.best_practices and r.version_facts and r.suits
    assert base.runtimes["wasmedge"].wasm and base.runtimes["wasmtime"].wasm and not base.runtimes["runc"].wasm
    assert base.runtimes["kata"].containerd_runtime_type == "io.containerd.kata.v2"
    assert base.runtimes["wasmedge"].containerd_runtime_type == "io.containerd.wasmedge.v1"
    assert base.runtimes["crun"].containerd_options == {"BinaryName": "crun"}


@pytest.mark.parametrize(
    ("subject", "metric", "expected"),
    [
        ("wasmedge", "cold_start", {"value": 6.0}),
        ("wasmedge", "memory", {"value": 2.1}),
        ("runc", "cold_start", {"low": 1000.0, "high": 5000.0}),
        ("kata", "cold_start", {"low": 5000.0, "high": 15000.0}),
        ("kata", "memory", {"low": 100.0, "high": 200.0}),
        ("gvisor", "cold_start", {"low": 2000.0, "high": 5000.0}),
        ("gvisor", "memory", {"low": 20.0, "high": 50.0}),
        ("alpine-container", "image_size", {"value": 13.0}),
        ("wasmedge-crun", "image_size", {"value": 0.9}),
        ("alpine-container", "density", {"value": 300.0}),
        ("wasmedge-crun", "density", {"value": 3000.0}),
        ("alpine-container", "cpu_spike", {"value": 80.0}),
        ("wasmedge-crun", "cpu_spike", {"value": 3.0}),
        ("runc", "speedup", {"low": 16.0, "high": 62.0}),
        ("wasmedge", "availability", {"value": 99.99}),
    ],
)
def test_spec_claims_are_present(subject: str, metric: str, expected: dict[str, float]) -> None:
    claims = kb.load().claims_for(subject, metric)
    assert any(all(getattr(c, k) == v for k, v in expected.items()) for c in claims), (subject, metric, claims)


def test_claims_carry_source_tags_units_and_a_number() -> None:
    for c in kb.load().claims:
        assert c.source in {"S-select", "S-cases", "S-network", "S-wasm"}
        assert c.unit and c.text
        assert c.value is not None or c.low is not None or c.high is not None


def test_bench_vocabulary_units() -> None:
    units = {"cold_start": "ms", "memory": "MB", "image_size": "MB", "density": "pods/node", "cpu_spike": "%"}
    for c in kb.load().claims:
        if c.metric in units and c.subject in ("wasmedge", "runc", "kata", "gvisor", "alpine-container") :
            assert c.unit == units[c.metric], c.id


def test_every_spec_number_appears_in_a_claim() -> None:
    """Each figure of SPEC sections 1, 3 and 5's claim lists is recorded (guards against drift)."""
    numbers = {float(x) for c in kb.load().claims for x in (c.value, c.low, c.high) if x is not None}
    for n in (10, 6, 5, 1, 2.1, 3, 1000, 5000, 1200, 50, 18, 15000, 100, 200, 2000, 20, 16, 62, 98, 95,
              99.99, 10000, 70, 85, 60, 13, 0.9, 14, 8.5, 300, 3000, 26, 80):
        assert float(n) in numbers, n


@pytest.mark.parametrize(
    ("file", "change", "field"),
    [
        ("runtimes.yaml", lambda d: d["runtimes"][0].pop("family"), r"runtimes\[wasmedge\]\.family"),
        ("runtimes.yaml", lambda d: d["runtimes"][2].update(family="unikernel"), r"runtimes\[runc\]\.family"),
        ("claims.yaml", lambda d: d["claims"][0].update(source="S-blog"), r"claims\[wasmedge-cold-start-range\]\.source"),
        ("claims.yaml", lambda d: d["claims"][1].update(colour="red"), r"claims\[wasmedge-cold-start-typical\]\.colour"),
        ("tree.yaml", lambda d: d["thresholds"].update(memory_mb="lots"), r"thresholds\.memory_mb"),
        ("weights.yaml", lambda d: d["scenarios"]["edge"].update(V=0.9), r"scenarios\.edge"),
        ("cases.yaml", lambda d: d["cases"][0].update(runtime="docker"), r"cases\[case-edge\]\.runtime"),
        ("routes.yaml", lambda d: d["routes"][0].update(maturity=9), r"routes\[R1\]\.maturity"),
        ("network.yaml", lambda d: d.pop("timeline"), r"timeline"),
        ("runtimes.yaml", lambda d: d["runtimes"][0]["criteria"]["cold_start"].update(claim="nope"), r"runtimes\[wasmedge\]\.criteria\.cold_start\.claim"),
        ("constraints.yaml", lambda d: d.update(schema_version=2), r"schema_version"),
    ],
)
def test_broken_copy_names_file_and_field(data_copy: Path, file: str, change, field: str) -> None:  # type: ignore[no-untyped-def]
    _edit(data_copy / file, change)
    with pytest.raises(KnowledgeBaseError) as exc:
        load_from(data_copy)
    msg = str(exc.value)
    assert msg.startswith(f"{file}:"), msg
    assert re.search(field, msg), msg
    assert "\n" not in msg


def test_invalid_yaml_and_missing_file(data_copy: Path) -> None:
    (data_copy / "tree.yaml").write_text("root: [unclosed\n")
    with pytest.raises(KnowledgeBaseError, match=r"^tree\.yaml: line \d+ invalid YAML"):
        load_from(data_copy)
    (data_copy / "tree.yaml").unlink()
    with pytest.raises(KnowledgeBaseError, match=r"^tree\.yaml: missing"):
        load_from(data_copy)


def test_the_validated_knowledge_base_is_cached_by_content(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`prepare` keeps the validated knowledge base in the user's cache and commands load it; an
    edited data file is a new key (validated afresh, errors and all), a damaged cache file is
    ignored, and loading never writes the cache itself."""
    import shutil

    from rtadvisor.kb import loader

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    a = tmp_path / "a"
    shutil.copytree(loader.DATA_DIR, a)
    first = loader._load_cached.__wrapped__(str(a))
    assert not (tmp_path / "cache").exists()  # loading writes nothing
    saved = loader.save_cache(a)
    assert saved is not None and saved.is_file()
    again = loader._load_cached.__wrapped__(str(a))
    assert again == first and again is not first  # read back from the file, equal to a fresh load
    original = (a / "practice.yaml").read_text()
    (a / "practice.yaml").write_text(original.replace('title: "current upstream practice (default)"', 'title: "edited"'))
    assert loader._load_cached.__wrapped__(str(a)).practice.title == "edited"  # a new key: validated afresh
    (a / "practice.yaml").write_text("schema_version: 1\nkind: rulebook\n")
    with pytest.raises(KnowledgeBaseError, match=r"practice\.yaml"):
        loader._load_cached.__wrapped__(str(a))  # a broken file is never served from the cache
    (a / "practice.yaml").write_text(original)
    saved.write_bytes(b"not a pickle")  # damaged: ignored, validated afresh
    assert loader._load_cached.__wrapped__(str(a)) == first
