#!/usr/bin/env python3
"""Cost of every hostile input (tests/hostile/cases.yaml) against the real CLI: time, CPU, peak RSS.

The test suite (tests/hostile) asserts the bounds on CPU time and peak RSS; this script shows the
numbers themselves - the wall time too, which on a shared machine is noise the tests cannot assert
on - and sorts the worst first, for docs/limits.md.

    .venv/bin/python benchmarks/hostile_bounds.py                 # all cases, 2 at a time
    .venv/bin/python benchmarks/hostile_bounds.py -k scan- -j 1   # cases whose id contains "scan-", serially
    .venv/bin/python benchmarks/hostile_bounds.py --failed        # only the cases that fail, with why
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hostile.runner import MAX_CPU_S, MAX_RSS_MB, load_cases, prepare_generated, run_case
from rtadvisor.backends.base import mark_owned


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", default="", help="only cases whose id contains this text")
    ap.add_argument("-j", type=int, default=2, help="cases run at once (default 2)")
    ap.add_argument("--failed", action="store_true", help="list only failing cases, with their problems")
    ap.add_argument("--top", type=int, default=15, help="rows of the worst-cases table (default 15)")
    args = ap.parse_args()
    cases = [c for c in load_cases() if args.k in c.id]
    with tempfile.TemporaryDirectory(prefix="rtadvisor-bench-hostile-") as tmp:
        mark_owned(Path(tmp))  # a SIGKILLed run's directory is removed by the next bench or doctor
        base = Path(tmp)
        gen = prepare_generated(base)
        with ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
            outcomes = list(pool.map(lambda c: run_case(c, gen, base), cases))
    failed = [o for o in outcomes if o.problems]
    if args.failed:
        for o in failed:
            print(f"{o.case.id}  [owner: {o.case.owner}]\n    " + "\n    ".join(o.problems))
            tail = (o.stderr.strip().splitlines() or [""])[-1]
            print(f"    stderr: {tail[:200]!r}")
    else:
        print(f"{'case':50} {'exit':>4} {'wall s':>7} {'CPU s':>6} {'RSS MB':>7}")
        for o in sorted(outcomes, key=lambda o: -o.cpu)[: args.top]:
            print(f"{o.case.id:50} {o.rc!s:>4} {o.wall:7.2f} {o.cpu:6.2f} {o.maxrss_mb:7.0f}")
        worst_rss = max(outcomes, key=lambda o: o.maxrss_mb)
        print(f"... worst RSS: {worst_rss.case.id} {worst_rss.maxrss_mb:.0f} MB; "
              f"max CPU {max(o.cpu for o in outcomes):.2f} s; max wall {max(o.wall for o in outcomes):.2f} s")
    print(f"{len(outcomes)} cases: {len(outcomes) - len(failed)} pass, {len(failed)} fail "
          f"(bounds: CPU <= {MAX_CPU_S:.0f} s, RSS < {MAX_RSS_MB} MB, -j {args.j})")
    load = os.getloadavg()
    print(f"host {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, load "
          f"{load[0]:.1f}, {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
