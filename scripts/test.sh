#!/usr/bin/env bash
# The one test command: installs what the project needs (Debian packages), builds everything and
# runs every test. Exits non-zero on any failure. Used by .ci/run and by the README.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

./scripts/install-deps.sh

echo "== configure (${BUILD_DIR})"
cmake -S . -B "${BUILD_DIR}" -G Ninja -DCMAKE_BUILD_TYPE=Release
echo "== build"
cmake --build "${BUILD_DIR}" -j "${JOBS}"
echo "== unit tests"
ctest --test-dir "${BUILD_DIR}" -j "${JOBS}" --output-on-failure

# The router, launcher and common code again under AddressSanitizer and UndefinedBehaviorSanitizer
# (libtorch is not instrumented, so the shard is not rebuilt: the router's tests that need a real
# shard use the one built above). Any report fails the run. -O1 with line tables only, as the
# sanitizers' documentation advises: the reports keep their file:line frames and the build takes
# half the time of -O2 -g. The benchmark, which serves no client, is left out of this build.
ASAN_DIR=${ASAN_BUILD_DIR:-build-asan}
echo "== configure (${ASAN_DIR}: ASan + UBSan, without the shard)"
cmake -S . -B "${ASAN_DIR}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -DTGI_BUILD_SHARD=OFF -DTGI_BUILD_BENCHMARK=OFF \
  "-DTGI_EXTERNAL_SHARD_BIN=$(pwd)/${BUILD_DIR}/shard/text-generation-shard" \
  "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
echo "== build (${ASAN_DIR})"
cmake --build "${ASAN_DIR}" -j "${JOBS}"
echo "== tests under sanitizers"
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  ctest --test-dir "${ASAN_DIR}" -j "${JOBS}" --output-on-failure
