# The two commands: `make dev` (the whole stack locally) and `make test`
# (everything CI checks). Tools are pinned and installed into ./bin.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
BIN := $(CURDIR)/bin
STATICCHECK_VERSION := v0.8.2
export GOFLAGS := -buildvcs=false

# Every module of the workspace; `go test ./...` at the root does not cross
# module boundaries, so each is named.
MODULES := ./shared/... ./infra/... $(patsubst %,./%/...,$(wildcard functions/*))
MODULES := $(filter-out ./functions/manifest.json/...,$(MODULES))

.PHONY: all dev test test-go lint fmt-check vet staticcheck buildcheck bench tools clean

all: test

## dev: start Postgres, Redis, the Pub/Sub and Firestore emulators, the fakes and every function; Ctrl-C stops all
dev:
	$(GO) run ./infra/cmd/dev

## test: lint, unit + integration + contract tests against real servers, then the buildpack check
test: lint
	$(GO) run ./infra/cmd/stack run -- $(MAKE) --no-print-directory test-go
	$(MAKE) --no-print-directory buildcheck

# test-go expects the environment `infra/cmd/stack run` provides.
test-go:
	$(GO) test -race -count=1 -timeout 10m $(MODULES)

lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l shared infra functions); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(MODULES)

staticcheck: $(BIN)/staticcheck
	$(BIN)/staticcheck $(MODULES)

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

tools: $(BIN)/staticcheck

## buildcheck: build every function as Cloud Run functions' buildpack would (copied alone, GOWORK=off, vendored)
buildcheck:
	$(GO) run ./infra/cmd/buildcheck

## bench: performance figures against same-run baselines, written to bench/results/ (BENCHFLAGS='-only session-get -duration 10s')
# With the emulators: the gate publishes session events to Pub/Sub.
bench:
	$(GO) run ./infra/cmd/stack run -durable-postgres -- $(GO) run ./infra/cmd/bench $(BENCHFLAGS)

clean:
	rm -rf $(BIN) .dev
