#!/usr/bin/env bash
# Lints and renders charts/jifen (no helm binary: the Helm v4 SDK through helm-python-sdk),
# validates every manifest and every kustomize overlay strictly against the Kubernetes 1.30
# schemas, checks that bad values fail the schema, and, given a jifen binary, that the rendered
# command lines, ports and probe service names are ones the binary accepts and serves.
#
#   scripts/chart-check.sh [path/to/jifen]      # or JIFEN_BIN=target/debug/jifen scripts/chart-check.sh
#
# Run from the repository root. Renders land in target/chart-rendered/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -f charts/jifen/Chart.yaml ]] || { echo "chart-check: run from the repository root" >&2; exit 2; }

cache="${JIFEN_CACHE:-$HOME/.cache/jifen}"
venv="$cache/chart-venv"
# Pinned: helm-python-sdk is an alpha with one author; bump deliberately.
reqs="helm-python-sdk==0.2.2 kubernetes-validate==1.37.0 pyyaml==6.0.4"
stamp="$venv/.jifen-reqs"

if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$reqs" ]]; then
  echo "chart-check: preparing $venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # word splitting of the pinned list is intended
  "$venv/bin/pip" install --quiet --disable-pip-version-check $reqs
  echo "$reqs" > "$stamp"
fi

command -v kubectl >/dev/null || { echo "chart-check: kubectl is required (kubectl kustomize)" >&2; exit 2; }

jifen_bin="${1:-${JIFEN_BIN:-}}"
exec env JIFEN_BIN="$jifen_bin" "$venv/bin/python" scripts/chart/render.py
