# vkio — GPU work as just another kind of I/O.
#
#   make demo   installs what is missing, then runs the main demo
#   make test   installs what is missing, then runs every check and test
#
# Everything else (build, bench, shaders, lint) is here for development.

SHELL := /bin/bash
GO    ?= go
# The Vulkan loader prints noise without a runtime dir; any writable one will do.
export XDG_RUNTIME_DIR ?= /tmp/vkio-runtime-$(shell id -u)
# Tests run with the Khronos validation layer on; see gpu/ for the gate.
export VKIO_VALIDATION ?= 1

PKGS := ./...

.PHONY: all deps build test test-short bench shaders shaders-check lint demo clean fuzz cross

all: build

deps:
	@bash scripts/deps.sh
	@mkdir -p $(XDG_RUNTIME_DIR) && chmod 700 $(XDG_RUNTIME_DIR)
	@$(GO) mod download

build: deps
	$(GO) build $(PKGS)

lint:
	@out=$$(gofmt -l .); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# The committed SPIR-V must match its GLSL source (checked only where glslc exists).
shaders-check:
	@bash scripts/shaders.sh check

shaders:
	@bash scripts/shaders.sh build

# The cgo-free packages must build on other systems too (vet type-checks
# them and their tests for GOOS; nothing runs): the Io's Blocking and
# Threaded implementations run everywhere, Evented (io_uring) only on Linux.
CROSS_PKGS  ?= ./io/... ./tasks ./tasks/internal/... ./job ./npy
CROSS_GOOS  ?= darwin freebsd windows
cross:
	@set -e; for os in $(CROSS_GOOS); do \
	  echo "GOOS=$$os CGO_ENABLED=0 go vet $(CROSS_PKGS)"; \
	  GOOS=$$os CGO_ENABLED=0 $(GO) vet $(CROSS_PKGS); \
	done

test: deps lint shaders-check cross
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# Every Go fuzz target, FUZZTIME each (make test runs only their seed corpora).
# make fuzz FUZZTIME=5m FUZZPKGS=./gpu/
FUZZTIME ?= 30s
FUZZPKGS ?= ./...
fuzz: deps
	@bash scripts/fuzz.sh $(FUZZTIME) $(FUZZPKGS)

test-short:
	$(GO) test -count=1 -short $(PKGS)

# Go benchmarks of the Io layer, then the GPU workloads beside the C reference.
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./io/...
	@$(MAKE) --no-print-directory bench-gpu

# The pipeline demo end to end: 48 frames of 1024x1024 on the GPU (lavapipe
# without one), PNGs, trace.json and timeline.svg in ./vkdemo-out (under 1 s of
# rendering on 2 cores, plus the build): long enough for the steady state to
# dominate the report (24 frames of 512x512 end in ~0.12 s, mostly ramp-up).
# DEMO_FLAGS adds or overrides vkdemo flags, e.g.
# make demo DEMO_FLAGS="--frames 100 --size 1280x720". No validation layer:
# the tests run with it; the demo shows the speed.
DEMO_DEFAULTS := --size 1024 --frames 48
demo: deps
	$(GO) build -o vkdemo ./cmd/vkdemo
	@VKIO_VALIDATION=0 ./vkdemo pipeline --out vkdemo-out $(DEMO_DEFAULTS) $(DEMO_FLAGS)

clean:
	$(GO) clean -testcache

# --- GPU (issue 4) -----------------------------------------------------------
# bench/cref: the plain C Vulkan reference for the GPU workloads (needs the
# Vulkan headers from libvulkan-dev, installed by scripts/deps.sh).
CREF := bench/cref/cref

.PHONY: cref bench-gpu test-gpu

$(CREF): bench/cref/cref.c
	gcc -O2 -Wall -Wextra -std=c11 -o $@ $< -lvulkan

cref: $(CREF)

# W1/W2 are pinned to one core (taskset -c 0) and alternate vkio and C runs;
# each figure is the median over runs. No validation layer for benchmarks.
bench-gpu: deps $(CREF)
	@$(GO) build -o bench/cref/gpubench ./gpu/internal/gpubench
	@VKIO_VALIDATION=0 bash scripts/bench-gpu.sh bench/cref/gpubench $(CREF)

test-gpu:
	$(GO) test -race -count=1 ./gpu/... ./shaders/...
