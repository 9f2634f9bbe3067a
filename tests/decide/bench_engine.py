"""Per-decision time of ``rtadvisor.decide.recommend`` over random distinct profiles (not a test).

    .venv/bin/python tests/decide/bench_engine.py -n 3000 [--seed 1] [--profile]

Each profile is distinct (random figures and name). For every profile, in one run: the reference
path (``recommend_reference``: no cached score table, every weaker-need decision built in full,
no per-knowledge-base caches) and the fast path (``recommend``). Prints median/mean per decision and the
number of decisions that differ (must be 0; exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

from rtadvisor import kb
from rtadvisor.decide import engine, recommend
from rtadvisor.decide.verdict import recommend_reference
from rtadvisor.model import Artifact, Device, Gpu, Isolation, KernelFeature, Scenario, Stage, Workload


def random_workload(rng: random.Random, i: int) -> Workload:
    """One random profile; ``i`` makes the name (and so the profile) distinct."""
    return Workload(
        name=f"w{i}",
        scenario=rng.choice(list(Scenario)),
        stage=rng.choice(list(Stage)),
        memory_mb=None if rng.random() < 0.1 else round(rng.uniform(1, 4000), 3),
        cpu_cores=None if rng.random() < 0.1 else round(rng.uniform(0.05, 8), 3),
        cold_start_slo_ms=None if rng.random() < 0.4 else round(rng.uniform(1, 5000), 2),
        isolation=rng.choice(list(Isolation)),
        untrusted_code=rng.random() < 0.3,
        gpu=rng.choice(list(Gpu)) if rng.random() < 0.3 else Gpu.none,
        devices=tuple(d for d in Device if rng.random() < 0.1),
        kernel_features=tuple(k for k in KernelFeature if rng.random() < 0.15),
        services=None if rng.random() < 0.5 else rng.randint(1, 200),
        multi_os=rng.random() < 0.2,
        offline=rng.random() < 0.2,
        artifact=rng.choice([None, Artifact.wasm, Artifact.oci_image]),
        governance=rng.choice([None, True, False]),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("-n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="cProfile the fast path and print the top functions")
    a = ap.parse_args(argv)
    rng = random.Random(a.seed)
    base = kb.load()
    profiles = [random_workload(rng, i) for i in range(a.n)]
    recommend(profiles[0], kb=base)  # warm imports
    if a.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.runcall(lambda: [recommend(w, kb=base) for w in profiles])
        pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(30)
        return 0
    # Interleaved, same profiles, same process: the reference (unmemoized) path, which uses none of
    # the engine's caches, then the fast path (its caches are filled by the first profiles).
    engine.clear_caches(base)
    ref_t: list[float] = []
    fast_t: list[float] = []
    differ = 0
    for w in profiles:
        t0 = time.perf_counter()
        ref = recommend_reference(w, kb=base)
        t1 = time.perf_counter()
        fast = recommend(w, kb=base)
        t2 = time.perf_counter()
        ref_t.append(t1 - t0)
        fast_t.append(t2 - t1)
        differ += ref != fast
    for label, ts in (("reference (unmemoized)", ref_t), ("fast path", fast_t)):
        print(f"{label:24s} n={a.n} median {statistics.median(ts) * 1e3:.3f} ms, mean {statistics.mean(ts) * 1e3:.3f} ms per decision")
    print(f"speed-up of the median: {statistics.median(ref_t) / statistics.median(fast_t):.1f}x; decisions that differ: {differ}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
