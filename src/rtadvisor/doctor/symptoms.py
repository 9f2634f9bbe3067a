"""``rtadvisor doctor --symptom TEXT``: root cause, checks to run and fix for a reported symptom.

The four S-wasm rows come from the knowledge base (``kb.find_troubleshooting``); the doctor adds
the errors people actually paste from ``kubectl describe pod`` when a runtime handler is wrong.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from rtadvisor.errors import InputError


@dataclass(frozen=True)
class Diagnosis:
    id: str
    symptom: str
    root_cause: str
    checks: tuple[str, ...]
    fix: str
    source: str  # "S-wasm" (knowledge base) or "rtadvisor" (doctor's own table)
    score: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Entry:
    id: str
    pattern: str  # regex over the pasted text
    symptom: str
    root_cause: str
    checks: tuple[str, ...]
    fix: str


COMMON: tuple[_Entry, ...] = (
    _Entry(
        "no-runtime-configured", r'no runtime for "?(?P<h>[^"\s]*)"? is configured',
        'no runtime for "X" is configured',
        'containerd has no runtime named "{h}": the RuntimeClass handler and the containerd runtime table name '
        "differ, the entry sits under the other config version's key (v2 `io.containerd.grpc.v1.cri` vs v3 "
        "`io.containerd.cri.v1.runtime`), or containerd was not restarted after the edit",
        ("kubectl get runtimeclass -o custom-columns=NAME:.metadata.name,HANDLER:.handler",
         "containerd config dump | grep -n 'runtimes'",
         "rtadvisor doctor --containerd-config /etc/containerd/config.toml --runtimeclasses RC.yaml"),
        'add the runtime: rtadvisor generate --runtime RUNTIME --containerd-config /etc/containerd/config.toml '
        '-o out/ (keys follow the file\'s version), install out/containerd/config.toml, '
        "systemctl restart containerd (K3s: use config.toml.tmpl / config-v3.toml.tmpl)",
    ),
    _Entry(
        "exec-format-error", r"exec format error",
        "exec format error",
        "a Wasm module (or a binary for another architecture) was exec'd as a Linux program: the pod ran under "
        "runc/gVisor, or under a crun without a Wasm handler, or containerd dropped the "
        "module.wasm.image/variant annotation (no pod_annotations)",
        ("rtadvisor image inspect IMAGE.tar  # a .wasm entrypoint or wasi/wasm platform?",
         "kubectl get pod POD -o jsonpath='{.spec.runtimeClassName} {.metadata.annotations}'",
         "crun --version | grep -i wasm", "rtadvisor doctor"),
        "run it with a Wasm handler: runtimeClassName crun-<engine> (e.g. crun-wasmedge) + annotation "
        "module.wasm.image/variant=compat-smart (crun >= 1.8.5 built with +WASM:<engine>, pod_annotations passed "
        "through), or the runwasi shim of that engine (route R3, runtimeClassName <engine>)",
    ),
    _Entry(
        "runtime-handler-not-supported", r"runtimehandler\s*\"?(?P<h>[^\"\s]*)\"?\s*not supported|"
        r"runtime ?handler .*not supported",
        "RuntimeHandler not supported",
        'the CRI runtime rejected handler "{h}": it is not configured in containerd/CRI-O on that node, or the '
        "pod landed on a node without the runtime (RuntimeClass without scheduling.nodeSelector)",
        ("kubectl get runtimeclass RC -o yaml  # handler and scheduling", "kubectl get nodes --show-labels",
         "containerd config dump | grep -n 'runtimes'"),
        "configure the handler on every node that may run the pod (rtadvisor generate), and pin pods to those "
        "nodes: label them runtime.rtadvisor.io/<handler>=true and use the generated RuntimeClass scheduling",
    ),
    _Entry(
        "shim-not-found", r"containerd-shim-[\w-]+.*(not found|no such file|does not exist)|"
        r"failed to start shim|shim.*(not found|does not exist)",
        "containerd shim not found",
        "runtime_type io.containerd.<name>.<v> makes containerd exec containerd-shim-<name>-<v>, which is not on "
        "containerd's PATH",
        ("containerd config dump | grep runtime_type", "ls -l /usr/local/bin/containerd-shim-*",
         "rtadvisor doctor"),
        "install the shim (runwasi releases for wasmedge/wasmtime/wasmer, SpinKube's containerd-shim-spin-v2 for "
        "spin, gVisor for runsc, Kata for kata: kata-deploy sets runtime_path) into /usr/local/bin, or set "
        "runtime_path",
    ),
)


#: Doctor findings (id prefixes) that can cause each symptom: shown as "on this node" evidence.
RELATED_FINDINGS: dict[str, tuple[str, ...]] = {
    "TS-logs-empty": ("crun-wasm-stdout", "crun-wasm"),
    "TS-dns": ("program-wasmedge",),
    "exec-format-error": ("crun-wasm", "runtime-", "cgroups-hybrid-crun"),
    "no-runtime-configured": ("rc-", "containerd-v2-keys-in-v3", "containerd-v3-keys-in-v2", "containerd-v1-keys",
                              "containerd-config", "containerd-default-runtime", "containerd-cri-disabled"),
    "runtime-handler-not-supported": ("rc-", "containerd-default-runtime", "containerd-config"),
    "shim-not-found": ("runtime-",),
}


def related(diagnosis_id: str, findings: list[Any]) -> list[Any]:
    """The node's warn/fail findings that may explain a diagnosed symptom."""
    prefixes = RELATED_FINDINGS.get(diagnosis_id, ())
    return [f for f in findings if f.status in ("warn", "fail") and f.id.startswith(prefixes)]


def _kb_hits(text: str) -> list[Diagnosis]:
    try:
        from rtadvisor import kb

        base = kb.load()
        hits = base.find_troubleshooting(text)
        commands = {d.id: d.command for d in getattr(base.troubleshooting, "diagnostics", ())}
    except Exception:  # a broken knowledge base must not hide the doctor's own table
        return []
    out = []
    for hit in hits:
        e = hit.entry
        checks = tuple(commands.get(d, d) for d in getattr(e, "diagnostics", ()) or ())
        out.append(Diagnosis(e.id, e.symptom, e.root_cause, (*checks, "rtadvisor doctor"), e.fix,
                             getattr(hit, "source", "S-wasm"), float(hit.score)))
    return out


#: A pasted symptom longer than this is refused (an error line, or a `kubectl describe` excerpt, fits).
MAX_SYMPTOM_CHARS = 10_000


def diagnose(text: str) -> list[Diagnosis]:
    """Diagnoses for a pasted symptom, best first; InputError when nothing matches."""
    if not text.strip():
        raise InputError("--symptom: empty")
    if len(text) > MAX_SYMPTOM_CHARS:
        # matching costs time per character (the knowledge base's fuzzy search: ~1 s for 100 kB here)
        raise InputError(f"--symptom: {len(text)} characters, at most {MAX_SYMPTOM_CHARS}; paste the error line "
                         "(or the few lines around it)")
    found: list[Diagnosis] = []
    for entry in COMMON:
        m = re.search(entry.pattern, text, re.IGNORECASE)
        if m:
            handler = (m.groupdict().get("h") or "X") or "X"
            found.append(Diagnosis(entry.id, entry.symptom, entry.root_cause.format(h=handler), entry.checks,
                                   entry.fix, "rtadvisor", 1.0))
    found += [d for d in _kb_hits(text) if d.id not in {f.id for f in found}]
    if not found:
        known = [e.symptom for e in COMMON]
        shown = repr(text) if len(text) <= 120 else repr(text[:100]) + f"... ({len(text)} characters)"
        raise InputError(f"--symptom: no known symptom matches {shown}; try one of: kubectl logs empty, "
                         f"image pull fails, DNS does not resolve, HPA on CPU never fires, {', '.join(known)}")
    return sorted(found, key=lambda d: -d.score)
