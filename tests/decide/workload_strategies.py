"""The hypothesis strategy for workload profiles, shared by the engine's property tests."""

from __future__ import annotations

from hypothesis import strategies as st

from rtadvisor.model import Artifact, Device, Gpu, Isolation, KernelFeature, Scenario, Stage, Workload


def workloads(names: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Workload]:
    """Every field of a profile, each over its whole domain (``None`` where the field is optional);
    the name is ``"w"`` unless ``names`` says otherwise."""
    return st.builds(
        Workload,
        name=st.just("w") if names is None else names,
        scenario=st.sampled_from(Scenario),
        stage=st.sampled_from(Stage),
        memory_mb=st.none() | st.floats(min_value=1, max_value=100_000),
        cpu_cores=st.none() | st.floats(min_value=0.05, max_value=64),
        cold_start_slo_ms=st.none() | st.floats(min_value=1, max_value=60_000),
        isolation=st.sampled_from(Isolation),
        untrusted_code=st.booleans(),
        gpu=st.sampled_from(Gpu),
        devices=st.lists(st.sampled_from(Device), unique=True).map(tuple),
        kernel_features=st.lists(st.sampled_from(KernelFeature), unique=True).map(tuple),
        services=st.none() | st.integers(min_value=1, max_value=500),
        multi_os=st.booleans(),
        offline=st.booleans(),
        artifact=st.none() | st.sampled_from(Artifact),
        governance=st.none() | st.booleans(),
    )
