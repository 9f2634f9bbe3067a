"""containerd runtime entries: rendering, style-preserving merge, and per-distribution presets.

containerd's CRI plugin changed its key between config versions:

* version 2 (containerd 1.x): ``[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.<name>]``
* version 3 (containerd 2.x): ``[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.<name>]``

Putting version-2 keys in a version-3 file is silently ignored by containerd 2, which is one of
the commonest reasons for ``no runtime for "X" is configured``; so the version is always *read
from the existing file* and the keys follow it.

The merge uses tomlkit so the user's comments, ordering and formatting survive; tables we add
carry a trailing ``# added by rtadvisor`` comment; running the merge twice gives the same text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Table

from rtadvisor.errors import ArtifactError

from .handlers import Handler

CRI_PLUGIN = {2: "io.containerd.grpc.v1.cri", 3: "io.containerd.cri.v1.runtime"}
ADDED_MARK = "added by rtadvisor"
K3S_BASE = '{{ template "base" . }}'

ConfigVersion = Literal[2, 3]


def runtimes_key(version: int) -> tuple[str, ...]:
    """Key path of the runtimes table for a config version."""
    if version not in CRI_PLUGIN:
        raise ArtifactError(f"containerd config version {version} is not supported (expected 2 or 3)")
    return ("plugins", CRI_PLUGIN[version], "containerd", "runtimes")


def runtimes_header(version: int, name: str) -> str:
    """The TOML header line of a runtime table, as a human would write it."""
    return f'[plugins."{CRI_PLUGIN[version]}".containerd.runtimes.{name}]'


def runtime_entry(handler: Handler) -> dict[str, Any]:
    """The plain-data content of one ``runtimes.<name>`` table."""
    entry: dict[str, Any] = {"runtime_type": handler.runtime_type}
    if handler.pod_annotations:
        entry["pod_annotations"] = list(handler.pod_annotations)
    if handler.privileged_without_host_devices:
        entry["privileged_without_host_devices"] = True
    if handler.options:
        entry["options"] = dict(handler.options)
    return entry


def _unique(handlers: list[Handler] | tuple[Handler, ...]) -> list[Handler]:
    seen: dict[str, Handler] = {}
    for h in handlers:
        seen.setdefault(h.name, h)
    return list(seen.values())


# --------------------------------------------------------------------------- reading


def parse(text: str, *, where: str = "containerd config") -> tomlkit.TOMLDocument:
    """Parse TOML, turning tomlkit's error into one line naming the file and position."""
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ArtifactError(f"{where}: not valid TOML: {exc}") from exc


def detect_version(doc: dict[str, Any], *, where: str = "containerd config", template: bool = False) -> int | None:
    """The config version the file declares; ``None`` for an empty file that declares nothing.

    A file without ``version`` is version 1 to containerd (short plugin names such as
    ``plugins.cri``); we refuse to guess and ask for a migration rather than write keys that
    containerd would ignore.
    """
    version = doc.get("version")
    if version is None and template:
        return None  # a K3s/RKE2 template inherits 'version' from the base it extends
    if version is None:
        plugins = doc.get("plugins") or {}
        if plugins:
            raise ArtifactError(
                f"{where}: has [plugins] but no 'version' key, which containerd reads as config version 1; "
                "run `containerd config migrate` (containerd >= 2) or add `version = 2` first"
            )
        return None
    try:
        version = int(version)
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"{where}: version: expected 2 or 3, got {version!r}") from exc
    if version not in CRI_PLUGIN:
        raise ArtifactError(f"{where}: version: expected 2 or 3, got {version}")
    return version


def configured_runtimes(doc: dict[str, Any], version: int) -> dict[str, dict[str, Any]]:
    """``{name: table}`` of the runtimes configured under the CRI key of ``version``."""
    node: Any = doc
    for key in runtimes_key(version):
        if not isinstance(node, dict) or key not in node:
            return {}
        node = node[key]
    return {str(k): dict(v) for k, v in node.items() if isinstance(v, dict)}


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class MergeResult:
    """Outcome of :func:`merge_runtimes`: the new text and what changed, by runtime name."""

    text: str
    version: int
    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated)


def _table_for(entry: dict[str, Any]) -> Table:
    table = tomlkit.table()
    table.comment(ADDED_MARK)
    for key, value in entry.items():
        if key == "options":
            continue
        table[key] = value
    if "options" in entry:
        options = tomlkit.table()
        for key, value in entry["options"].items():
            options[key] = value
        options.add(tomlkit.nl())
        table["options"] = options
    else:
        table.add(tomlkit.nl())
    return table


def _ensure_path(doc: tomlkit.TOMLDocument, path: tuple[str, ...]) -> Any:
    node: Any = doc
    for key in path:
        if key not in node:
            node[key] = tomlkit.table(is_super_table=True)
        node = node[key]
        if not isinstance(node, dict):
            raise ArtifactError(f"containerd config: {'.'.join(path)}: expected a table, found {type(node).__name__}")
    return node


def _update_table(table: Any, entry: dict[str, Any]) -> bool:
    """Bring an existing runtime table to ``entry`` without touching the user's other keys.

    ``runtime_type`` must match (a wrong shim is a bug); ``pod_annotations`` is unioned so
    annotations the user passes through stay; options are only added, never overridden, except a
    ``BinaryName`` that names a different program.
    """
    changed = False
    for key, value in entry.items():
        if key == "options":
            if "options" not in table:
                options = tomlkit.table()
                table["options"] = options
                changed = True
            for okey, ovalue in value.items():
                current = table["options"].get(okey)
                # Keep the user's choices (e.g. BinaryName = "/usr/local/bin/crun" is still crun);
                # only add what is missing or replace a binary that is a different program.
                if current is None or (
                    okey == "BinaryName" and str(current).rsplit("/", 1)[-1] != str(ovalue).rsplit("/", 1)[-1]
                ):
                    table["options"][okey] = ovalue
                    changed = True
        elif key == "pod_annotations":
            current = [str(a) for a in table.get("pod_annotations", [])]
            merged = current + [a for a in value if a not in current]
            if merged != current:
                table["pod_annotations"] = merged
                changed = True
        elif table.get(key) != value:
            table[key] = value
            changed = True
    return changed


_TEMPLATE_LINE = re.compile(r"^\s*\{\{.*\}\}\s*$")


def hide_template_actions(text: str) -> tuple[str, list[str]]:
    """Swap whole-line Go template actions (K3s/RKE2 ``{{ template "base" . }}``) for comments."""
    hidden: list[str] = []
    lines = []
    for line in text.splitlines(keepends=True):
        if _TEMPLATE_LINE.match(line):
            lines.append(f"#rtadvisor-template-action-{len(hidden)}\n")
            hidden.append(line if line.endswith("\n") else line + "\n")
        else:
            lines.append(line)
    return "".join(lines), hidden


#: Kept for callers of the first version of this module.
_hide_template_actions = hide_template_actions


def _restore_template_actions(text: str, hidden: list[str]) -> str:
    for i, line in enumerate(hidden):
        text = text.replace(f"#rtadvisor-template-action-{i}\n", line, 1)
    return text


def merge_runtimes(
    existing: str,
    handlers: list[Handler] | tuple[Handler, ...],
    *,
    version: int | None = None,
    where: str = "containerd config",
) -> MergeResult:
    """Merge runtime entries into a containerd config (or K3s/RKE2 template) text.

    The config version comes from the file when it declares one (``version`` is then only a
    default for an empty file); new tables are marked ``# added by rtadvisor``; existing ones
    are updated in place, so the merge never duplicates a section and is idempotent.
    """
    body, hidden = hide_template_actions(existing)
    is_template = bool(hidden)
    doc = parse(body, where=where)
    declared = detect_version(doc, where=where, template=is_template)
    if is_template:
        # A K3s/RKE2 template inherits 'version' from the base template it extends.
        chosen = declared or version or 2
    else:
        chosen = declared or version or 2
        if declared is None:
            doc.add("version", chosen)
    if chosen == 3 and configured_runtimes(doc, 2):
        # Keeping going would add v3 entries next to v2 ones that containerd 2 ignores: say so.
        raise ArtifactError(
            f"{where}: declares version 3 but configures runtimes under "
            f'plugins."{CRI_PLUGIN[2]}" (version 2 keys), which containerd 2 ignores; '
            "move them to plugins.\"io.containerd.cri.v1.runtime\" (`containerd config migrate`)"
        )
    runtimes = _ensure_path(doc, runtimes_key(chosen))
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    for handler in _unique(list(handlers)):
        entry = runtime_entry(handler)
        if handler.name in runtimes:
            (updated if _update_table(runtimes[handler.name], entry) else unchanged).append(handler.name)
        else:
            runtimes[handler.name] = _table_for(entry)
            added.append(handler.name)
    # Tables we append end with a blank line; keep exactly one newline at the end of the file.
    text = tomlkit.dumps(doc).rstrip("\n") + "\n"
    if not added and not updated:
        text = body  # byte-for-byte: nothing to do means nothing touched
    text = _restore_template_actions(text, hidden)
    return MergeResult(text, chosen, tuple(added), tuple(updated), tuple(unchanged))


def render_config(handlers: list[Handler] | tuple[Handler, ...], version: int = 2) -> str:
    """A standalone config holding only our runtime entries (to merge by hand or via imports)."""
    header = (
        f"# containerd runtime entries generated by rtadvisor (config version {version}).\n"
        "# Merge into your config.toml with `rtadvisor generate --containerd-config PATH`.\n"
    )
    return merge_runtimes(header, handlers, version=version).text


def render_template(handlers: list[Handler] | tuple[Handler, ...], version: int) -> str:
    """A K3s/RKE2 ``config.toml.tmpl`` (v2) or ``config-v3.toml.tmpl`` (v3) extending the base."""
    header = (
        f"# K3s/RKE2 containerd template (config version {version}) generated by rtadvisor.\n"
        "# Extends the distribution's generated config instead of replacing it.\n"
        f"{K3S_BASE}\n\n"
    )
    return merge_runtimes(header, handlers, version=version).text


# --------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class PresetFile:
    """One file a preset writes: where it goes on the node, and its style."""

    node_path: str
    version: int
    style: Literal["config", "template", "dropin"]


@dataclass(frozen=True)
class Preset:
    distro: str
    files: tuple[PresetFile, ...]
    restart: str
    note: str


PRESETS: dict[str, Preset] = {
    "containerd": Preset(
        "containerd",
        (PresetFile("/etc/containerd/config.toml", 2, "config"),),
        "systemctl restart containerd",
        "plain containerd: merge the entries into /etc/containerd/config.toml "
        "(version 3 keys if the file says version = 3)",
    ),
    "k3s": Preset(
        "k3s",
        (
            PresetFile("/var/lib/rancher/k3s/agent/etc/containerd/config.toml.tmpl", 2, "template"),
            PresetFile("/var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl", 3, "template"),
        ),
        "systemctl restart k3s  # or k3s-agent on agents",
        "K3s regenerates config.toml on every start: extend the base template instead of editing it; "
        "K3s >= 1.31 with containerd 2 reads config-v3.toml.tmpl",
    ),
    "rke2": Preset(
        "rke2",
        (
            PresetFile("/var/lib/rancher/rke2/agent/etc/containerd/config.toml.tmpl", 2, "template"),
            PresetFile("/var/lib/rancher/rke2/agent/etc/containerd/config-v3.toml.tmpl", 3, "template"),
        ),
        "systemctl restart rke2-server  # or rke2-agent on agents",
        "RKE2 regenerates config.toml on every start: extend the base template",
    ),
    "microk8s": Preset(
        "microk8s",
        (PresetFile("/var/snap/microk8s/current/args/containerd-template.toml", 2, "config"),),
        "snap restart microk8s",
        "MicroK8s renders containerd-template.toml (config version 2); merge the entries into it",
    ),
    "k0s": Preset(
        "k0s",
        (PresetFile("/etc/k0s/containerd.d/rtadvisor-runtimes.toml", 2, "dropin"),),
        "systemctl restart k0sworker  # or k0scontroller on a controller+worker",
        "k0s merges CRI runtime sections from drop-ins in /etc/k0s/containerd.d/",
    ),
}


def preset(distro: str) -> Preset:
    from rtadvisor.errors import InputError

    if distro not in PRESETS:
        raise InputError(f"--distro: unknown distribution {distro!r}; expected one of {', '.join(PRESETS)}")
    return PRESETS[distro]
