"""containerd entries: v2/v3 keys, idempotent comment-keeping merge, templates, refusals."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import tomlkit
from hypothesis import given, settings
from hypothesis import strategies as st

from rtadvisor.errors import ArtifactError
from rtadvisor.k8s import containerd as ctd
from rtadvisor.k8s.handlers import (
    ALL_HANDLERS,
    CRUN,
    CRUN_WASM,
    CRUN_WASM_ANNOTATIONS,
    KATA,
    RUNC,
    RUNSC,
    WASMEDGE_SHIM,
    shim_binary,
)

#: crun with the Wasm annotations under the plain name, as the KWasm node installer writes it.
CRUN_KWASM = dataclasses.replace(CRUN, pod_annotations=CRUN_WASM_ANNOTATIONS)

FIXTURES = Path(__file__).parents[1] / "data" / "deploy" / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def runtimes_of(text: str, version: int) -> dict:
    return ctd.configured_runtimes(tomlkit.parse(text).unwrap(), version)


def test_shim_binary_follows_containerd_naming() -> None:
    assert shim_binary("io.containerd.runc.v2") == "containerd-shim-runc-v2"
    assert shim_binary("io.containerd.wasmedge.v1") == "containerd-shim-wasmedge-v1"
    assert shim_binary("io.containerd.kata-qemu.v2") == "containerd-shim-kata-qemu-v2"


@pytest.mark.parametrize("version", [2, 3])
def test_render_config_uses_the_version_keys(version: int) -> None:
    text = ctd.render_config([CRUN, CRUN_WASM, RUNSC, KATA, WASMEDGE_SHIM], version)
    doc = tomlkit.parse(text).unwrap()
    assert doc["version"] == version
    other = 3 if version == 2 else 2
    assert ctd.configured_runtimes(doc, other) == {}
    rts = ctd.configured_runtimes(doc, version)
    assert rts["crun"] == {"runtime_type": "io.containerd.runc.v2", "options": {"BinaryName": "crun"}}
    assert rts["crun-wasmedge"]["options"]["BinaryName"] == "crun"
    assert "module.wasm.image/variant" in rts["crun-wasmedge"]["pod_annotations"]
    assert rts["runsc"]["runtime_type"] == "io.containerd.runsc.v1"
    assert rts["runsc"]["options"]["ConfigPath"] == "/etc/containerd/runsc.toml"
    assert rts["kata-qemu"]["runtime_type"] == "io.containerd.kata-qemu.v2"
    assert rts["kata-qemu"]["runtime_path"] == "/opt/kata/bin/containerd-shim-kata-v2"
    assert rts["wasmedge"]["runtime_type"] == "io.containerd.wasmedge.v1"


def test_new_files_are_never_version_1() -> None:
    with pytest.raises(ArtifactError, match="version 2 or 3"):
        ctd.render_config([CRUN], 1)


def test_merge_keeps_comments_and_user_values_and_is_idempotent() -> None:
    src = fixture("containerd-v2.toml")
    first = ctd.merge_runtimes(src, [CRUN_KWASM, RUNSC, RUNC])
    assert first.version == 2
    assert first.added == ("runsc",)
    assert first.updated == ("crun",)  # the Wasm annotations were missing
    assert first.unchanged == ("runc",)
    for comment in ("# Node config managed by ops", "# local SSD", "# pinned", "# the default runtime, systemd cgroups"):
        assert comment in first.text
    assert first.text.count("# added by rtadvisor") == 1
    rts = runtimes_of(first.text, 2)
    assert rts["crun"]["options"]["BinaryName"] == "/usr/local/bin/crun"  # still crun: the user's path kept
    assert rts["crun"]["pod_annotations"][0] == "example.com/keep-me"
    assert rts["runc"]["options"]["SystemdCgroup"] is True
    second = ctd.merge_runtimes(first.text, [CRUN_KWASM, RUNSC, RUNC])
    assert not second.changed
    assert second.text == first.text
    # never a duplicated section header
    header = ctd.runtimes_header(2, "runsc")
    assert second.text.count(header) == 1


def test_merge_reads_version_3_from_the_file() -> None:
    merged = ctd.merge_runtimes(fixture("containerd-v3.toml"), [CRUN_WASM], version=2)
    assert merged.version == 3
    assert "crun-wasmedge" in runtimes_of(merged.text, 3)
    assert runtimes_of(merged.text, 2) == {}
    assert "# containerd 2.x config" in merged.text


def test_merge_refuses_v2_keys_in_a_v3_file() -> None:
    with pytest.raises(ctd.ConfigError, match=r"version 3 .*version 2 keys"):
        ctd.merge_runtimes(fixture("containerd-v3-with-v2-keys.toml"), [CRUN])


def test_merge_into_a_version_1_file_keeps_version_1() -> None:
    """No `version` line is ever added: containerd would then ignore plugins.cri and drop its runtimes."""
    src = fixture("containerd-v1-runtimes.toml")
    merged = ctd.merge_runtimes(src, [RUNC, RUNSC])
    assert merged.version == 1 and merged.added == ("runsc",) and merged.unchanged == ("runc",)
    doc = tomlkit.parse(merged.text).unwrap()
    assert "version" not in doc
    assert set(ctd.configured_runtimes(doc, 1)) == {"runc", "nvidia", "runsc"}
    assert "[plugins.cri.containerd.runtimes.runsc]" in merged.text
    assert "# GPU nodes only" in merged.text
    # the file with no runtimes at all is version 1 too
    assert ctd.merge_runtimes(fixture("containerd-v1.toml"), [RUNC, CRUN]).version == 1


def test_merge_refuses_version_2_keys_without_a_version() -> None:
    """containerd reads such a file as version 1 and ignores the tables: the fix is the user's to make."""
    text = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\nruntime_type = "io.containerd.runc.v2"\n'
    with pytest.raises(ctd.ConfigError, match="add `version = 2`"):
        ctd.merge_runtimes(text, [CRUN])


def test_merge_never_overwrites_placeholders() -> None:
    """MicroK8s's template: ${RUNTIME_TYPE} and friends stay; new runc-shim entries use the placeholder."""
    src = fixture("microk8s-containerd-template.toml")
    micro = ctd.preset("microk8s").runtime_types
    merged = ctd.merge_runtimes(src, [RUNC, CRUN_WASM], runtime_types=micro)
    assert merged.unchanged == ("runc",) and merged.added == ("crun-wasmedge",)
    for placeholder in ("${SNAPSHOTTER}", "${RUNTIME}", "${SNAP_DATA}/opt/cni/bin"):
        assert placeholder in merged.text
    rts = runtimes_of(merged.text, 2)
    assert rts["runc"] == {"runtime_type": "${RUNTIME_TYPE}"}
    assert rts["crun-wasmedge"]["runtime_type"] == "${RUNTIME_TYPE}"
    # a literal value equal to what the placeholder stands for is left alone too
    literal = src.replace('runtimes.runc]\n      runtime_type = "${RUNTIME_TYPE}"',
                          'runtimes.runc]\n      runtime_type = "io.containerd.runc.v2"')
    assert ctd.merge_runtimes(literal, [RUNC], runtime_types=micro).unchanged == ("runc",)


def test_snippet_has_no_version_line_and_appends_cleanly() -> None:
    target = ctd.preset("microk8s").files[0].node_path
    snippet = ctd.render_snippet([CRUN_WASM, KATA], 2, target=target,
                                 runtime_types=ctd.preset("microk8s").runtime_types)
    assert "version" not in tomlkit.parse(snippet).unwrap()
    assert f"MERGE into {target}" in snippet
    appended = fixture("microk8s-containerd-template.toml") + "\n" + snippet
    assert set(runtimes_of(appended, 2)) == {"runc", "nvidia-container-runtime", "crun-wasmedge", "kata-qemu"}


def test_merge_rejects_invalid_toml_naming_the_file() -> None:
    with pytest.raises(ctd.ConfigError, match=r"my\.toml: not valid TOML") as info:
        ctd.merge_runtimes("version = 2\n[plugins\n", [CRUN], where="my.toml")
    assert info.value.exit_code == 2  # the user's file: bad input, not a generator failure


@pytest.mark.parametrize(("text", "message"), [
    ("version = 2\nplugins = 5\n", "plugins: expected a table, found an integer"),
    ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\nruntimes = [1, 2]\n',
     'plugins."io.containerd.grpc.v1.cri".containerd.runtimes: expected a table, found an array'),
    ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes]\ncrun = "x"\n',
     'runtimes.crun: expected a table, found a string'),
    ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun]\npod_annotations = [1]\n',
     "pod_annotations: expected an array of strings"),
    ("version = inf\n", "version: expected 1, 2 or 3, got inf"),
    ("version = nan\n", "version: expected 1, 2 or 3, got nan"),
    ('version = "2"\n', "version: expected 1, 2 or 3, got '2'"),
    (f"version = {'9' * 200}\n", "got an integer of 200 digits"),
    ("plugins = [1]\n", "plugins: expected a table, found an array"),
])
def test_merge_names_the_field_of_the_wrong_type(text: str, message: str) -> None:
    """What containerd would refuse to decode is bad input naming the key, never a traceback."""
    with pytest.raises(ctd.ConfigError) as info:
        ctd.merge_runtimes(text, [CRUN], where="my.toml")
    assert str(info.value).startswith("my.toml: ") and message in str(info.value)


def test_merge_into_k3s_template_keeps_the_base_action() -> None:
    merged = ctd.merge_runtimes(fixture("k3s-user.toml.tmpl"), [CRUN_WASM])
    assert '{{ template "base" . }}' in merged.text
    assert "# local mirror" in merged.text
    assert merged.added == ("crun-wasmedge",)
    again = ctd.merge_runtimes(merged.text, [CRUN_WASM])
    assert again.text == merged.text


@pytest.mark.parametrize("version", [2, 3])
def test_k3s_template_extends_base(version: int) -> None:
    text = ctd.render_template([CRUN_WASM], version)
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines[0] == '{{ template "base" . }}'
    body, _ = ctd.hide_template_actions(text)
    assert "crun-wasmedge" in ctd.configured_runtimes(tomlkit.parse(body).unwrap(), version)


def test_presets_cover_the_usual_distributions() -> None:
    assert set(ctd.PRESETS) == {"containerd", "k3s", "rke2", "microk8s", "k0s"}
    k3s = ctd.preset("k3s")
    assert [f.node_path.rsplit("/", 1)[-1] for f in k3s.files] == ["config.toml.tmpl", "config-v3.toml.tmpl"]
    assert ctd.preset("microk8s").files[0].node_path == "/var/snap/microk8s/current/args/containerd-template.toml"
    assert ctd.preset("k0s").files[0].node_path.startswith("/etc/k0s/containerd.d/")


_BASES = ["", "# empty\n", fixture("containerd-v2.toml"), fixture("containerd-v3.toml"), fixture("k3s-user.toml.tmpl"),
          fixture("containerd-v1-runtimes.toml"), fixture("microk8s-containerd-template.toml")]


@settings(max_examples=60, deadline=None)
@given(base=st.sampled_from(_BASES), first=st.lists(st.sampled_from(ALL_HANDLERS), max_size=5),
       second=st.lists(st.sampled_from(ALL_HANDLERS), max_size=5))
def test_merge_properties(base: str, first: list, second: list) -> None:
    """Any sequence of merges: parses, contains every handler once, keeps the base's comments, and
    re-applying what is already there changes nothing."""
    once = ctd.merge_runtimes(base, first)
    both = ctd.merge_runtimes(once.text, second)
    body, _ = ctd.hide_template_actions(both.text)
    doc = tomlkit.parse(body).unwrap()
    names = set(ctd.configured_runtimes(doc, both.version))
    assert {h.name for h in first + second} <= names
    for h in first + second:
        assert both.text.count(ctd.runtimes_header(both.version, h.name)) <= 1
        assert body.count(f".runtimes.{h.name}]") >= 1
    for line in base.splitlines():
        if line.strip().startswith("#"):
            assert line in both.text
    again = ctd.merge_runtimes(both.text, first + second)
    assert again.text == both.text and not again.changed
