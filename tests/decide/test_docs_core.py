"""docs/core.md stays true: its rulebook tables are re-decided here, and every practice rule is listed
(``scripts/docs_core_tables.py`` regenerates them)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from rtadvisor import kb
from rtadvisor.decide import load_profile, parse_profile, recommend

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "core.md").read_text()


def _rows(header: str) -> list[list[str]]:
    start = DOC.index(header)
    lines = DOC[start:].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    assert rows, header
    return rows


def _answer(d: object) -> str:
    return d.runtime + (f" {d.route}" if d.route else "")  # type: ignore[attr-defined]


def test_where_the_rulebooks_differ_table_is_what_the_engine_decides() -> None:
    for label, fields, practice, sources, why in _rows("| workload | profile fields | practice | sources | why they differ |"):
        profile = yaml.safe_load("{" + fields.strip("`") + "}")
        w = parse_profile({"name": "w", **profile})
        p, s = recommend(w), recommend(w, rulebook="sources")
        assert (_answer(p), _answer(s)) == (practice, sources), label
        assert why == (p.reasons[0].rule if p.other_rulebook and p.other_rulebook.differs else "-"), label


def test_examples_table_is_what_the_engine_decides() -> None:
    header = "| example | practice: runtime, architecture, route | sources: runtime, architecture, route |"
    names = []
    for name, practice, sources, _ in _rows(header):
        w = load_profile(ROOT / "examples" / name)
        for cell, d in ((practice, recommend(w)), (sources, recommend(w, rulebook="sources"))):
            assert cell == f"{d.runtime}, {d.architecture}" + (f", {d.route}" if d.route else ""), name
        names.append(name)
    assert sorted(names) == sorted(p.name for p in (ROOT / "examples").iterdir())


def test_every_practice_rule_is_documented_in_order() -> None:
    rows = _rows("| rule | applies when | does | narrows (sources) | cites |")
    assert [r[0] for r in rows] == [r.id for r in kb.load().practice.rules]
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_core_tables", ROOT / "scripts" / "docs_core_tables.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for name, make in gen.TABLES.items():
        assert make() in DOC, f"docs/core.md table {name!r} is stale: run scripts/docs_core_tables.py"
    assert re.search(r"rtadvisor recommend PROFILE --rulebook sources", DOC)
