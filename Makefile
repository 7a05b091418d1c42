# rpcgate developer targets. `make test` is what CI runs (.ci/run).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c

GO ?= go

.PHONY: test unit e2e fuzz bench build lint anvil promtool

# Installs anvil (real Ethereum nodes for test/e2e) into .cache/tools once,
# runs every package under the race detector (e2e included), then a short,
# bounded fuzz pass over the decoders.
test:
	bash scripts/install-promtool.sh >/dev/null
	ANVIL="$$(bash scripts/install-anvil.sh)"; \
	CHROMIUM="$$(bash scripts/install-chromium.sh)"; \
	ANVIL="$$ANVIL" CHROMIUM="$$CHROMIUM" $(GO) test -race -count=1 -timeout 15m ./...
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 20s ./internal/jsonrpc/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 20s ./internal/config/

# Only the end-to-end tests (verbose), e.g. `make e2e RUN=TestHostileInput`.
RUN ?= .
e2e:
	ANVIL="$$(bash scripts/install-anvil.sh)"; \
	ANVIL="$$ANVIL" $(GO) test -race -count=1 -timeout 15m -v -run '$(RUN)' ./test/e2e/

anvil:
	bash scripts/install-anvil.sh

promtool:
	bash scripts/install-promtool.sh

bench:
	bash bench/run.sh

build:
	$(GO) build -o bin/rpcgate ./cmd/rpcgate

lint:
	@out="$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))"; \
	if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
