#!/usr/bin/env python3
"""How long the CLI takes to answer, against the interpreter's own start, in one hyperfine run.

The commands (each a whole process, as a user runs it):

- ``python -c pass``: the floor (the same interpreter as the CLI);
- ``rtadvisor --help``;
- ``rtadvisor recommend examples/edge-gateway.yaml --json`` (target: median <= 250 ms);
- ``rtadvisor scan <one small manifest> -f json`` (target: median <= 300 ms).

hyperfine (Debian package) times them with ``-N`` (no shell), warm-ups first, and interleaves
nothing: run it on an idle machine. Each command runs with an empty result store (``XDG_DATA_HOME``
pointed at a temporary directory), so the figures do not depend on what was measured before.

Usage::

    .venv/bin/python benchmarks/cli_startup.py [--runs 30] [--warmup 3] [--json]

Prints a table (median, mean +- sd, min, max, median over ``python -c pass``) and the targets' verdicts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC
from pathlib import Path

from rtadvisor.backends.base import mark_owned

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0
          resources:
            limits: {memory: 256Mi, cpu: 500m}
"""
TARGETS_MS = {"recommend --json": 250.0, "scan one file": 300.0}


def _as_installed() -> str:
    """Measure rtadvisor as a user's install runs it: its bytecode compiled (pip compiles a wheel's
    modules; an editable install under PYTHONDONTWRITEBYTECODE=1 would compile every module on every
    run) and the validated knowledge base cached (``rtadvisor prepare`` writes it; ``make setup`` runs
    prepare). Returns what was done, for the report."""
    import importlib.util

    spec = importlib.util.find_spec("rtadvisor")
    assert spec is not None and spec.origin is not None
    package = Path(spec.origin).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-c", "from rtadvisor.kb import save_cache; save_cache()"], check=True)
    return f"bytecode of {package} compiled; knowledge-base cache written"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if shutil.which("hyperfine") is None:
        print("cli_startup: hyperfine is not installed (make setup installs it)", file=sys.stderr)
        return 2
    rtadvisor = str(BIN / "rtadvisor")
    prepared = _as_installed()
    with tempfile.TemporaryDirectory(prefix="rtadvisor-bench-startup-") as tmp:
        mark_owned(Path(tmp))  # a SIGKILLed run's directory is removed by the next bench or doctor
        manifest = Path(tmp) / "web.yaml"
        manifest.write_text(MANIFEST)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "rtadvisor --help": [rtadvisor, "--help"],
            "recommend --json": [rtadvisor, "recommend", str(ROOT / "examples" / "edge-gateway.yaml"), "--json"],
            "scan one file": [rtadvisor, "scan", str(manifest), "-f", "json"],
        }
        out = Path(tmp) / "hyperfine.json"
        env = {**os.environ, "XDG_DATA_HOME": str(Path(tmp) / "data")}
        argv = ["hyperfine", "-N", "--runs", str(args.runs), "--warmup", str(args.warmup), "--export-json", str(out),
                "--style", "none"]
        for name, cmd in commands.items():
            argv += ["--command-name", name, subprocess.list2cmdline(cmd)]
        subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
        results = json.loads(out.read_text())["results"]
    rows = {}
    for r in results:
        times = [t * 1000 for t in r["times"]]
        rows[r["command"]] = {"median_ms": statistics.median(times), "mean_ms": statistics.fmean(times),
                              "sd_ms": statistics.stdev(times) if len(times) > 1 else 0.0,
                              "min_ms": min(times), "max_ms": max(times), "n": len(times)}
    floor = rows["python -c pass"]["median_ms"]
    verdicts = {name: {"target_ms": t, "median_ms": rows[name]["median_ms"], "met": rows[name]["median_ms"] <= t}
                for name, t in TARGETS_MS.items()}
    import platform
    from datetime import datetime

    where = {"host": platform.node(), "cpus": os.cpu_count(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
             "python": platform.python_version(), "method": f"hyperfine -N, {args.warmup} warm-ups, {args.runs} runs each; "
             + prepared}
    if args.json:
        print(json.dumps({"measured": where, "rows": rows, "targets": verdicts}, indent=2))
        return 0
    print(f"measured on {where['host']} ({where['cpus']} CPUs, Python {where['python']}) at {where['date']}: "
          f"{where['method']}")
    print(f"{'command':<20} {'median':>9} {'mean +- sd':>18} {'min':>8} {'max':>8} {'x python -c pass':>17}")
    for name, r in rows.items():
        print(f"{name:<20} {r['median_ms']:>7.1f}ms {r['mean_ms']:>8.1f} +- {r['sd_ms']:>5.1f}ms "
              f"{r['min_ms']:>6.1f}ms {r['max_ms']:>6.1f}ms {r['median_ms'] / floor:>16.1f}x")
    for name, v in verdicts.items():
        print(f"target {name}: median {v['median_ms']:.1f} ms <= {v['target_ms']:.0f} ms: {'met' if v['met'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
