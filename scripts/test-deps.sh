#!/usr/bin/env bash
# Installs what Waymark's tests need on a fresh Debian machine. Idempotent:
# anything already present is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

# Go modules, fetched once so that test timeouts do not include downloads.
go mod download

# The browser tests (test/browser) drive Debian's Chromium from Node's test
# runner through playwright-core.
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi
(cd test/browser && npm ci --no-audit --no-fund --loglevel=error)
