# rpcgate developer targets. `make test` is what CI runs (.ci/run).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c

GO ?= go

.PHONY: test unit e2e fuzz bench build image lint hygiene anvil promtool

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
LISTENER_EXECS ?= 100000x
ENGINE_EXECS ?= 20000x
PIPELINE_EXECS ?= 20000x
SNAPSHOT_EXECS ?= 50000x
CANON_EXECS ?= 200000x
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(DECODE_EXECS) -timeout 5m ./internal/jsonrpc/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(PARSE_EXECS) -timeout 5m ./internal/config/
	$(GO) test -run '^$$' -fuzz FuzzJSONLine -fuzztime $(LINE_EXECS) -timeout 5m ./internal/telemetry/
	$(GO) test -run '^$$' -fuzz FuzzValidate -fuzztime $(NODESPEC_EXECS) -timeout 5m ./internal/nodespec/
	$(GO) test -run '^$$' -fuzz FuzzListener -fuzztime $(LISTENER_EXECS) -timeout 5m ./internal/frontend/
	$(GO) test -run '^$$' -fuzz FuzzPartAnswer -fuzztime $(ENGINE_EXECS) -timeout 5m ./internal/execute/
	$(GO) test -run '^$$' -fuzz FuzzRelay -fuzztime $(PIPELINE_EXECS) -timeout 5m ./internal/pipeline/
	$(GO) test -run '^$$' -fuzz FuzzOpenManifest -fuzztime $(SNAPSHOT_EXECS) -timeout 5m ./internal/snapshot/
	$(GO) test -run '^$$' -fuzz FuzzManifestValidate -fuzztime $(SNAPSHOT_EXECS) -timeout 5m ./internal/snapshot/
	$(GO) test -run '^$$' -fuzz FuzzParseLatest -fuzztime $(SNAPSHOT_EXECS) -timeout 5m ./internal/snapshot/
	$(GO) test -run '^$$' -fuzz FuzzCanonical -fuzztime $(CANON_EXECS) -timeout 5m ./internal/consensus/

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
# Build info (rpcgate version, rpcgate_build_info) comes from git; the date is
# the commit's, not the clock's, so the same commit builds the same binary.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell git log -1 --format=%cI 2>/dev/null || echo unknown)
BUILDINFO := github.com/rpcgate/rpcgate/internal/buildinfo
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X $(BUILDINFO).Version=$(VERSION) \
		-X $(BUILDINFO).Commit=$(COMMIT) -X $(BUILDINFO).Date=$(DATE)" -o bin/rpcgate ./cmd/rpcgate

# The container image (Dockerfile); needs docker or podman and the network.
IMAGE ?= rpcgate:$(VERSION)
image:
	$${CONTAINER_TOOL:-docker} build -t $(IMAGE) --build-arg VERSION=$(VERSION) \
		--build-arg COMMIT=$(COMMIT) --build-arg DATE=$(DATE) .

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
