#!/usr/bin/env bash
# Install what the tests (or, with "demo", just the demo) need on a fresh machine: the system
# programs first (Graphviz's dot, Chromium and its driver), then this package into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"

if [ "$extras" = dev ]; then
  packages=()
  command -v dot >/dev/null || packages+=(graphviz)
  command -v chromium >/dev/null || packages+=(chromium)
  command -v chromedriver >/dev/null || packages+=(chromium-driver)
  if [ ${#packages[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "setup: installing ${packages[*]} (Debian packages)"
    log=$(mktemp)
    if ! { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq "${packages[@]}"; } >"$log" 2>&1; then
      tail -n 20 "$log" >&2
      echo "setup: could not install ${packages[*]} with apt-get (see above)" >&2
      exit 1
    fi
    rm -f "$log"
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
# A distribution named micrograd (micrograd 0.1.0, or this project under its old name) would share the
# micrograd package's files with this one.
if .venv/bin/python -m pip show -q micrograd >/dev/null 2>&1; then
  .venv/bin/python -m pip uninstall -y -q micrograd
fi
echo "setup: installing micrograd-plus[$extras] into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]"
