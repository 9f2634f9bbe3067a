"""Workload profiles: YAML or TOML files (or mappings) turned into a validated :class:`Workload`.

Every mistake becomes one :class:`ProfileError` line naming the source, the field and what is
allowed, e.g. ``examples/x.yaml: field 'gpu': expected one of none, shared, passthrough, vgpu,
sriov, got 'nvidia'``. Reading the file is the only I/O here (the caller hands us a path).
"""

from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rtadvisor.errors import ProfileError
from rtadvisor.model import Workload

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


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _precheck(source: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Type checks pydantic's lax mode would let through ("yes" for a bool, "64" for a number)."""
    fields = Workload.model_fields
    out: dict[str, Any] = {}
    for key, value in data.items():
        key = str(key)
        if key not in fields:
            raise ProfileError(f"{source}: unknown field '{key}'; allowed fields: {', '.join(fields)}", field=key)
        info = fields[key]
        if value is None and key != "name":
            continue  # an explicit null means "not given"
        if _is_bool(info.annotation) and not isinstance(value, bool):
            raise ProfileError(f"{source}: field '{key}': expected {allowed(key)}, got {_show(value)}", field=key)
        if key in _NUMBER_RULES and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ProfileError(f"{source}: field '{key}': expected {allowed(key)}, got {_show(value)}", field=key)
        if key == "services" and isinstance(value, float) and not value.is_integer():
            raise ProfileError(f"{source}: field '{key}': expected {allowed(key)}, got {_show(value)}", field=key)
        if _is_sequence(info.annotation):
            if not isinstance(value, (list, tuple)):
                raise ProfileError(f"{source}: field '{key}': expected {allowed(key)}, got {_show(value)}", field=key)
            enum = _enum_of(info.annotation)
            if enum is not None:
                ok = {m.value for m in enum}
                for item in value:
                    if not isinstance(item, str) or item not in ok:
                        raise ProfileError(f"{source}: field '{key}': expected {allowed(key)}, got {_show(item)}", field=key)
            value = tuple(dict.fromkeys(value))  # a device listed twice is still one need
        elif _enum_of(info.annotation) is not None and not isinstance(value, (str, Enum)):
            raise ProfileError(f"{source}: field '{key}': expected {allowed(key)}, got {_show(value)}", field=key)
        if key == "name" and not isinstance(value, str):
            raise ProfileError(f"{source}: field 'name': expected {allowed('name')}, got {_show(value)}", field="name")
        out[key] = value
    return out


def parse_profile(data: Mapping[str, Any], source: str = "<profile>") -> Workload:
    """Validate a mapping as a workload profile; ``source`` prefixes error messages."""
    if not isinstance(data, Mapping):
        raise ProfileError(f"{source}: expected a mapping of profile fields, got {type(data).__name__}")
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
    """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) profile file into a mapping."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{p}: cannot read profile: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{p}: cannot read profile: not UTF-8 text") from exc
    if p.suffix.lower() == ".toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"{p}: invalid TOML: {exc}") from exc
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ProfileError(f"{p}:{where} invalid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    if data is None:
        raise ProfileError(f"{p}: empty profile (field 'name' is required)")
    if not isinstance(data, dict):
        raise ProfileError(f"{p}: expected a mapping of profile fields, got {type(data).__name__}")
    return data


def load_profile(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Workload:
    """Load a profile file; ``overrides`` (e.g. CLI options) replace the file's values."""
    data = read_profile_mapping(path)
    if overrides:
        data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    return parse_profile(data, source=str(path))
