#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine of this kind (run as root):
# Debian packages, a virtualenv in .venv with rtadvisor and its dev extras, and the node assets
# (built-in workloads, micro-VM kernel) that the benchmarks need, and the npm test tools.
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

# Front-end test tools from npm (axe-core for the page's accessibility tests), pinned by
# package-lock.json; the page itself loads nothing from node_modules. Node and npm come from
# Debian when the machine has none.
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: npm is missing and not root: install Debian's nodejs and npm with apt-get" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: nodejs npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
npm_stamp=node_modules/.rtadvisor-installed
if [ ! -f "$npm_stamp" ] || [ package-lock.json -nt "$npm_stamp" ] || [ ! -f node_modules/axe-core/axe.min.js ]; then
  echo "setup: installing front-end test tools (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  touch "$npm_stamp"
fi
