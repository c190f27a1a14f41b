#!/usr/bin/env bash
# Runs every native Go fuzz target briefly (default 10s each), so decoders
# meet fresh random input on every CI run. Findings are written to the
# package's testdata/fuzz directory by `go test` and fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-10s}"
count=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    echo "fuzz: ./$dir $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$dir"
    count=$((count + 1))
  done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | sort)
echo "fuzz: $count targets ran"
