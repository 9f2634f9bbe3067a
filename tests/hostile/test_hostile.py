"""The hostile corpus: every input of ``cases.yaml`` against the real CLI, judged by ``runner.judge``.

The cases run two at a time in a session fixture (each in its own workspace, CPU time and peak RSS
measured per child, so the parallelism does not blur them); each test then reports its own case.
A case that fails because another area has not caught up stays here, failing, with its ``owner``.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .runner import Case, Outcome, load_cases, prepare_generated, run_case

CASES = load_cases()


@pytest.fixture(scope="session")
def hostile_outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    selected = {item.callspec.params["case"].id for item in request.session.items
                if hasattr(item, "callspec") and isinstance(item.callspec.params.get("case"), Case)}
    base = tmp_path_factory.mktemp("hostile")
    gen = prepare_generated(base)
    todo = [c for c in CASES if c.id in selected]
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
            return {o.case.id: o for o in pool.map(lambda c: run_case(c, gen, base), todo)}
    finally:
        shutil.rmtree(base, ignore_errors=True)  # ~280 MB of generated input; pytest would keep it


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, hostile_outcomes: dict[str, Outcome]) -> None:
    outcome = hostile_outcomes[case.id]
    detail = (f"\nowner: {case.owner}\nexit {outcome.rc}, {outcome.cpu:.2f} s CPU, {outcome.wall:.2f} s wall, "
              f"{outcome.maxrss_mb:.0f} MB\nstderr: {outcome.stderr[-600:]!r}\nstdout: {outcome.stdout[-400:]!r}")
    assert not outcome.problems, "; ".join(outcome.problems) + detail


def test_corpus_is_well_formed() -> None:
    """Every file of files/ is used by a case, every prepare step exists, every case has an owner."""
    from .generate import PREPARE
    from .runner import FILES

    text = (Path(__file__).parent / "cases.yaml").read_text(encoding="utf-8")
    unused = [p.name for p in FILES.iterdir() if p.name not in text]
    assert unused == []
    assert all(c.prepare in PREPARE for c in CASES if c.prepare)
    assert len(CASES) >= 150
