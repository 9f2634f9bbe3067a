"""Validation of generated manifests against the Kubernetes OpenAPI schemas (kubernetes-validate)."""

from __future__ import annotations

import re
from typing import Any

from rtadvisor.errors import ArtifactError

from .handlers import is_dns_label

#: The Kubernetes schema version manifests are validated against (bundled with kubernetes-validate).
K8S_VERSION = "1.30.0"


def validate_manifest(obj: dict[str, Any], *, where: str = "manifest", strict: bool = True) -> None:
    """Raise :class:`ArtifactError` naming ``where`` and the failing field if ``obj`` is invalid.

    ``strict`` rejects unknown fields (a typo such as ``runtimeClassname`` would otherwise pass).
    """
    import kubernetes_validate

    try:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=strict)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in getattr(exc, "path", ()) or ()) or "(top level)"
        first = str(getattr(exc, "message", exc)).splitlines()[0]
        raise ArtifactError(f"{where}: {path}: {first}") from exc
    except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
        raise ArtifactError(f"{where}: no Kubernetes schema for {obj.get('apiVersion')}/{obj.get('kind')}") from exc
    if obj.get("kind") == "RuntimeClass" and not is_dns_label(str(obj.get("handler", ""))):
        raise ArtifactError(f"{where}: handler: {_shown(obj.get('handler'))} is not a DNS label (RFC 1123)")
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if obj.get("kind") == "RuntimeClass" and isinstance(name, str) and not is_dns_subdomain(name):
        # the API server's ValidateRuntimeClassName: a DNS subdomain (the schema only says "string")
        raise ArtifactError(f"{where}: metadata.name: {_shown(name)} is not a DNS subdomain (RFC 1123: at most "
                            "253 lowercase letters, digits, '-' and '.')")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + f"... ({len(text)} characters)"


_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def is_dns_subdomain(name: str) -> bool:
    """RFC 1123 subdomain: what Kubernetes requires of most object names (RuntimeClass included)."""
    return len(name) <= 253 and _DNS_SUBDOMAIN.fullmatch(name) is not None
