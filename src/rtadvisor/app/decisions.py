"""Workload profiles in, decisions out: what ``recommend`` and ``POST /api/recommend`` share.

Both front ends validate a profile with the same function (:func:`parse_workload`, i.e. the decision
engine's ``parse_profile``): the same messages, no silent coercion (``"64"`` is not a number, 2.5
services is an error, ``null`` means unknown).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rtadvisor.errors import InputError
from rtadvisor.model import Decision, RulebookId, Workload

if TYPE_CHECKING:
    from rtadvisor.model import Preset

PRESETS_FILE = Path(__file__).with_name("presets.yaml")
RULEBOOKS: tuple[RulebookId, ...] = ("practice", "sources")


def parse_workload(data: Mapping[str, Any], source: str = "<profile>") -> Workload:
    """Validate a mapping of profile fields; ``ProfileError`` names ``source`` and the field."""
    from rtadvisor.decide import parse_profile
    from rtadvisor.errors import ProfileError

    try:
        return parse_profile(data, source=source)
    except (TypeError, ValueError, RecursionError) as exc:
        # a shape the validator did not foresee: still the user's input, never a crash
        raise ProfileError(f"{source}: not a valid profile ({type(exc).__name__})") from exc


def load_workload(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Workload:
    """Read a YAML or TOML profile file; ``overrides`` (CLI options) replace the file's values."""
    from rtadvisor.decide import load_profile

    return load_profile(path, overrides)


def recommend(
    workload: Workload,
    *,
    rulebook: Literal["practice", "sources"] = "practice",
    use_evidence: bool = False,
    db: str | None = None,
    preferences: Mapping[str, Any] | None = None,
    pool: str | None = None,
) -> Decision:
    """Choose the runtime for ``workload`` and explain it.

    ``rulebook``: ``practice`` (current upstream practice) or ``sources`` (the source documents' rules
    as written). With ``use_evidence`` the criteria come from this node's measurements in the result
    store ``db`` (``StoreError`` when nothing is stored yet). ``pool`` (implies ``use_evidence``):
    the evidence of that node pool's nodes instead -- medians across them, and the runtimes the pool
    cannot run excluded with why (``NotFoundError`` for a pool with no node in the store). Without
    either, the score stays on claims, but a cold-start SLO is still checked against this node's
    measurements when the store has some (never creating a store as a side effect).
    """
    from rtadvisor.decide import recommend as decide

    if rulebook not in RULEBOOKS:
        raise InputError(f"rulebook: expected one of {', '.join(RULEBOOKS)}, got {rulebook!r}", field="rulebook")
    evidence = slo_evidence = None
    if pool is not None:
        from .fleet import load_pool_evidence

        evidence = load_pool_evidence(db, pool)
    elif use_evidence:
        from .evidence import load_evidence

        evidence = load_evidence(db)
    elif workload.cold_start_slo_ms is not None:
        from rtadvisor.store import try_load_evidence

        slo_evidence = try_load_evidence(db)
    return decide(workload, evidence=evidence, preferences=preferences or None, rulebook=rulebook,
                  slo_evidence=slo_evidence)


def parse_preference_pairs(items: list[str], what: str) -> dict[str, float]:
    """``KEY=NUMBER`` (or ``KEY=A/B``) options; numbers in decimal notation only, finite (no inf, nan,
    1e400 or 5000 digits: rtadvisor.safeio.number_option). What the keys and values mean is checked
    by the scoring (decide.score)."""
    import math

    from rtadvisor.safeio import number_option, show

    out: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        shown = show(repr(item if len(item) <= 60 else item[:57] + "..."))
        if not sep:
            raise InputError(f"option {what}: expected KEY=NUMBER, got {shown}")
        where = f"option {what} {shown}"
        num, slash, den = value.partition("/")
        number = number_option(num, option=where)
        if slash:
            divisor = number_option(den, option=where)
            if divisor == 0:
                raise InputError(f"{where}: division by zero")
            number = number / divisor
            if not math.isfinite(number):
                raise InputError(f"{where}: expected a finite number")
        out[key.strip()] = number
    return out


def parse_decision(data: Any, source: str = "decision") -> Decision:
    """Validate a decision document (what ``recommend --json`` prints); the error names the field."""
    from pydantic import ValidationError

    if not isinstance(data, Mapping):
        raise InputError(f"{source}: expected the JSON object `rtadvisor recommend --json` prints, "
                         f"got {type(data).__name__}", field=source)
    try:
        return Decision.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ()))
        field = f"{source}.{loc}" if loc else source
        raise InputError(f"{field}: {err.get('msg', 'invalid')}", field=field) from exc


def presets() -> tuple[Preset, ...]:
    """Profiles for the sources' scenarios (edge, serverless, AI inference, ...)."""
    import yaml

    data = yaml.safe_load(PRESETS_FILE.read_text(encoding="utf-8"))
    # each preset's profile goes through the same validation as a user's
    from rtadvisor.model import Preset

    return tuple(Preset(id=p["id"], label=p["label"], source=p["source"],
                        profile=parse_workload(p["profile"], source=f"{PRESETS_FILE.name}: preset {p['id']}"))
                 for p in data["presets"])
