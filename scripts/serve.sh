#!/usr/bin/env bash
# The one serve command: installs what the project needs (Debian packages), builds, and serves the
# bundled model (models/stories260K) with text-generation-launcher on port 8080. Extra arguments
# go to the launcher, e.g. `./scripts/serve.sh --model-id /path/to/model`; PORT changes the port.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}

./scripts/install-deps.sh
cmake -S . -B "${BUILD_DIR}" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTGI_BUILD_TESTS=OFF
cmake --build "${BUILD_DIR}" -j "$(nproc)" --target text-generation-launcher \
  text-generation-router text-generation-shard
PORT=${PORT:-8080} exec "${BUILD_DIR}/launcher/text-generation-launcher" "$@"
