"""Pure rendering and validation of Kubernetes, containerd and image-build artifacts.

Nothing here starts a process, opens a socket or touches the database (an import-direction test
checks it): the CLI gathers inputs, this package turns them into text.

* :mod:`.upstream` — the installers' conventions (K3s, kata-deploy, gVisor, MicroK8s, SpinKube, runwasi, crun)
* :mod:`.handlers` — runtime id + route -> containerd handler / RuntimeClass table
* :mod:`.runtimeclass` — ``node.k8s.io/v1`` RuntimeClass with overhead and scheduling
* :mod:`.containerd` — v1/v2/v3 runtime entries, idempotent comment- and placeholder-keeping merge, distro presets
* :mod:`.patches` — Pod/Deployment patches (ruamel round-trip) and JSON patches
* :mod:`.dockerfiles` — route R1 Dockerfile + entrypoint, route R2/R3 ``FROM scratch``
* :mod:`.bundle` — everything for one decision, validated
"""

from __future__ import annotations
