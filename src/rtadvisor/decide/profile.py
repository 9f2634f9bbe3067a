"""Workload profiles: YAML or TOML files (or mappings) turned into a validated :class:`Workload`.

Every mistake becomes one :class:`ProfileError` line naming the source, the field and what is
allowed, e.g. ``examples/x.yaml: field 'gpu': expected one of none, shared, passthrough, vgpu,
sriov, got 'nvidia'``. Reading the file is the only I/O here (the caller hands us a path).
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rtadvisor import safeio
from rtadvisor.errors import ProfileError
from rtadvisor.model import Workload
from rtadvisor.safeio import show

_NUMBER_RULES = {
    "memory_mb": "a number > 0 (MB)",
    "cpu_cores": "a number > 0 (cores)",
    "cold_start_slo_ms": "a number > 0 (ms)",
    "services": "an integer >= 1",
}


def _enum_of(annotation: Any) -> type[Enum] | None:
    """The Enum class inside ``X``, ``X | None`` or ``tuple[X, ...]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return annotation
    for arg in typing.get_args(annotation):
        found = _enum_of(arg)
        if found is not None:
            return found
    return None


def _is_sequence(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is tuple or origin is list:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_sequence(a) for a in typing.get_args(annotation))
    return False


def _is_bool(annotation: Any) -> bool:
    return annotation is bool or (typing.get_origin(annotation) in (typing.Union, types.UnionType) and bool in typing.get_args(annotation))


def allowed(field: str) -> str:
    """What a profile field accepts, in words (used in error messages and ``--help``)."""
    info = Workload.model_fields[field]
    enum = _enum_of(info.annotation)
    if enum is not None:
        values = ", ".join(str(m.value) for m in enum)
        return f"a list of {values}" if _is_sequence(info.annotation) else f"one of {values}"
    if _is_bool(info.annotation):
        return "true or false"
    if field in _NUMBER_RULES:
        return _NUMBER_RULES[field]
    if field == "name":
        return "a non-empty string"
    return str(info.annotation)


#: Longest name accepted: a DNS subdomain's length, what Kubernetes allows for object names.
MAX_NAME = 253


def _type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping"
    return "list" if isinstance(value, list | tuple) else type(value).__name__


def _show(value: Any) -> str:
    """A value as the error message shows it: one line, control characters escaped, at most ~60 chars."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**60:
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value) if isinstance(value, str) else str(value)
    text = show(text)
    return text if len(text) <= 60 else text[:57] + "..."


def _bad(source: str, key: str, value: Any) -> ProfileError:
    return ProfileError(f"{source}: field '{key}': expected {allowed(key)}, got {_show(value)}", field=key)


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int beyond the double range
        return False


def _precheck(source: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Type checks pydantic's lax mode would let through ("yes" for a bool, "64" for a number, inf,
    a list inside a list), so every wrong value gets the same one-line message naming the field."""
    fields = Workload.model_fields
    out: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = raw_key if isinstance(raw_key, str) else str(raw_key)
        if key not in fields:
            raise ProfileError(f"{source}: unknown field {_show(key)}; allowed fields: {', '.join(fields)}", field=key)
        info = fields[key]
        if value is None and key != "name":
            continue  # an explicit null means "unknown", like leaving the field out
        if _is_bool(info.annotation) and not isinstance(value, bool):
            raise _bad(source, key, value)
        if key in _NUMBER_RULES and (isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value)):
            raise _bad(source, key, value)
        if key == "services" and isinstance(value, float) and not value.is_integer():
            raise _bad(source, key, value)
        if _is_sequence(info.annotation):
            if not isinstance(value, (list, tuple)):
                raise _bad(source, key, value)
            enum = _enum_of(info.annotation)
            if enum is not None:
                ok = {m.value for m in enum}
                for item in value:
                    # a list or mapping item ([[usb]]) is unhashable: check the type first
                    if not isinstance(item, (str, Enum)) or (item.value if isinstance(item, Enum) else item) not in ok:
                        raise _bad(source, key, item)
            value = tuple(dict.fromkeys(value))  # a device listed twice is still one need
        elif _enum_of(info.annotation) is not None and not isinstance(value, (str, Enum)):
            raise _bad(source, key, value)
        if key == "name" and (not isinstance(value, str) or not value):
            raise _bad(source, key, value)
        if key == "name" and (len(value) > MAX_NAME or show(value) != value):
            raise ProfileError(f"{source}: field 'name': expected a non-empty string of at most {MAX_NAME} characters "
                               f"without control characters, got {_show(value)}", field="name")
        out[key] = value
    return out


def parse_profile(data: Mapping[str, Any], source: str = "<profile>") -> Workload:
    """Validate a mapping as a workload profile; ``source`` prefixes error messages."""
    if not isinstance(data, Mapping):
        raise ProfileError(f"{source}: expected a mapping of profile fields, got {_type_name(data)}")
    clean = _precheck(source, data)
    if "name" not in clean:
        raise ProfileError(f"{source}: field 'name': required ({allowed('name')})", field="name")
    try:
        return Workload.model_validate(clean)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "(profile)"
        got = err.get("input")
        if key in Workload.model_fields:
            raise ProfileError(f"{source}: field '{key}': expected {allowed(key)}, got {_show(got)}", field=key) from exc
        raise ProfileError(f"{source}: {err['msg']}") from exc


def read_profile_mapping(path: str | Path) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) profile file into a mapping.

    Reading is bounded (:mod:`rtadvisor.safeio`: a regular file within the input size limit; YAML
    within the node, depth and alias limits), so a hostile file ends in one :class:`ProfileError`.
    """
    p = Path(path)
    where = show(str(p))
    text = safeio.read_text(p, error=ProfileError, purpose="profile")
    if p.suffix.lower() == ".toml":
        # inf/nan are checked per field below, with the profile's own wording
        data: Any = safeio.load_toml(text, where=where, error=ProfileError, finite=False)
    else:
        data = safeio.load_yaml(text, where=where, error=ProfileError, finite=False)
    if data is None:
        raise ProfileError(f"{where}: empty profile (field 'name' is required)")
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: expected a mapping of profile fields, got {_type_name(data)}")
    return data


def load_profile(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Workload:
    """Load a profile file; ``overrides`` (e.g. CLI options) replace the file's values."""
    data = read_profile_mapping(path)
    if overrides:
        data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    return parse_profile(data, source=show(str(path)))
