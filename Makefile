# marquee: the front door. `make help` prints this list.
#
#   make deps          install the Debian 12 packages the project needs (scripts/install-deps.sh, root)
#   make build         Release build into build/ (build/bin/marquee-api, -worker, -scheduler, -migrate,
#                      -provider-mock)
#   make test          deps + configure + build + ctest --output-on-failure (all but the cluster test),
#                      ctest last. With CI set (CI=1 make test): build-ci/, RelWithDebInfo, ASan+UBSan,
#                      -Werror. Integration tests start their own PostgreSQL and RabbitMQ under
#                      <build dir>/test-services.
#   make test-build    deps + configure + build of what `make test` runs (its first half)
#   make test-cluster  the whole topology tortured (tests/cluster/): scripts/cluster.sh in
#                      <test dir>/test-cluster from the binaries `make test` built (build-ci/ with CI
#                      set), 5,000 req/s through HAProxy while an API, a worker and a scheduler are
#                      killed, a RabbitMQ node stopped and the PostgreSQL replica restarted; prints
#                      RESULT lines. `make test` leaves it out (ctest label cluster)
#   make run           the whole stack on this machine (scripts/run-local.sh); Ctrl-C stops it, data
#                      stays in .local/ for the next run
#   make cluster       the whole topology, natively, in CLUSTER_DIR (default .local/cluster): HAProxy
#                      over 3 APIs and 3 RabbitMQ nodes, 3 workers, 2 schedulers, PostgreSQL primary +
#                      replica, 4 provider mocks (scripts/cluster.sh); prints its addresses and returns.
#                      `make cluster-stop` stops it, `scripts/cluster.sh status .local/cluster` shows it
#   make fuzz          clang + libFuzzer build in build-fuzz/, runs each build-fuzz/bin/fuzz-NAME for
#                      FUZZ_SECONDS (default 30) on tests/fuzz/corpus-NAME/ (new finds, git-ignored)
#                      seeded from tests/fuzz/corpus/NAME/
#   make bench         bench/run.sh, or else each bench/*/run.sh
#   make format        clang-format -i on our C++ sources
#   make format-check  fail when a C++ source is not formatted
#   make shellcheck    shellcheck on every shell script git knows (*.sh or a sh/bash shebang), failing
#                      on any finding (scripts/shellcheck.sh)
#   make tidy          clang-tidy (.clang-tidy) over our sources in core, adapters, api, worker,
#                      scheduler and tools, in parallel, failing on any finding; compile commands from
#                      build-tidy/ (clang, configured only: nothing is compiled)
#   make test-tsan     ThreadSanitizer build in build-tsan/, then the unit tests and the concurrent
#                      integration tests; any TSan report fails (scripts/test-tsan.sh)
#   make clean         stop test services and clusters left in build dirs, remove build/, build-ci/,
#                      build-fuzz/, build-tsan/, build-tidy/ (keeps .local/)
#
# Variables: JOBS (parallel compile jobs, default: number of CPUs), FUZZ_SECONDS, CI, CLUSTER_DIR.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 30
CMAKE_GENERATOR := -G Ninja

BUILD_DIR := build
ifdef CI
TEST_DIR := build-ci
TEST_FLAGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMARQUEE_SANITIZE=ON -DMARQUEE_WERROR=ON
else
TEST_DIR := $(BUILD_DIR)
TEST_FLAGS := -DCMAKE_BUILD_TYPE=Release
endif
FUZZ_DIR := build-fuzz
TSAN_DIR := build-tsan
TIDY_DIR := build-tidy
CLUSTER_DIR ?= .local/cluster

# Our C++ sources (build directories and .local/ excluded).
SOURCE_DIRS := core adapters api worker scheduler tools tests bench
SOURCES = $(shell find $(SOURCE_DIRS) -type f \( -name '*.cpp' -o -name '*.hpp' \) 2>/dev/null | sort)
# What clang-tidy reads: the libraries and executables. tests/ and bench/ are left out: gtest and
# Google Benchmark macros expand to code the checks flag in every test (bugprone-* on generated
# fixtures), and they would double the run on CI's budget.
TIDY_PATHS := ^$(CURDIR)/(core|adapters|api|worker|scheduler|tools)/

.PHONY: help deps build test-build test test-cluster test-tsan run cluster cluster-stop fuzz bench format format-check \
  shellcheck tidy clean

help:
	@sed -n '1,/^$$/p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_GENERATOR) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD_DIR) -j $(JOBS)

# What `make test` runs its tests from, built (.ci/run builds first, then starts the image build).
test-build: deps
	cmake -S . -B $(TEST_DIR) $(CMAKE_GENERATOR) $(TEST_FLAGS)
	cmake --build $(TEST_DIR) -j $(JOBS)

# ctest stays the last command so that its summary is the last line of output.
test: test-build
	cd $(TEST_DIR) && ctest --output-on-failure -LE cluster

# Configure and build are no-ops after `make test`: the cluster runs the binaries it built.
# Verbose, so that the RESULT lines (the figures) show when it passes too.
test-cluster: deps
	cmake -S . -B $(TEST_DIR) $(CMAKE_GENERATOR) $(TEST_FLAGS)
	cmake --build $(TEST_DIR) -j $(JOBS)
	cd $(TEST_DIR) && ctest --verbose -L cluster

test-tsan: deps
	@TSAN_DIR=$(TSAN_DIR) JOBS=$(JOBS) scripts/test-tsan.sh

run:
	@scripts/run-local.sh

cluster: build
	@BIN_DIR=$(BUILD_DIR)/bin scripts/cluster.sh start $(CLUSTER_DIR)
	@echo "Try: curl -s \"$$(sed -n 's/^SEARCH_URL=//p' $(CLUSTER_DIR)/env)?starts_at=2027-03-01T00:00:00Z&ends_at=2027-03-01T23:59:59Z\""
	@echo "Stop: make cluster-stop"

cluster-stop:
	@scripts/cluster.sh stop $(CLUSTER_DIR)

fuzz: deps
	cmake -S . -B $(FUZZ_DIR) $(CMAKE_GENERATOR) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMARQUEE_FUZZ=ON -DMARQUEE_SANITIZE=ON -DMARQUEE_BENCH=OFF
	targets=$$(ninja -C $(FUZZ_DIR) -t targets all | sed -n 's/^\(fuzz-[A-Za-z0-9_.-]*\): phony$$/\1/p'); \
	if [[ -z $$targets ]]; then echo "fuzz: no fuzz-* targets defined (tests/fuzz/CMakeLists.txt)"; exit 0; fi; \
	ninja -C $(FUZZ_DIR) -j $(JOBS) $$targets; \
	for fuzzer in $(FUZZ_DIR)/bin/fuzz-*; do \
	  name=$$(basename $$fuzzer); corpus=tests/fuzz/corpus-$${name#fuzz-}; mkdir -p $$corpus; \
	  seeds=(); if [[ -d tests/fuzz/corpus/$${name#fuzz-} ]]; then seeds=(tests/fuzz/corpus/$${name#fuzz-}); fi; \
	  echo "fuzz: $$name for $(FUZZ_SECONDS)s (corpus $$corpus)"; \
	  $$fuzzer -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$corpus "$${seeds[@]}"; \
	done

bench:
	@if [[ -f bench/run.sh ]]; then exec bash bench/run.sh; fi; \
	scripts=(bench/*/run.sh); \
	if [[ ! -f $${scripts[0]} ]]; then echo "bench: no bench/run.sh or bench/*/run.sh yet"; exit 0; fi; \
	for script in "$${scripts[@]}"; do echo "bench: $$script"; bash $$script; done

format:
	clang-format -i $(SOURCES)

format-check:
	clang-format --dry-run --Werror $(SOURCES)

shellcheck:
	@scripts/shellcheck.sh

# Configured only: compile_commands.json is all clang-tidy needs (no generated header is read).
tidy: deps
	cmake -S . -B $(TIDY_DIR) $(CMAKE_GENERATOR) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_BUILD_TYPE=Debug -DMARQUEE_TESTS=OFF -DMARQUEE_BENCH=OFF >/dev/null
	run-clang-tidy -p $(TIDY_DIR) -j $(JOBS) -quiet -header-filter='$(TIDY_PATHS)' '$(TIDY_PATHS)'

clean:
	@for dir in $(BUILD_DIR) build-ci $(FUZZ_DIR) $(TSAN_DIR); do \
	  if [[ -d $$dir/test-cluster ]]; then scripts/cluster.sh clean $$dir/test-cluster; fi; \
	  if [[ -d $$dir/test-services ]]; then scripts/services.sh stop $$dir/test-services; fi; \
	done
	rm -rf $(BUILD_DIR) build-ci $(FUZZ_DIR) $(TSAN_DIR) $(TIDY_DIR)
