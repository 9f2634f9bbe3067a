"""The one Kubernetes API call the agent makes: read its own Node's labels (to learn its pool).

A pod cannot see its node's labels through the downward API, so an agent started by one DaemonSet
for every node (``generate fleet`` without ``--pool``) reads ``GET /api/v1/nodes/{name}`` with
its service account -- the reason the generated RBAC grants ``get`` on nodes and nothing else.
Written against the standard library (urllib + ssl, the in-cluster conventions of client-go's
``rest.InClusterConfig``) rather than the kubernetes client package: one GET does not justify
~30 MB of generated client code in the agent's image.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from rtadvisor.errors import RuntimeUnavailable

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def in_cluster_api() -> str | None:
    """The API server URL inside a pod (``KUBERNETES_SERVICE_HOST``/``_PORT``), else None."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        return None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6
    return f"https://{host}:{port}"


def node_labels(node_name: str, *, api: str | None = None, token_file: Path | None = None,
                ca_file: Path | None = None, timeout: float = 10.0) -> dict[str, str]:
    """The labels of Node ``node_name``; :class:`RuntimeUnavailable` saying why when they cannot be read."""
    api = api or in_cluster_api()
    if api is None:
        raise RuntimeUnavailable("cannot read the node's labels: not inside a Kubernetes pod "
                                 "(no KUBERNETES_SERVICE_HOST); give --pool instead")
    token_file = token_file or SERVICE_ACCOUNT / "token"
    ca_file = ca_file or SERVICE_ACCOUNT / "ca.crt"
    request = urllib.request.Request(f"{api}/api/v1/nodes/{urllib.parse.quote(node_name, safe='')}",
                                     headers={"Accept": "application/json"})
    try:
        token = token_file.read_text().strip()
    except OSError as exc:
        raise RuntimeUnavailable(f"cannot read the service account token {token_file}: {exc.strerror}") from exc
    request.add_header("Authorization", f"Bearer {token}")
    context = None
    if api.startswith("https://"):
        try:
            context = ssl.create_default_context(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise RuntimeUnavailable(f"cannot load the cluster CA {ca_file}: {exc}") from exc
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            body = response.read(4 * 1024 * 1024)
    except urllib.error.HTTPError as exc:
        hint = " (the service account needs `get` on nodes: see `rtadvisor generate fleet`)" if exc.code == 403 else ""
        raise RuntimeUnavailable(f"GET node {node_name}: HTTP {exc.code} {exc.reason}{hint}") from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise RuntimeUnavailable(f"GET node {node_name}: {getattr(exc, 'reason', exc)}") from exc
    try:
        labels = json.loads(body).get("metadata", {}).get("labels") or {}
    except (ValueError, AttributeError) as exc:
        raise RuntimeUnavailable(f"GET node {node_name}: the answer is not a Node object") from exc
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
