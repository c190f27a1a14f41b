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

# MinIO, the S3-compatible server the object-storage tests run against
# (internal/store/storetest and test/e2e start it on a loopback port). It is
# a Go module, built from source into bin/ (gitignored) at a pinned version.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c # commit of 2026-02-12
if [ ! -x bin/minio ]; then
  echo "test-deps: building minio ${MINIO_VERSION} into bin/"
  GOBIN="$PWD/bin" go install "github.com/minio/minio@${MINIO_VERSION}"
fi

# The OpenTelemetry JavaScript SDK for the OTLP/HTTP interop test and DuckDB
# (whose native library comes in npm's optional package for the platform)
# for the block-format test, at the versions pinned in
# test/interop/package-lock.json. node and npm come from the machine
# (Debian's packages when missing); npm ci runs only when the packages are
# not installed yet or the lockfile changed since they were.
if [ ! -f test/interop/node_modules/.package-lock.json ] ||
  [ test/interop/package-lock.json -nt test/interop/node_modules/.package-lock.json ]; then
  if ! command -v npm >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq nodejs npm
  fi
  (cd test/interop && npm ci --no-audit --no-fund)
fi
