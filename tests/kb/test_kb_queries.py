"""Knowledge queries: troubleshooting search, relation network, regenerated tables."""

from __future__ import annotations

import pytest

from rtadvisor import kb
from rtadvisor.kb.network import orders_summary
from rtadvisor.kb.tables import TABLES, all_tables


@pytest.mark.parametrize(
    ("symptom", "expected"),
    [
        ("kubectl logs empty", "TS-logs-empty"),
        ("kubectl logs shows nothing", "TS-logs-empty"),
        ("no output from my wasm app", "TS-logs-empty"),
        ("image pull fails", "TS-image-pull"),
        ("ImagePullBackOff", "TS-image-pull"),
        ("imgae pul fails", "TS-image-pull"),
        ("DNS does not resolve", "TS-dns"),
        ("dns lookup fails", "TS-dns"),
        ("HPA on CPU never fires", "TS-hpa"),
        ("autoscaling on cpu does nothing", "TS-hpa"),
    ],
)
def test_troubleshooting_fuzzy_lookup(symptom: str, expected: str) -> None:
    hits = kb.load().find_troubleshooting(symptom)
    assert hits and hits[0].entry.id == expected, [(h.entry.id, h.score) for h in hits]
    assert hits[0].source == "S-wasm"


def test_troubleshooting_unrelated_symptom_matches_nothing() -> None:
    assert kb.load().find_troubleshooting("kernel panic on boot") == []
    assert kb.load().find_troubleshooting("") == []


def test_network_graph_orders_and_chains() -> None:
    base = kb.load()
    g = base.graph()
    assert g["L-0"]["L-4"]["relation"] == "equal_isolation"
    assert g["L-1"]["L-2"]["relation"] == "stronger_isolation"
    assert g["L-3"]["L-4"]["relation"] == "less_overhead"
    assert base.chain_path("A1", "A7") == ["A1", "A5", "A6", "A7"]
    assert base.chain_path("A2", "A4") == ["A2", "A3", "A4"]
    with pytest.raises(KeyError):
        base.chain_path("A1", "A4")
    summary = orders_summary(base)
    ranks = {layer["layer"]: layer["isolation_rank"] for layer in summary["layers"]}
    assert ranks["L-0"] == ranks["L-4"] == 0 and ranks["L-3"] == 4
    assert [t.year for t in base.network.timeline] == [2013, 2015, 2019, 2021, 2025]
    assert [o.id for o in base.network.observability.dimensions] == ["O1", "O2", "O3", "O4", "O5"]


def test_tables_reproduce_the_sources() -> None:
    tables = {t.name: t for t in all_tables(kb.load())}
    assert set(tables) == set(TABLES)
    assert len(tables["scenarios"].rows) == 4
    assert len(tables["cases"].rows) == 7
    assert len(tables["routes"].rows) == 3
    perf = {r[0]: r for r in tables["performance"].rows}
    assert perf["cold_start"][1:4] == ("1200 ms", "6 ms", "200 x")
    assert perf["density"][1:4] == ("300 pods/node", "3000 pods/node", "10 x")
    assert [r[5] for r in tables["routes"].rows] == ["3/5", "5/5", "4/5"]
