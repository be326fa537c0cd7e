# The two commands: `make dev` (the whole stack locally) and `make test`
# (everything CI checks). Tools are pinned and installed into ./bin.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
BIN := $(CURDIR)/bin
STATICCHECK_VERSION := v0.8.2
OASDIFF_VERSION := v1.39.0
OAPI_CODEGEN_VERSION := v2.8.2
APILINT := infra/apilint
APICLIENT := infra/apiclient/client.gen.go
export GOFLAGS := -buildvcs=false

# Every module of the workspace; `go test ./...` at the root does not cross
# module boundaries, so each is named.
MODULES := ./shared/... ./infra/... $(patsubst %,./%/...,$(wildcard functions/*))
MODULES := $(filter-out ./functions/manifest.json/...,$(MODULES))

.PHONY: all dev test test-go lint fmt-check vet staticcheck apilint api-breaking apiclient apiclient-check tf-fmt buildcheck bench tools clean

all: test

## dev: start Postgres, Redis, the Pub/Sub and Firestore emulators, the fakes and every function; Ctrl-C stops all
dev:
	$(GO) run ./infra/cmd/dev

## test: lint, unit + integration + contract tests against real servers, then the buildpack check
test: lint
	$(GO) run ./infra/cmd/stack run -- $(MAKE) --no-print-directory test-go
	$(MAKE) --no-print-directory buildcheck

# test-go expects the environment `infra/cmd/stack run` provides.
# -trimpath keeps the build cache independent of the checkout's path, so the
# generator test, which builds a copy of the repository, compiles only what
# it generated.
test-go:
	$(GO) test -race -trimpath -count=1 -timeout 10m $(MODULES)

lint: fmt-check vet staticcheck apilint api-breaking apiclient-check tf-fmt

fmt-check:
	@out=$$(gofmt -l shared infra functions); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(MODULES)

staticcheck: $(BIN)/staticcheck
	$(BIN)/staticcheck $(MODULES)

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## apilint: openapi.yaml through pinned Spectral (oas + OWASP) and Redocly (recommended); any error fails
# npm ci installs exactly package-lock.json into infra/apilint/node_modules
# (git-ignored); the stamp reinstalls when the lockfile changes.
apilint: $(APILINT)/node_modules/.installed
	cd $(APILINT) && npx --no-install spectral lint --fail-severity error -r .spectral.yaml ../../openapi.yaml
	cd $(APILINT) && npx --no-install redocly lint --config redocly.yaml ../../openapi.yaml

$(APILINT)/node_modules/.installed: $(APILINT)/package-lock.json $(APILINT)/package.json
	cd $(APILINT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## api-breaking: oasdiff between api/openapi.baseline.yaml and openapi.yaml; a breaking change fails unless BREAKING.md declares it
# Severities are raised (oasdiff-levels.txt) so that removing an optional
# response field or narrowing a response enum counts as breaking too.
api-breaking: $(BIN)/oasdiff
	$(BIN)/oasdiff breaking api/openapi.baseline.yaml openapi.yaml --color never \
		--severity-levels $(APILINT)/oasdiff-levels.txt --err-ignore BREAKING.md --warn-ignore BREAKING.md --fail-on WARN \
		|| { echo "openapi.yaml breaks the contract of api/openapi.baseline.yaml: declare each change in BREAKING.md (see its head) or undo it"; exit 1; }

$(BIN)/oasdiff:
	GOBIN=$(BIN) $(GO) install github.com/oasdiff/oasdiff@$(OASDIFF_VERSION)

## apiclient: regenerate the typed Go client of openapi.yaml (infra/apiclient)
apiclient: $(BIN)/oapi-codegen
	$(BIN)/oapi-codegen -config infra/apiclient/oapi-codegen.yaml -o $(APICLIENT) openapi.yaml

# apiclient-check: the committed client is what the pinned generator makes of openapi.yaml.
apiclient-check: $(BIN)/oapi-codegen
	@tmp=$$(mktemp); trap 'rm -f $$tmp' EXIT; \
	$(BIN)/oapi-codegen -config infra/apiclient/oapi-codegen.yaml -o $$tmp openapi.yaml; \
	if ! diff -q $$tmp $(APICLIENT) >/dev/null; then echo "$(APICLIENT) is stale: run make apiclient"; exit 1; fi

$(BIN)/oapi-codegen:
	GOBIN=$(BIN) $(GO) install github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@$(OAPI_CODEGEN_VERSION)

## tf-fmt: terraform/ is formatted as `terraform fmt` would
tf-fmt:
	terraform fmt -check -recursive terraform

tools: $(BIN)/staticcheck $(BIN)/oasdiff $(BIN)/oapi-codegen $(APILINT)/node_modules/.installed

## buildcheck: build every function as Cloud Run functions' buildpack would (copied alone, GOWORK=off, vendored), and one newly generated function of each kind
buildcheck:
	$(GO) run ./infra/cmd/buildcheck -generated

## bench: performance figures against same-run baselines, written to bench/results/ (BENCHFLAGS='-only session-get -duration 10s')
# With the emulators: the gate publishes session events to Pub/Sub.
bench:
	$(GO) run ./infra/cmd/stack run -durable-postgres -- $(GO) run ./infra/cmd/bench $(BENCHFLAGS)

clean:
	rm -rf $(BIN) .dev
