# The two commands of the README:
#   make run    build and start shopflow on embedded defaults (no broker, no database server)
#   make test   build and run every test (starts a local RabbitMQ for the integration tests),
#               then a short run of every fuzz target (make fuzz)
# And for CI (.ci/run) or by hand:
#   make test-asan   the suite again, built with AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz        the libFuzzer targets (clang), FUZZ_SECONDS each over their seed corpus
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= 2
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 20
# Labels the sanitized run covers: all of them (ASAN_LABELS='unit|e2e' for a quicker pass).
ASAN_LABELS ?= unit|e2e|integration|deploy|browser
# Leaks, every ASan error and every UBSan finding fail the test (the build also has
# -fno-sanitize-recover=all); same as the asan test preset of CMakePresets.json.
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:strict_init_order=1:check_initialization_order=1 \
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: run test build deps test-deps clean test-asan fuzz

deps:
	@scripts/deps

test-deps:
	@scripts/deps --test

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/src/app/shopflow serve

test: test-deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)
	scripts/broker start
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory fuzz

# The asan preset of CMakePresets.json (g++, -O1 -g, assertions on), in its own tree.
$(ASAN_BUILD)/build.ninja:
	cmake --preset asan -B $(ASAN_BUILD) $(CMAKE_FLAGS)

test-asan: test-deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	scripts/broker start
	$(SANITIZER_ENV) ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) -L '$(ASAN_LABELS)'

# The fuzz preset (clang); only the fuzz targets and the libraries they drive are built.
$(FUZZ_BUILD)/build.ninja:
	cmake --preset fuzz -B $(FUZZ_BUILD) $(CMAKE_FLAGS)

fuzz: test-deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target shopflow_fuzzers
	SHOPFLOW_FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --test-dir $(FUZZ_BUILD) --output-on-failure \
	  -j $(JOBS) -L fuzz || \
	  { echo "make fuzz: a fuzz target failed; the input is in $(FUZZ_BUILD)/fuzz/work/<target>/" >&2; exit 1; }

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
