"""containerd runtime entries: rendering, style-preserving merge, and per-distribution presets.

containerd's CRI plugin changed its key between config versions:

* version 1 (no ``version`` key; deprecated, read by containerd 1.x, migrated in memory by 2.x):
  ``[plugins.cri.containerd.runtimes.<name>]``
* version 2 (containerd 1.x): ``[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.<name>]``
* version 3 (containerd 2.x): ``[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.<name>]``

Putting version-2 keys in a version-3 file is silently ignored by containerd 2, which is one of
the commonest reasons for ``no runtime for "X" is configured``; and adding ``version = 2`` to a
version-1 file renames nothing, so containerd then ignores ``plugins.cri`` and every runtime in it.
So the version is always *read from the existing file* and the keys follow it; new files are
written as version 2 or 3 only.

Values a distribution fills in when it renders its template (MicroK8s's ``${RUNTIME_TYPE}``,
K3s's ``{{ ... }}``) are never overwritten.

The merge uses tomlkit so the user's comments, ordering and formatting survive; tables we add
carry a trailing ``# added by rtadvisor`` comment; running the merge twice gives the same text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Table

from rtadvisor.errors import ArtifactError, InputError

from . import upstream as up
from .handlers import Handler

CRI_PLUGIN = {1: "cri", 2: "io.containerd.grpc.v1.cri", 3: "io.containerd.cri.v1.runtime"}
#: Versions rtadvisor writes a new file in (version 1 is only ever merged into, never created).
NEW_FILE_VERSIONS = (2, 3)
ADDED_MARK = "added by rtadvisor"
K3S_BASE = '{{ template "base" . }}'

ConfigVersion = Literal[2, 3]


def runtimes_key(version: int) -> tuple[str, ...]:
    """Key path of the runtimes table for a config version."""
    if version not in CRI_PLUGIN:
        raise ArtifactError(f"containerd config version {version} is not supported (expected 1, 2 or 3)")
    return ("plugins", CRI_PLUGIN[version], "containerd", "runtimes")


def runtimes_header(version: int, name: str) -> str:
    """The TOML header line of a runtime table, as a human would write it."""
    plugin = CRI_PLUGIN[version] if version == 1 else f'"{CRI_PLUGIN[version]}"'
    return f"[plugins.{plugin}.containerd.runtimes.{name}]"


def runtime_entry(handler: Handler, *, runtime_types: dict[str, str] | None = None) -> dict[str, Any]:
    """The plain-data content of one ``runtimes.<name>`` table.

    ``runtime_types`` rewrites ``runtime_type`` values for a distribution's template (MicroK8s:
    ``io.containerd.runc.v2`` -> ``${RUNTIME_TYPE}``, which the snap expands to its runc shim).
    """
    runtime_type = (runtime_types or {}).get(handler.runtime_type, handler.runtime_type)
    entry: dict[str, Any] = {"runtime_type": runtime_type}
    if handler.runtime_path:
        entry["runtime_path"] = handler.runtime_path
    if handler.pod_annotations:
        entry["pod_annotations"] = list(handler.pod_annotations)
    if handler.privileged_without_host_devices:
        entry["privileged_without_host_devices"] = True
    if handler.options:
        entry["options"] = dict(handler.options)
    return entry


def is_placeholder(value: Any) -> bool:
    """A value the distribution fills in when it renders its template (``${VAR}``, ``{{ .X }}``)."""
    return isinstance(value, str) and ("${" in value or "{{" in value)


def _unique(handlers: list[Handler] | tuple[Handler, ...]) -> list[Handler]:
    seen: dict[str, Handler] = {}
    for h in handlers:
        seen.setdefault(h.name, h)
    return list(seen.values())


# --------------------------------------------------------------------------- reading


class ConfigError(InputError):
    """The user's containerd config (or template) cannot be read or merged into: not TOML, a value of
    the wrong type on the way to the runtimes, an unknown ``version``. Bad input (exit 2), unlike an
    :class:`ArtifactError`, which would be a config of our own that we failed to render."""

    field = "containerd_config"


def parse(text: str, *, where: str = "containerd config") -> tomlkit.TOMLDocument:
    """Parse TOML, turning tomlkit's error into one line naming the file and position."""
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError(f"{where}: not valid TOML: {' '.join(str(exc).split())}") from exc
    except RecursionError as exc:  # tomlkit recurses per nesting level; callers bound the depth first
        raise ConfigError(f"{where}: not valid TOML: nested too deep") from exc


def detect_version(doc: dict[str, Any], *, where: str = "containerd config", template: bool = False) -> int | None:
    """The config version the file declares; ``None`` for a file that says nothing either way.

    A file without ``version`` is version 1 to containerd (short plugin names: ``plugins.cri``);
    such a file that uses version-2 plugin names is refused: containerd ignores those tables, and
    the fix (``version = 2``) is the user's to make, knowingly.
    """
    version = doc.get("version")
    if version is None and template:
        return None  # a K3s/RKE2 template inherits 'version' from the base it extends
    if version is None:
        plugins = doc.get("plugins") or {}
        if not isinstance(plugins, dict):
            raise ConfigError(f"{where}: plugins: expected a table, found {toml_kind(plugins)}")
        if not plugins:
            return None
        qualified = [k for k in (CRI_PLUGIN[2], CRI_PLUGIN[3]) if k in plugins]
        if qualified and "cri" not in plugins:
            raise ConfigError(
                f'{where}: no \'version\' key, so containerd reads it as config version 1 and ignores '
                f'plugins."{qualified[0]}" (a version {2 if qualified[0] == CRI_PLUGIN[2] else 3} name): add '
                f"`version = {2 if qualified[0] == CRI_PLUGIN[2] else 3}` at the top"
            )
        return 1
    if isinstance(version, bool) or not isinstance(version, int):
        shown = repr(version) if len(repr(version)) <= 40 else f"{type(version).__name__} of {len(repr(version))} characters"
        raise ConfigError(f"{where}: version: expected 1, 2 or 3, got {shown}")
    if version not in CRI_PLUGIN:
        shown = str(version) if len(str(version)) <= 40 else f"an integer of {len(str(version))} digits"
        raise ConfigError(f"{where}: version: expected 1, 2 or 3, got {shown}")
    return int(version)


#: What containerd decodes each key into (its Go config structs: ``services/server/config.Config``, the
#: CRI plugin's ``Runtime`` and the runc shim's ``options.Options``): a value of another type stops
#: containerd itself (top level: ``failed to unmarshal TOML: Can't convert 5(int64) to map``, checked
#: on containerd 1.6), the CRI plugin (its section), or every container of that runtime (options).
TOP_LEVEL_TYPES: dict[str, tuple[type, ...]] = {
    "root": (str,), "state": (str,), "temp": (str,), "plugin_dir": (str,), "disabled_plugins": (list,),
    "required_plugins": (list,), "oom_score": (int,), "imports": (list,), "grpc": (dict,), "ttrpc": (dict,),
    "debug": (dict,), "metrics": (dict,), "cgroup": (dict,), "proxy_plugins": (dict,), "timeouts": (dict,),
    "stream_processors": (dict,), "plugins": (dict,),
}
CRI_CONTAINERD_TYPES: dict[str, tuple[type, ...]] = {
    "default_runtime_name": (str,), "snapshotter": (str,), "no_pivot": (bool,),
    "disable_snapshot_annotations": (bool,), "discard_unpacked_layers": (bool,), "runtimes": (dict,),
}
RUNTIME_TYPES: dict[str, tuple[type, ...]] = {
    "runtime_type": (str,), "runtime_path": (str,), "runtime_engine": (str,), "runtime_root": (str,),
    "pod_annotations": (list,), "container_annotations": (list,), "privileged_without_host_devices": (bool,),
    "privileged_without_host_devices_all_devices_allowed": (bool,), "base_runtime_spec": (str,),
    "cni_conf_dir": (str,), "cni_max_conf_num": (int,), "sandbox_mode": (str,), "snapshotter": (str,),
    "options": (dict,),
}
OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "BinaryName": (str,), "Root": (str,), "SystemdCgroup": (bool,), "NoPivotRoot": (bool,),
    "NoNewKeyring": (bool,), "ShimCgroup": (str,), "IoUid": (int,), "IoGid": (int,), "CriuImagePath": (str,),
    "CriuWorkPath": (str,), "ConfigPath": (str,), "TypeUrl": (str,),
}
_LISTS_OF_STRINGS = ("disabled_plugins", "required_plugins", "imports")
_EXPECTED = {str: "a string", list: "an array", dict: "a table", int: "an integer", bool: "true or false"}


@dataclass(frozen=True)
class ShapeProblem:
    """A value containerd cannot decode: where (a dotted key), what it needs, what it found, and what
    fails because of it (``containerd``: it does not start; ``the CRI plugin``: it does not load, no
    pod starts; ``every container of runtime X``: those cannot start)."""

    key: str
    expected: str
    found: str
    stops: str

    def message(self) -> str:
        return f"{self.key}: expected {self.expected}, found {self.found}"

    def consequence(self) -> str:
        if self.stops == "containerd":
            return "containerd does not start"
        if self.stops == "the CRI plugin":
            return "the CRI plugin does not load: no pod starts"
        return f"{self.stops} cannot start"


def _mistyped(value: Any, allowed: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool not in allowed
    return not isinstance(value, allowed) or (bool in allowed and not isinstance(value, bool))


def _check_types(table: dict[str, Any], types: dict[str, tuple[type, ...]], path: tuple[str, ...],
                 stops: str) -> list[ShapeProblem]:
    out = []
    for key, allowed in types.items():
        if key in table and _mistyped(table[key], allowed):
            out.append(ShapeProblem(dotted((*path, key)), " or ".join(_EXPECTED[t] for t in allowed),
                                    toml_kind(table[key]), stops))
    return out


def _strings(table: dict[str, Any], key: str, path: tuple[str, ...], stops: str) -> list[ShapeProblem]:
    values = table.get(key)
    if isinstance(values, list) and not all(isinstance(v, str) for v in values):
        bad = next(v for v in values if not isinstance(v, str))
        return [ShapeProblem(dotted((*path, key)), "an array of strings", f"{toml_kind(bad)} in it", stops)]
    return []


def shape_problems(doc: dict[str, Any], version: int | None) -> list[ShapeProblem]:
    """Every value on the way to the runtimes (and the top-level keys) that containerd could not
    decode, in file order. ``version`` picks the CRI plugin's key; None checks the top level only."""
    out = _check_types(doc, TOP_LEVEL_TYPES, (), "containerd")
    for key in _LISTS_OF_STRINGS:
        out += _strings(doc, key, (), "containerd")
    plugins = doc.get("plugins")
    if not isinstance(plugins, dict):
        return out
    for name, table in plugins.items():
        if not isinstance(table, dict):
            out.append(ShapeProblem(dotted(("plugins", str(name))), "a table", toml_kind(table), "containerd"))
    if version not in CRI_PLUGIN:
        return out
    cri = plugins.get(CRI_PLUGIN[version])
    section = cri.get("containerd") if isinstance(cri, dict) else None
    path = ("plugins", CRI_PLUGIN[version], "containerd")
    if section is None or not isinstance(cri, dict):
        return out
    if not isinstance(section, dict):
        return [*out, ShapeProblem(dotted(path), "a table", toml_kind(section), "the CRI plugin")]
    out += _check_types(section, CRI_CONTAINERD_TYPES, path, "the CRI plugin")
    runtimes = section.get("runtimes")
    if not isinstance(runtimes, dict):
        return out
    for name, table in runtimes.items():
        where = (*path, "runtimes", str(name))
        if not isinstance(table, dict):
            out.append(ShapeProblem(dotted(where), "a table", toml_kind(table), "the CRI plugin"))
            continue
        out += _check_types(table, RUNTIME_TYPES, where, "the CRI plugin")
        for key in ("pod_annotations", "container_annotations"):
            out += _strings(table, key, where, "the CRI plugin")
        options = table.get("options")
        if isinstance(options, dict):
            out += _check_types(options, OPTION_TYPES, (*where, "options"), f"every container of runtime {name}")
    return out


def configured_runtimes(doc: dict[str, Any], version: int) -> dict[str, dict[str, Any]]:
    """``{name: table}`` of the runtimes configured under the CRI key of ``version``."""
    node: Any = doc
    for key in runtimes_key(version):
        if not isinstance(node, dict) or key not in node:
            return {}
        node = node[key]
    if not isinstance(node, dict):
        return {}
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


def toml_kind(value: Any) -> str:
    """A TOML value's type as a message says it (tomlkit's own class names are ``Array``, ``String``)."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "an integer"
    return "a float" if isinstance(value, float) else "a date or time"


def dotted(path: tuple[str, ...] | list[str]) -> str:
    """A key path as TOML writes it: ``plugins."io.containerd.grpc.v1.cri".containerd``."""
    return ".".join(f'"{k}"' if not re.fullmatch(r"[A-Za-z0-9_-]+", k) else k for k in path)


def _ensure_path(doc: tomlkit.TOMLDocument, path: tuple[str, ...], where: str = "containerd config") -> Any:
    node: Any = doc
    for depth, key in enumerate(path, 1):
        if key not in node:
            node[key] = tomlkit.table(is_super_table=True)
        node = node[key]
        if not isinstance(node, dict):
            raise ConfigError(f"{where}: {dotted(path[:depth])}: expected a table, found {toml_kind(node)}")
    return node


def _check_shape(table: Any, where: str) -> None:
    """An existing runtime table we are about to update must look like one: say which field does not."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, found {toml_kind(table)}")
    if "options" in table and not isinstance(table["options"], dict):
        raise ConfigError(f"{where}.options: expected a table, found {toml_kind(table['options'])}")
    if "pod_annotations" in table and (not isinstance(table["pod_annotations"], list)
                                       or not all(isinstance(a, str) for a in table["pod_annotations"])):
        raise ConfigError(f"{where}.pod_annotations: expected an array of strings, found "
                          f"{toml_kind(table['pod_annotations'])}")


def _update_table(table: Any, entry: dict[str, Any], same: dict[str, str]) -> bool:
    """Bring an existing runtime table to ``entry`` without touching the user's other keys.

    ``runtime_type`` must match (a wrong shim is a bug) unless the file has a placeholder the
    distribution expands or a value ``same`` says is equivalent; ``pod_annotations`` is unioned so
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
                    okey == "BinaryName" and not is_placeholder(current)
                    and str(current).rsplit("/", 1)[-1] != str(ovalue).rsplit("/", 1)[-1]
                ):
                    table["options"][okey] = ovalue
                    changed = True
        elif key == "pod_annotations":
            current = [str(a) for a in table.get("pod_annotations", [])]
            merged = current + [a for a in value if a not in current]
            if merged != current:
                table["pod_annotations"] = merged
                changed = True
        else:
            current = table.get(key)
            if is_placeholder(current) or current == value or (current is not None and same.get(str(current)) == value):
                continue
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
    runtime_types: dict[str, str] | None = None,
    declare_version: bool = True,
) -> MergeResult:
    """Merge runtime entries into a containerd config (or K3s/RKE2/MicroK8s template) text.

    The config version comes from the file when it declares one (``version`` is then only a
    default for an empty file; a version-1 file keeps its short keys and gets no ``version`` line);
    new tables are marked ``# added by rtadvisor``; existing ones are updated in place, so the merge
    never duplicates a section and is idempotent. ``declare_version=False`` writes no ``version``
    line into a file that has none (a snippet to append to a template that has its own).
    """
    body, hidden = hide_template_actions(existing)
    is_template = bool(hidden)
    doc = parse(body, where=where)
    declared = detect_version(doc, where=where, template=is_template)
    chosen = declared or version or 2
    if declared is None and not is_template and declare_version:
        doc.add("version", chosen)
    if chosen == 3 and configured_runtimes(doc, 2):
        # Keeping going would add v3 entries next to v2 ones that containerd 2 ignores: say so.
        raise ConfigError(
            f"{where}: declares version 3 but configures runtimes under "
            f'plugins."{CRI_PLUGIN[2]}" (version 2 keys), which containerd 2 ignores; '
            f'move those tables to plugins."{CRI_PLUGIN[3]}".containerd.runtimes (same names and contents)'
        )
    _refuse_shapes(doc, chosen, where)
    runtimes = _ensure_path(doc, runtimes_key(chosen), where)
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    same = dict(runtime_types or {})
    for handler in _unique(list(handlers)):
        entry = runtime_entry(handler, runtime_types=runtime_types)
        if handler.name in runtimes:
            _check_shape(runtimes[handler.name], f"{where}: {dotted((*runtimes_key(chosen), handler.name))}")
            (updated if _update_table(runtimes[handler.name], entry, same) else unchanged).append(handler.name)
        else:
            runtimes[handler.name] = _table_for(entry)
            added.append(handler.name)
    # Tables we append end with a blank line; keep exactly one newline at the end of the file.
    text = tomlkit.dumps(doc).rstrip("\n") + "\n"
    if not added and not updated:
        text = body  # byte-for-byte: nothing to do means nothing touched
    text = _restore_template_actions(text, hidden)
    return MergeResult(text, chosen, tuple(added), tuple(updated), tuple(unchanged))


def _refuse_shapes(doc: dict[str, Any], version: int | None, where: str) -> None:
    problems = shape_problems(doc, version)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(f"{where}: {first.message()}{more}: containerd cannot decode it "
                          f"({first.consequence()}); fix the file first (`rtadvisor doctor --containerd-config` "
                          "lists every such value)")


def check_config(existing: str, *, where: str = "containerd config") -> int | None:
    """Refuse a user's config (or template) that merging would refuse: not TOML, an unknown
    ``version``, v2 names without a version, a value containerd could not decode. Returns the
    version it declares (None: a template, or a file that says nothing). Also for a bundle that merges
    nothing into it (the distribution configures every handler): a broken file is still named."""
    body, hidden = hide_template_actions(existing)
    doc = parse(body, where=where)
    declared = detect_version(doc, where=where, template=bool(hidden))
    _refuse_shapes(doc, declared, where)
    return declared


def render_config(handlers: list[Handler] | tuple[Handler, ...], version: int = 2) -> str:
    """A standalone config holding only our runtime entries (to merge by hand or via imports)."""
    if version not in NEW_FILE_VERSIONS:
        raise ArtifactError(f"containerd config version {version}: new files are written as version 2 or 3")
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


def render_snippet(handlers: list[Handler] | tuple[Handler, ...], version: int, *, target: str,
                   runtime_types: dict[str, str] | None = None) -> str:
    """Runtime tables only (no ``version`` line), to merge into a template that must not be replaced."""
    header = (
        f"# containerd runtime tables (config version {version}) generated by rtadvisor.\n"
        f"# MERGE into {target}; do not replace that file (it carries the distribution's placeholders):\n"
        f"#   rtadvisor generate ... --containerd-config {target}\n"
        "# or append these tables to it if it defines none of the same names.\n"
    )
    return merge_runtimes(header, handlers, version=version, runtime_types=runtime_types,
                          declare_version=False).text


# --------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class PresetFile:
    """One file a preset writes: where it goes on the node, and its style.

    ``config``: a full containerd config (merged into the user's, or new); ``template``: a K3s/RKE2
    template extending the distribution's base; ``dropin``: a file the distribution merges itself;
    ``snippet``: tables to merge into a template that must never be replaced (MicroK8s).
    """

    node_path: str
    version: int
    style: Literal["config", "template", "dropin", "snippet"]


@dataclass(frozen=True)
class Preset:
    distro: str
    files: tuple[PresetFile, ...]
    restart: str
    note: str
    #: the distribution's own config already defines runc (and the default runtime)
    extends_base: bool = False
    #: runtime_type values written as the distribution's placeholders
    runtime_types: dict[str, str] = field(default_factory=dict)
    #: runtime names the distribution configures itself when it finds the binary at start
    detected: dict[str, up.DetectedRuntime] = field(default_factory=dict)
    #: RuntimeClasses the distribution ships: name -> handler
    runtime_classes: dict[str, str] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "containerd": Preset(
        "containerd",
        (PresetFile("/etc/containerd/config.toml", 2, "config"),),
        "systemctl restart containerd",
        "plain containerd: merge the entries into /etc/containerd/config.toml "
        "(version 3 keys if the file says version = 3; version 1 keys if it has no version)",
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
        extends_base=True, detected=up.K3S_DETECTED, runtime_classes=up.K3S_RUNTIME_CLASSES,
    ),
    "rke2": Preset(
        "rke2",
        (
            PresetFile("/var/lib/rancher/rke2/agent/etc/containerd/config.toml.tmpl", 2, "template"),
            PresetFile("/var/lib/rancher/rke2/agent/etc/containerd/config-v3.toml.tmpl", 3, "template"),
        ),
        "systemctl restart rke2-server  # or rke2-agent on agents",
        "RKE2 regenerates config.toml on every start: extend the base template",
        extends_base=True, detected=up.K3S_DETECTED, runtime_classes=up.K3S_RUNTIME_CLASSES,
    ),
    "microk8s": Preset(
        "microk8s",
        (PresetFile("/var/snap/microk8s/current/args/containerd-template.toml", 2, "snippet"),),
        "snap restart microk8s",
        "MicroK8s renders containerd-template.toml (config version 2) on every start, expanding its "
        "placeholders: merge the entries into it, never replace it",
        extends_base=True, runtime_types={"io.containerd.runc.v2": up.MICROK8S_RUNTIME_TYPE},
    ),
    "k0s": Preset(
        "k0s",
        (PresetFile("/etc/k0s/containerd.d/rtadvisor-runtimes.toml", 2, "dropin"),),
        "systemctl restart k0sworker  # or k0scontroller on a controller+worker",
        "k0s merges CRI runtime sections from drop-ins in /etc/k0s/containerd.d/",
        extends_base=True,
    ),
}


def preset(distro: str) -> Preset:
    from rtadvisor.errors import InputError

    if distro not in PRESETS:
        raise InputError(f"--distro: unknown distribution {distro!r}; expected one of {', '.join(PRESETS)}")
    return PRESETS[distro]
