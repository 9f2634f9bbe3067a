#!/usr/bin/env python3
"""Fleet scale: 1,000 nodes x 9 runtimes of synthetic bench results in PostgreSQL, then the time of
``rtadvisor fleet --json`` and of a pool-scoped ``rtadvisor recommend --evidence --pool``.

The results are *synthetic* (typed BenchRuns with figures drawn around what this machine measures,
lognormal noise, five pools of different kinds: without KVM, with KVM, GPU, with a runtime missing
on some nodes, one pool with stale nodes); they exercise the store and the report at fleet size,
they are not measurements of anything. Each node gets ``--history`` runs (the newest counts).

Unless ``--db URL`` is given, a private PostgreSQL server is started for the run (the tests'
launcher, tests/pgserver.py: Debian's postgresql, a temporary directory, no TCP) and removed at the
end, also on Ctrl-C.

Timed, alternating, ``--repeat`` times each (the machine is shared and noisy: medians are reported,
with min and max; for the commands also their CPU time, user + system, which other processes'
load stretches far less than the wall time):

  fleet, in process        ``rtadvisor.app.fleet_report(db)`` + its JSON (what the command does after start-up)
  fleet, command           ``rtadvisor fleet --db URL --json`` as a process (Python start-up included)
  recommend, in process    ``rtadvisor.app.recommend(workload, db=URL, pool=POOL)``
  recommend, command       ``rtadvisor recommend ... --evidence --pool POOL --db URL --json`` as a process

    .venv/bin/python benchmarks/fleet_scale.py                 # 1000 nodes, 5 repeats
    .venv/bin/python benchmarks/fleet_scale.py --nodes 200 --repeat 3 --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from rtadvisor.model import (
    BenchDensity,
    BenchMemory,
    BenchResult,
    BenchRun,
    BenchStats,
    NodeInfo,
    primary_runtime,
    stand_ins,
)

RTADVISOR = str(Path(sys.executable).parent / "rtadvisor")
# backend -> (cold start ms, idle PSS MB, artifact bytes) around this machine's figures
BACKENDS: dict[str, tuple[float, float, int]] = {
    "runc": (30.0, 1.2, 2_000_000), "crun": (11.0, 1.0, 2_000_000), "runsc": (140.0, 10.5, 2_000_000),
    "containerd": (95.0, 9.0, 2_000_000), "containerd-runsc": (280.0, 19.0, 2_000_000),
    "microvm": (2600.0, 230.0, 12_000_000), "wasmtime": (0.4, 0.5, 4_000), "node-wasi": (68.0, 40.0, 4_000),
    "wasmedge": (6.0, 2.1, 4_000),
}
# pool -> (share of nodes, kvm, kvm_linux_guests, cpu, backends missing with probability)
POOLS: dict[str, tuple[float, str, bool | None, str, dict[str, float]]] = {
    "edge-arm": (0.30, "kvm_pvm", False, "Neoverse-N1", {"wasmedge": 1.0, "runsc": 0.05}),
    "general": (0.40, "kvm_intel", True, "Intel Xeon Platinum 8375C", {"wasmedge": 1.0}),
    "gpu-a100": (0.10, "kvm_amd", True, "AMD EPYC 7763", {"wasmedge": 1.0, "node-wasi": 1.0}),
    "highmem": (0.15, "absent", None, "Intel Xeon Gold 6338", {"wasmedge": 0.5, "microvm": 1.0}),
    "legacy": (0.05, "kvm_intel", True, "Intel Xeon E5-2680 v4", {"wasmedge": 1.0, "crun": 0.3}),
}


def _stats(rng: random.Random, center: float, n: int = 20) -> BenchStats:
    p50 = center * rng.lognormvariate(0, 0.08)
    return BenchStats(n=n, p50=round(p50, 4), min=round(p50 * 0.9, 4), p95=round(p50 * 1.2, 4),
                      max=round(p50 * 1.4, 4), ci_low=round(p50 * 0.97, 4), ci_high=round(p50 * 1.03, 4),
                      ci_half_width_pct=3.0)


def synthetic_run(rng: random.Random, i: int, pool: str, age: timedelta) -> BenchRun:
    _, kvm, guests, cpu, missing = POOLS[pool]
    started = datetime.now(UTC) - age
    results = []
    for name, (cold, pss, artifact) in BACKENDS.items():
        common: dict[str, Any] = {"runtime": name, "kb_runtime": primary_runtime(name),
                                  "stands_for": stand_ins(backend=name)}
        if rng.random() < missing.get(name, 0.0):
            results.append(BenchResult(**common, available=False, reason=f"{name} not installed on this node"))
            continue
        emulated = name == "microvm" and guests is not True
        scale = 3.0 if emulated else 1.0
        results.append(BenchResult(
            **common, available=True, emulated=emulated, cold_start_ms=_stats(rng, cold * scale),
            cpu_ms=_stats(rng, cold * scale / 3), artifact_bytes=artifact,
            memory=BenchMemory(pss_mb=round(pss * rng.lognormvariate(0, 0.05), 3), per_instance_mb=round(pss * 0.9, 3)),
            density=BenchDensity(value=110, bound_by="max_pods", max_pods=110),
            method={"cold_start": "synthetic (benchmarks/fleet_scale.py)"}))
    node = NodeInfo(hostname=f"{pool}-{i:04d}", node_name=f"{pool}-{i:04d}", pool=pool, kernel="6.1.0-28-amd64",
                    cpu_model=cpu, cpus=16, arch="aarch64" if pool == "edge-arm" else "x86_64", kvm=kvm,  # type: ignore[arg-type]
                    kvm_linux_guests=guests, cgroup="v2", machine_id=f"{rng.getrandbits(64):016x}")
    run_id = f"{started.strftime('%Y%m%dT%H%M%SZ')}-{rng.getrandbits(48):012x}"
    return BenchRun(run_id=run_id, started=started.isoformat(timespec="seconds"), node=node, results=tuple(results))


def load(url: str, nodes: int, history: int, seed: int) -> tuple[int, float]:
    from rtadvisor.store import ResultStore

    rng = random.Random(seed)
    names = list(POOLS)
    weights = [POOLS[p][0] for p in names]
    t0 = time.perf_counter()
    stored = 0
    with ResultStore.open(url) as store:
        for i in range(nodes):
            pool = rng.choices(names, weights)[0]
            stale = pool == "legacy" and rng.random() < 0.2
            for h in range(history):
                age = timedelta(hours=1 + 6 * h + (72 if stale else 0), minutes=rng.randrange(60))
                store.save(synthetic_run(rng, i, pool, age))
                stored += 1
    return stored, time.perf_counter() - t0


def _time_fleet_in_process(url: str) -> float:
    from rtadvisor import app

    t0 = time.perf_counter()
    report = app.fleet_report(url)
    json.dumps(report.model_dump(mode="json"))
    return time.perf_counter() - t0


def _time_recommend_in_process(url: str, pool: str) -> float:
    from rtadvisor import app

    workload = app.parse_workload({"name": "fn", "scenario": "serverless", "untrusted_code": True,
                                   "multi_tenant": True}, source="benchmark")
    t0 = time.perf_counter()
    app.recommend(workload, db=url, pool=pool)
    return time.perf_counter() - t0


def _time_command(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user + system) of one command; the CPU time is what the machine's
    load does not stretch (much)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed: {err.strip()}")
    return elapsed, usage.ru_utime + usage.ru_stime


def summary(values: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(values), 4), "min_s": round(min(values), 4),
            "max_s": round(max(values), 4), "n": len(values)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="an existing, empty PostgreSQL database URL (default: a private server)")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--history", type=int, default=1, help="runs per node (the newest counts)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pool", default="edge-arm", help="the pool of the recommend timing")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    server = None
    if args.db:
        url = args.db
    else:
        from pgserver import PostgresServer

        server = PostgresServer().start()
        url = server.create_database("fleet_scale")
    try:
        stored, load_s = load(url, args.nodes, args.history, args.seed)
        fleet_cmd = [RTADVISOR, "fleet", "--db", url, "--json"]
        recommend_cmd = [RTADVISOR, "recommend", "--name", "fn", "--scenario", "serverless", "--untrusted-code",
                         "--multi-tenant", "--evidence", "--pool", args.pool, "--db", url, "--json"]
        _time_fleet_in_process(url)  # warm the caches once (knowledge base, connection), not timed
        timings: dict[str, list[float]] = {"fleet_in_process": [], "fleet_command": [], "fleet_command_cpu": [],
                                           "recommend_in_process": [], "recommend_command": [],
                                           "recommend_command_cpu": []}
        for _ in range(args.repeat):  # alternate, so the machine's load drifts over all four alike
            timings["fleet_in_process"].append(_time_fleet_in_process(url))
            wall, cpu = _time_command(fleet_cmd)
            timings["fleet_command"].append(wall)
            timings["fleet_command_cpu"].append(cpu)
            timings["recommend_in_process"].append(_time_recommend_in_process(url, args.pool))
            wall, cpu = _time_command(recommend_cmd)
            timings["recommend_command"].append(wall)
            timings["recommend_command_cpu"].append(cpu)
        result = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"), "host": platform.node(),
            "cpus": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version(),
            "database": "PostgreSQL (private server)" if server else "given --db",
            "nodes": args.nodes, "runs_stored": stored, "runtimes_per_run": len(BACKENDS),
            "load_s": round(load_s, 2), "pool": args.pool,
            **{name: summary(values) for name, values in timings.items()},
        }
    finally:
        if server is not None:
            server.stop()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['runs_stored']} runs ({args.nodes} nodes x {len(BACKENDS)} runtimes) loaded in "
              f"{result['load_s']} s; {result['date']} on {result['host']} ({result['cpus']} CPUs, load "
              f"{', '.join(f'{x:.1f}' for x in result['load_average'])})")
        for name in timings:
            s = result[name]
            print(f"  {name:22s} median {s['median_s']:.3f} s  (min {s['min_s']:.3f}, max {s['max_s']:.3f}, n={s['n']})")
        worst = max(result["fleet_command"]["median_s"], result["recommend_command"]["median_s"])
        print(f"target: each command under 1 s -> {'met' if worst < 1.0 else 'NOT met'} (slowest median wall time "
              f"{worst:.3f} s, load average {result['load_average'][0]:.1f} on {result['cpus']} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
