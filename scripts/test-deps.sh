#!/usr/bin/env bash
# Installs what Waymark's tests need on a fresh Debian machine. Idempotent:
# anything already present is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

# Go modules, fetched once so that test timeouts do not include downloads.
go mod download
