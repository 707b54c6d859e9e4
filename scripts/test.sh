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
