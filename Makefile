# rpcgate developer targets. `make test` is what CI runs (.ci/run).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c

GO ?= go

.PHONY: test unit e2e fuzz bench build lint hygiene anvil promtool

# Runs `lint` first (go.mod tidy, gofmt, go vet): any finding fails the run.
# Then installs anvil (real Ethereum nodes for test/e2e) into .cache/tools once,
# runs every package under the race detector (e2e included), then a short,
# bounded fuzz pass over the decoders. The fuzz budget is a count of
# executions (`Nx`), not a duration: a duration budget races Go's fuzz
# coordinator at the deadline and fails with a bare "context deadline exceeded"
# on a loaded machine (golang/go#75804). -timeout still bounds a real hang.
test: lint
	bash scripts/install-promtool.sh >/dev/null
	bash scripts/install-jsclients.sh >/dev/null
	ANVIL="$$(bash scripts/install-anvil.sh)"; \
	CHROMIUM="$$(bash scripts/install-chromium.sh)"; \
	ANVIL="$$ANVIL" CHROMIUM="$$CHROMIUM" $(GO) test -race -count=1 -timeout 15m ./...
	$(MAKE) --no-print-directory fuzz

# Bounded fuzz passes; raise the budgets for a longer local run, e.g.
# `make fuzz DECODE_EXECS=20000000x PARSE_EXECS=1000000x LINE_EXECS=5000000x`.
DECODE_EXECS ?= 500000x
PARSE_EXECS ?= 20000x
LINE_EXECS ?= 100000x
NODESPEC_EXECS ?= 100000x
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(DECODE_EXECS) -timeout 5m ./internal/jsonrpc/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(PARSE_EXECS) -timeout 5m ./internal/config/
	$(GO) test -run '^$$' -fuzz FuzzJSONLine -fuzztime $(LINE_EXECS) -timeout 5m ./internal/telemetry/
	$(GO) test -run '^$$' -fuzz FuzzValidate -fuzztime $(NODESPEC_EXECS) -timeout 5m ./internal/nodespec/

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

# A static binary: no cgo, so no libc (the resolver is Go's own); -trimpath
# keeps build paths out of it.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/rpcgate ./cmd/rpcgate

# Hygiene, run first by `make test`: go.mod and go.sum must be what
# `go mod tidy` makes them, every Go file gofmt-clean, and go vet silent.
# Each check prints what it found and fails.
lint:
	@if ! out="$$($(GO) mod tidy -diff 2>&1)"; then \
		echo "go.mod/go.sum are not tidy (run go mod tidy):"; echo "$$out"; exit 1; fi
	@out="$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))"; \
	if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

hygiene: lint
