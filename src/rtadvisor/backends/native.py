"""The ``native`` backend: plain fork/exec of the built-in workload, the baseline for every other row."""

from __future__ import annotations

import platform
from pathlib import Path

from rtadvisor.backends import register
from rtadvisor.backends.base import (
    HELLO_OUTPUT,
    IDLE_READY,
    Assets,
    Availability,
    Backend,
    Command,
    LaunchPlan,
    Stage,
)


class NativeBackend(Backend):
    """Run the workload as an ordinary host process: no isolation beyond a process."""

    name = "native"
    family = "native"

    def probe(self) -> Availability:
        from rtadvisor.workloads import clang

        compiler = clang()
        if compiler is None and not Assets().native("hello").exists():
            return Availability.missing(self.name, "clang (needed to build the native workloads)")
        return Availability(name=self.name, usable=True, binary=compiler, version=f"Linux {platform.release()}")

    def prepare(self, assets: Assets) -> None:
        from rtadvisor.workloads import ensure_built

        ensure_built(assets, wasm=False)

    def plan(self, workload: str, assets: Assets, workdir: Path, *, instance_id: str) -> LaunchPlan:
        if workload == "hello":
            exe = assets.native("hello")
            return LaunchPlan(
                workload=workload,
                stages=(Stage("run", Command((str(exe),))),),
                expected_stdout=HELLO_OUTPUT,
                artifacts=(exe,),
                method="fork/exec of a static C binary until exit",
            )
        if workload == "idle":
            exe = assets.native("idle")
            return LaunchPlan(
                workload=workload,
                stages=(Stage("start", Command((str(exe),)), ready_line=IDLE_READY),),
                artifacts=(exe,),
                method="fork/exec of a static C binary until it prints its ready line",
            )
        if workload == "measure":
            exe = assets.native("measure")
            scratch = workdir / "scratch"
            return LaunchPlan(
                workload=workload,
                setup=(Command(("mkdir", "-p", str(scratch)), timeout_s=10),),
                stages=(Stage("measure", Command((str(exe),), timeout_s=120)),),
                artifacts=(exe,),
                labels={"measure_dir": str(scratch), "storage": "host directory"},
                method="fork/exec of the static measure binary (the baseline every ratio divides by)",
            )
        raise ValueError(f"native cannot run workload {workload!r}")

    def supports(self, workload: str, assets: Assets) -> str | None:
        if workload == "user":
            return "native runs the built-in workloads only"
        if workload == "measure" and not assets.native("measure").is_file():
            return "the measure workload is not built (run `rtadvisor prepare`)"
        return None


register(NativeBackend())
