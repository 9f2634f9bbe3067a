#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine of this kind (run as root):
# Debian packages, a virtualenv in .venv with rtadvisor and its dev extras, and the node assets
# (built-in workloads, micro-VM kernel) that the benchmarks need.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' scripts/debian-packages.txt)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}) and not root: install them with apt-get" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.rtadvisor-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing rtadvisor into .venv"
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip 2>/dev/null
  .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c 'import rtadvisor' && touch "$stamp"
fi

# Node assets (built-in workloads, micro-VM kernel/initramfs) are prepared by rtadvisor itself.
.venv/bin/rtadvisor prepare --quiet
