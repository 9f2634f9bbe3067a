"""The hypothesis strategy for workload profiles, shared by the engine's property tests."""

from __future__ import annotations

from hypothesis import strategies as st

from rtadvisor.model import Artifact, Device, Gpu, Isolation, KernelFeature, Scenario, Stage, Workload


def workloads(names: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Workload]:
    """Every field of a profile, each over its whole domain, ``None`` (unknown) included for every
    optional fact; the name is ``"w"`` unless ``names`` says otherwise."""
    return st.builds(
        Workload,
        name=st.just("w") if names is None else names,
        scenario=st.sampled_from(Scenario),
        stage=st.none() | st.sampled_from(Stage),
        memory_mb=st.none() | st.floats(min_value=1, max_value=100_000),
        cpu_cores=st.none() | st.floats(min_value=0.05, max_value=64),
        cold_start_slo_ms=st.none() | st.floats(min_value=1, max_value=60_000),
        isolation=st.none() | st.sampled_from(Isolation),
        untrusted_code=st.none() | st.booleans(),
        multi_tenant=st.none() | st.booleans(),
        host_access=st.none() | st.booleans(),
        gpu=st.none() | st.sampled_from(Gpu),
        devices=st.none() | st.lists(st.sampled_from(Device), unique=True, max_size=3).map(tuple),
        kernel_features=st.none() | st.lists(st.sampled_from(KernelFeature), unique=True, max_size=3).map(tuple),
        services=st.none() | st.integers(min_value=1, max_value=500),
        multi_os=st.none() | st.booleans(),
        offline=st.none() | st.booleans(),
        artifact=st.none() | st.sampled_from(Artifact),
        governance=st.none() | st.booleans(),
        hardware_virtualization=st.none() | st.booleans(),
    )
