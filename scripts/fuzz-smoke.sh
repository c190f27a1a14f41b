#!/usr/bin/env bash
# Runs every native Go fuzz target briefly (default 10s each), so decoders
# meet fresh random input on every CI run. Findings are written to the
# package's testdata/fuzz directory by `go test` and fail the run.
#
# `go test -fuzz` before Go 1.27 sometimes ends a run with "context deadline
# exceeded" when the fuzz time runs out while a worker is mid-input (a race in
# the fuzz coordinator, go.dev/issue/75804); no input failed and nothing is
# written to testdata. Such a run is repeated (at most twice); a run
# that wrote a failing input, or fails in any other way, fails at once.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-10s}"
count=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
while IFS= read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    for attempt in 1 2 3; do
      echo "fuzz: ./$dir $target ($fuzztime, attempt $attempt)"
      if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$dir" 2>&1 | tee "$log"; then
        break
      fi
      if grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log" || [ "$attempt" = 3 ]; then
        exit 1
      fi
      echo "fuzz: $target stopped with the fuzz engine's deadline error and no failing input; running it again"
    done
    count=$((count + 1))
  done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | sort)
echo "fuzz: $count targets ran"
