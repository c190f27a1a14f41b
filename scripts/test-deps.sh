#!/usr/bin/env bash
# Installs what Waymark's tests need on a fresh Debian machine. Idempotent:
# anything already present is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

# Go modules, fetched once so that test timeouts do not include downloads.
go mod download

# The OpenTelemetry JavaScript SDK for the OTLP/HTTP interop test, at the
# versions pinned in test/interop/package-lock.json. node and npm come from
# the machine (Debian's packages when missing); npm ci runs only when the
# packages are not installed yet.
if [ ! -d test/interop/node_modules ]; then
  if ! command -v npm >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq nodejs npm
  fi
  (cd test/interop && npm ci --no-audit --no-fund)
fi
