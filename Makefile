# The project's commands. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
GO ?= go
# Packages that must stay pure Go: they build and test with CGO_ENABLED=0 and never import gotch.
PURE := $(wildcard stats static dynamic)
PURE_PKGS := $(addprefix ./,$(addsuffix /...,$(PURE)))

.PHONY: setup test test-pure vet lint bench

# Installs libtorch when missing and prepares gotch for it (idempotent; seconds when done).
setup:
	bash scripts/setup.sh

vet: setup
	$(GO) vet ./...

# The pure-Go packages without cgo, then everything.
test-pure:
ifneq ($(PURE),)
	CGO_ENABLED=0 $(GO) build $(PURE_PKGS)
	CGO_ENABLED=0 $(GO) test -count=1 $(PURE_PKGS)
endif

test: setup vet test-pure
	$(GO) test -count=1 -timeout 20m ./...

lint: setup
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "not gofmt-formatted:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...

# Go benchmarks (benchstat-comparable), then the quick ratio table of `smoothl1 bench`
# (Markdown on stdout and in runs/bench/bench.md, JSON in runs/bench/bench.json).
bench: setup
	$(GO) test -run '^$$' -bench . -benchmem ./...
	mkdir -p runs/bench
	$(GO) run ./cmd/smoothl1 bench --quick --md runs/bench/bench.md --json runs/bench/bench.json

# The main job: setup, then the quick loss ablation into runs/<UTC timestamp>/ (report.md there).
# `smoothl1 ablate --full` runs the whole grid; docs/ablate.md has the options.
.PHONY: ablate
ablate: setup
	$(GO) build -o bin/smoothl1 ./cmd/smoothl1
	./bin/smoothl1 ablate --quick --out runs/$$(date -u +%Y%m%d-%H%M%S)
