#!/usr/bin/env python3
"""Scan throughput next to parse-only throughput of the same YAML, in the same run.

Generates N realistic manifest files (default 10,000) in a temporary directory (removed at the end,
also on Ctrl-C): Deployments with their Service, StatefulSets, DaemonSets (some with devices),
CronJobs, Jobs, bare Pods, GPU inference servers and Wasm workloads, with resource values drawn from
the sizes real charts use and comments like rendered Helm output.

Then, alternating to spread the machine's noise evenly, it times
  parse-only: read every file and ``yaml.load_all`` it with libyaml's CSafeLoader (the fastest
              way Python can merely load this YAML), and
  scan:       ``rtadvisor.scan.scan`` over the directory (read, parse with line numbers, infer,
              decide, compare) plus building the JSON report,
and prints the best of ``--repeat`` rounds of each, and scan as a percentage of parse-only.

    .venv/bin/python benchmarks/scan_throughput.py            # 10,000 files, 3 rounds
    .venv/bin/python benchmarks/scan_throughput.py -n 2000 --repeat 5 --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

MEM = ["16Mi", "32Mi", "64Mi", "128Mi", "256Mi", "512Mi", "1Gi", "2Gi", "4Gi", "134217728", "1e9", "1.5Gi"]
CPU = ["10m", "50m", "100m", "250m", "500m", "1", "2", "0.5", "1500m", "4"]
IMAGES = ["nginx:1.27", "redis:7.2-alpine", "ghcr.io/acme/api:{v}", "registry.example.com/team/{n}:{v}", "postgres:16", "busybox:1.36"]


def _resources(srng: random.Random, indent: str) -> str:
    mem_l, cpu_l = srng.choice(MEM), srng.choice(CPU)
    return (
        f"{indent}resources:\n{indent}  requests:\n{indent}    memory: {srng.choice(MEM[:6])}\n{indent}    cpu: {srng.choice(CPU[:4])}\n"
        f"{indent}  limits:\n{indent}    memory: {mem_l}\n{indent}    cpu: \"{cpu_l}\"\n"
    )


def _container(rng: random.Random, srng: random.Random, name: str, indent: str, extra: str = "") -> str:
    image = rng.choice(IMAGES).format(n=name, v=f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}")
    return (
        f"{indent}- name: {name}\n{indent}  image: {image}\n{indent}  ports:\n{indent}    - containerPort: {rng.choice([80, 8080, 9090, 6379])}\n"
        f"{indent}  env:\n{indent}    - name: LOG_LEVEL\n{indent}      value: info\n"
        + _resources(srng, indent + "  ")
        + extra
    )


def manifest(i: int, rng: random.Random, srng: random.Random) -> str:
    """One realistic file: a workload, often with a Service, with Helm-style source comments.

    ``srng`` is seeded by the app ("chart") the manifest instantiates, so it fixes the shape and the
    resource values; ``rng`` varies what differs between instances (names, namespaces, versions).
    """
    name = f"svc-{i}"
    ns = rng.choice(["default", "shop", "payments", "edge", "ml", "batch"])
    shape = srng.random()
    head = f"---\n# Source: {name}/templates/workload.yaml\n"
    meta = f"metadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    app.kubernetes.io/name: {name}\n    app.kubernetes.io/part-of: bench\n"
    if shape < 0.45:  # Deployment + Service
        body = (
            f"apiVersion: apps/v1\nkind: Deployment\n{meta}spec:\n  replicas: {rng.randint(1, 5)}\n  selector:\n    matchLabels:\n      app: {name}\n"
            f"  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n"
            + _container(rng, srng, "app", "        ")
            + (_container(rng, srng, "sidecar", "        ") if srng.random() < 0.3 else "")
        )
        body += f"---\napiVersion: v1\nkind: Service\n{meta}spec:\n  selector:\n    app: {name}\n  ports:\n    - port: 80\n      targetPort: 8080\n"
    elif shape < 0.55:
        body = (
            f"apiVersion: apps/v1\nkind: StatefulSet\n{meta}spec:\n  serviceName: {name}\n  selector:\n    matchLabels:\n      app: {name}\n"
            f"  template:\n    metadata:\n      labels:\n        app: {name}\n      annotations:\n        rtadvisor.io/kernel-features: epoll\n"
            f"    spec:\n      containers:\n" + _container(rng, srng, "db", "        ")
        )
    elif shape < 0.65:
        dev = srng.choice(["/dev/bus/usb", "/dev/vfio", "/var/log"])
        body = (
            f"apiVersion: apps/v1\nkind: DaemonSet\n{meta}spec:\n  selector:\n    matchLabels:\n      app: {name}\n"
            f"  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n"
            + _container(rng, srng, "agent", "        ")
            + f"      volumes:\n        - name: host\n          hostPath:\n            path: {dev}\n"
        )
    elif shape < 0.78:
        untrusted = '\n  annotations:\n    rtadvisor.io/untrusted-code: "true"' if srng.random() < 0.3 else ""
        body = (
            f"apiVersion: batch/v1\nkind: CronJob\n{meta.rstrip()}{untrusted}\nspec:\n  schedule: \"*/{rng.randint(5, 59)} * * * *\"\n"
            f"  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n"
            + _container(rng, srng, "job", "            ")
        )
    elif shape < 0.85:
        gpu = srng.choice(["nvidia.com/gpu", "nvidia.com/mig-1g.5gb", "amd.com/gpu"])
        body = (
            f"apiVersion: apps/v1\nkind: Deployment\n{meta}spec:\n  selector:\n    matchLabels:\n      app: {name}\n"
            f"  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      runtimeClassName: nvidia\n      containers:\n"
            f"        - name: model\n          image: vllm/vllm-openai:v0.6.3\n          resources:\n            limits:\n"
            f"              {gpu}: {rng.randint(1, 4)}\n              memory: {srng.choice(['16Gi', '24Gi', '48Gi'])}\n              cpu: \"8\"\n"
        )
    elif shape < 0.93:  # Wasm
        body = (
            f"apiVersion: apps/v1\nkind: Deployment\n{meta}  annotations:\n    rtadvisor.io/cold-start-slo-ms: \"{srng.choice([5, 10, 50])}\"\n"
            f"spec:\n  selector:\n    matchLabels:\n      app: {name}\n"
            f"  template:\n    metadata:\n      labels:\n        app: {name}\n      annotations:\n        module.wasm.image/variant: compat-smart\n"
            f"    spec:\n      runtimeClassName: crun-wasm\n      containers:\n        - name: fn\n          image: ghcr.io/acme/{name}-wasm:1.0\n"
            f"          command: [\"/{name}.wasm\"]\n          resources:\n            requests: {{memory: 10Mi, cpu: 50m}}\n            limits: {{memory: 50Mi, cpu: 200m}}\n"
        )
    else:
        kind = srng.choice(["Pod", "Job"])
        if kind == "Pod":
            body = f"apiVersion: v1\nkind: Pod\n{meta}spec:\n  containers:\n" + _container(rng, srng, "main", "    ")
        else:
            body = (
                f"apiVersion: batch/v1\nkind: Job\n{meta}spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n"
                + _container(rng, srng, "main", "        ")
            )
    return head + body


def generate(root: Path, n: int, seed: int, apps: int) -> int:
    """Write ``n`` files instantiating ``apps`` distinct apps (charts) across 50 team directories."""
    rng = random.Random(seed)
    size = 0
    for i in range(n):
        sub = root / f"team-{i % 50:02d}"
        sub.mkdir(exist_ok=True)
        app = rng.randrange(apps)
        text = manifest(i, rng, random.Random(seed * 1_000_003 + app))
        (sub / f"svc-{i}.yaml").write_text(text)
        size += len(text)
    return size


def parse_only(root: Path) -> int:
    """Read every *.yaml and load all its documents with CSafeLoader; returns the document count."""
    docs = 0
    files: list[Path] = []
    for dirpath, _, names in os.walk(root):
        files.extend(Path(dirpath, f) for f in names if f.endswith((".yaml", ".yml")))
    for f in sorted(files):
        for d in yaml.load_all(f.read_bytes().decode("utf-8-sig"), Loader=yaml.CSafeLoader):
            if d is not None:
                docs += 1
    return docs


def scan_once(root: Path) -> tuple[int, dict[str, int]]:
    from rtadvisor.scan import scan
    from rtadvisor.scan.report import to_json

    result = scan([str(root)])
    report = to_json(result)
    return len(report["findings"]), report["summary"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000, help="number of manifest files (default 10000)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of each measurement; the best is reported")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--apps", type=int, default=500, help="distinct apps (charts) the manifests instantiate (default 500)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    # Warm the engine and kb imports so the first scan round is not charged for them.
    from rtadvisor.backends.base import mark_owned
    from rtadvisor.scan.advise import engine

    engine()
    tmp = Path(tempfile.mkdtemp(prefix="rtadvisor-bench-scan-"))
    mark_owned(tmp)  # a SIGKILLed run's directory is removed by the next bench or doctor
    try:
        size = generate(tmp, args.n, args.seed, args.apps)
        # CPU time of this process is the primary figure: the machine may be shared, and wall time
        # then measures the neighbours as much as us. Wall time is reported beside it.
        parse_cpu: list[float] = []
        scan_cpu: list[float] = []
        parse_wall: list[float] = []
        scan_wall: list[float] = []
        docs = workloads = 0
        summary: dict[str, int] = {}
        for _ in range(args.repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            docs = parse_only(tmp)
            parse_cpu.append(time.process_time() - c0)
            parse_wall.append(time.perf_counter() - w0)
            w0, c0 = time.perf_counter(), time.process_time()
            workloads, summary = scan_once(tmp)
            scan_cpu.append(time.process_time() - c0)
            scan_wall.append(time.perf_counter() - w0)
        p, s = min(parse_cpu), min(scan_cpu)
        pw, sw = min(parse_wall), min(scan_wall)
        figures = {
            "files": args.n,
            "apps": args.apps,
            "bytes": size,
            "documents": docs,
            "workloads": workloads,
            "distinct_profiles": summary.get("distinct_profiles"),
            "parse_only_cpu_s": round(p, 3),
            "scan_cpu_s": round(s, 3),
            "parse_only_files_per_cpu_s": round(args.n / p, 1),
            "scan_files_per_cpu_s": round(args.n / s, 1),
            "scan_vs_parse_pct": round(100 * p / s, 1),
            "parse_only_wall_s": round(pw, 3),
            "scan_wall_s": round(sw, 3),
            "scan_vs_parse_wall_pct": round(100 * pw / sw, 1),
            "repeat": args.repeat,
            "host": platform.node(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if args.json:
            print(json.dumps(figures, indent=2))
        else:
            print(f"{args.n} files, {size / 1e6:.1f} MB, {docs} documents, {workloads} workloads, {figures['distinct_profiles']} distinct profiles")
            print(f"parse-only (CSafeLoader load_all):      CPU {p:6.2f} s = {args.n / p:6.0f} files/s   wall {pw:6.2f} s  (best of {args.repeat})")
            print(f"scan (read+parse+infer+decide+report): CPU {s:6.2f} s = {args.n / s:6.0f} files/s   wall {sw:6.2f} s  (best of {args.repeat})")
            print(f"scan throughput = {figures['scan_vs_parse_pct']}% of parse-only by CPU time, {figures['scan_vs_parse_wall_pct']}% by wall time (target >= 70%)")
            print(f"host {figures['host']}, {figures['cpus']} CPUs, Python {figures['python']}, {figures['date']}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
