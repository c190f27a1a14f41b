# Waymark build and test entry points. `make test` is what CI runs.
GO ?= go
FUZZTIME ?= 5s

.PHONY: build test test-deps unit browser fuzz-smoke vet bench bench-ui

build:
	$(GO) build -o bin/waymark ./cmd/waymark

# test installs what the tests need (see scripts/test-deps.sh), then runs
# vet, every unit, interop, e2e and browser test, and a short run of every
# fuzz target.
test: test-deps vet unit browser fuzz-smoke

test-deps:
	bash scripts/test-deps.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 20m ./...

# browser builds waymark, starts it on loopback ports and clicks through the
# web UI in headless Chromium (screenshots in test/browser/artifacts/).
browser:
	cd test/browser && node --test --test-concurrency=1 model.test.js ui.test.js

fuzz-smoke:
	bash scripts/fuzz-smoke.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1s ./internal/...

# bench-ui prints the web UI's median times to first render of a
# 50,000-span trace and of a 100-trace search in headless Chromium (needs
# the browser tests' packages: make test-deps).
bench-ui:
	cd test/browser && node bench.js
