# The project's commands. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
GO ?= go
# Packages that must stay pure Go: they build and test with CGO_ENABLED=0 and never import gotch
# (the core math, the loss specs, the box and COCO code). examples/scheduler is built without cgo
# by its test in ./examples.
PURE := $(wildcard stats static dynamic spec detectors/boxes detectors/coco detectors/cocoeval internal/atomicfile internal/strictjson internal/simd)
PURE_PKGS := $(addprefix ./,$(addsuffix /...,$(PURE)))

.PHONY: setup test test-pure race vet lint bench bench-twins soak fuzz

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

# The race detector on the pure-Go packages (their tests include parallel workers merging
# summaries, the documented concurrent use).
race:
ifneq ($(PURE),)
	$(GO) test -race -count=1 $(PURE_PKGS)
endif

test: setup vet test-pure race
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=ci

lint: setup
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "not gofmt-formatted:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...

# Debian's python3-torch for the PyTorch twins of the bench (rows 6 and 7) and
# python3-torchvision (row 7's twin matches anchors with it), installed with apt when
# /usr/bin/python3 cannot import them (as root, or through sudo). Without them those rows say
# "skipped: python3-torch not installed" (or python3-torchvision) and are not met.
bench-twins:
	@if /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then exit 0; fi; \
	sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	echo "installing python3-torch and python3-torchvision (the bench's PyTorch twins)"; \
	$$sudo apt-get install -y python3-torch python3-torchvision || { $$sudo apt-get update && $$sudo apt-get install -y python3-torch python3-torchvision; }

# Go benchmarks (benchstat-comparable), then the quick ratio table of `smoothl1 bench`
# (Markdown on stdout and in runs/bench/bench.md, JSON in runs/bench/bench.json).
bench: setup bench-twins
	$(GO) test -run '^$$' -bench . -benchmem ./...
	mkdir -p runs/bench
	$(GO) run ./cmd/smoothl1 bench --quick --md runs/bench/bench.md --json runs/bench/bench.json

# The main job: setup, then the quick loss ablation into runs/<UTC timestamp>/ (report.md there).
# `smoothl1 ablate --full` runs the whole grid; docs/ablate.md has the options.
.PHONY: ablate
ablate: setup
	$(GO) build -o bin/smoothl1 ./cmd/smoothl1
	./bin/smoothl1 ablate --quick --out runs/$$(date -u +%Y%m%d-%H%M%S)

# The memory soak: 10,000 detector steps (batch 16, the default synthetic data) sampling RSS
# every 50 steps; fails if RSS grows by 50 MiB or more after 1,000 warm-up steps. Results in
# runs/soak-<UTC timestamp>/ (rss.csv, rss.png, soak.json). CI runs a 1,000-step version
# (TestSoakShort in cmd/smoothl1).
soak: setup
	$(GO) build -o bin/smoothl1 ./cmd/smoothl1
	./bin/smoothl1 soak --steps 10000 --warmup 1000 --sample-every 50 --max-growth-mb 50 --out runs/soak-$$(date -u +%Y%m%d-%H%M%S)

# Go native fuzzing, every target in turn (scripts/fuzz.sh). `make fuzz` runs each for
# $(FUZZTIME) of wall-clock time; `make test` runs each for a fixed number of executions
# (FUZZTIME=ci): Go 1.26's fuzz coordinator can fail a target spuriously when a duration runs out
# (go.dev/issue/75804), a count has no deadline. The committed seeds under each package's
# testdata/fuzz/ also run as unit tests; a crasher found here is written there, to keep as a
# regression seed.
FUZZTIME ?= 60s

.PHONY: fuzz
fuzz: setup
	GO=$(GO) bash scripts/fuzz.sh $(FUZZTIME)
