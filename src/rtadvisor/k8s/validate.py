"""Validation of generated manifests against the Kubernetes OpenAPI schemas (kubernetes-validate)."""

from __future__ import annotations

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
        raise ArtifactError(f"{where}: handler: {obj.get('handler')!r} is not a DNS label (RFC 1123)")
