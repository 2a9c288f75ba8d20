#!/usr/bin/env bash
# Installs what `npm test` and `npm run demo` need on a fresh machine, then builds:
#   1. the npm packages (npm ci) when node_modules is missing or older than package-lock.json;
#   2. the etcd server and etcdctl, from Debian's etcd-server/etcd-client packages, when they are
#      not on PATH (needs root and apt-get; otherwise it says how to get them and stops);
#   3. openssl and Chromium from Debian's packages, for the TLS and dashboard tests;
#   4. the library, the example apps, the demo and the test fixtures (tsc -b).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing etcd from Debian's etcd-server and etcd-client packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server etcd-client >/dev/null
  else
    cat >&2 <<'MSG'
setup: etcd is not installed, and this script can only install it as root with apt-get.
  Debian/Ubuntu:  sudo apt-get install etcd-server etcd-client
  elsewhere:      put the etcd and etcdctl binaries (v3.4 or later) on PATH
                  (https://etcd.io/docs/latest/install/)
MSG
    exit 1
  fi
fi

# The TLS tests make their certificates with openssl; the dashboard test drives Debian's Chromium
# (playwright-core never downloads a browser).
if ! command -v openssl >/dev/null 2>&1 || [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing openssl and Chromium from Debian's packages (for the TLS and dashboard tests)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl chromium >/dev/null
  else
    echo "setup: openssl or /usr/bin/chromium is missing; the tests need them (Debian/Ubuntu: sudo apt-get install openssl chromium)" >&2
    exit 1
  fi
fi

npm run build --silent
