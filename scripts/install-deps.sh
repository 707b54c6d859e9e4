#!/usr/bin/env bash
# Installs every Debian package tgi-cpp needs to build, test and serve.
# Idempotent: packages already present are skipped; apt-get update runs at most once.
# Works as root or through sudo.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  # gRPC 1.51 + protobuf 3.21 (protoc and the gRPC C++ plugin: gRPC's CMake config needs it)
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libabsl-dev
  # Boost 1.81 (Asio, Beast, JSON); never libboost-all-dev, which is 1.74 and removes 1.81
  libboost1.81-dev libboost-json1.81-dev
  # libtorch 1.13 (CPU) with Gloo and an optimised BLAS
  libtorch-dev libgloo-dev libopenblas0-pthread libopenblas-pthread-dev
  # text, CLI, logging, metrics
  libpcre2-dev libutf8proc-dev libcli11-dev libspdlog-dev libfmt-dev prometheus-cpp-dev
  # the launcher's hub downloads over HTTPS (Boost.Asio SSL on OpenSSL)
  libssl-dev
  # text-generation-benchmark --plot draws its PNGs with gnuplot
  gnuplot-nox
  # tests: GoogleTest, the sentencepiece reference, Python test clients
  libgtest-dev libgmock-dev libsentencepiece-dev
  # tests: promtool and a real Prometheus server scraping /metrics
  prometheus
  python3 python3-pytest python3-requests python3-numpy python3-grpcio python3-protobuf
  python3-sentencepiece
)

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-deps: must run as root or with sudo available" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
