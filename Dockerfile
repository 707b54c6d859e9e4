# tgi-cpp: a drop-in replacement for Hugging Face Text Generation Inference, CPU image on Debian
# bookworm. The build stage installs the Debian build dependencies (scripts/install-deps.sh) and
# builds with CMake/Ninja; the runtime stage holds the three binaries in /usr/local/bin, the
# bundled stories260K model in /usr/local/share/tgi-cpp/models and only runtime libraries.
#
#   docker build -t tgi-cpp .
#   docker run -p 8080:80 -v $PWD/data:/data tgi-cpp --model-id /data/my-model
#   docker run -p 8080:80 -v $PWD/data:/data tgi-cpp --model-id org/name   # downloaded into /data
#   docker run -p 8080:80 tgi-cpp                                          # the bundled model
#
# CUDA variant: build the shard against a CUDA libtorch instead of Debian's CPU libtorch 1.13.
#   docker build --build-arg LIBTORCH_URL=https://download.pytorch.org/libtorch/cu121/libtorch-cxx11-abi-shared-with-deps-2.1.2%2Bcu121.zip \
#                --build-arg TORCH_RUNTIME_PACKAGES= -t tgi-cpp:cuda .
#   docker run --gpus all -p 8080:80 -v $PWD/data:/data tgi-cpp:cuda --model-id /data/my-model
# LIBTORCH_URL is a libtorch zip (cxx11 ABI, "shared-with-deps": it carries the CUDA runtime
# libraries); it is unpacked to /opt/libtorch and passed to CMake as -DCMAKE_PREFIX_PATH. A
# libtorch already in the build context can be given instead with TORCH_DIR (its path inside the
# build stage, e.g. /src/third_party/libtorch). Its lib/ directory is copied to /opt/libtorch/lib
# in the runtime image, which LD_LIBRARY_PATH puts first. TORCH_RUNTIME_PACKAGES= leaves Debian's
# CPU libtorch out of the runtime image; the GPU driver comes from the NVIDIA container toolkit.

ARG DEBIAN_IMAGE=debian:bookworm

FROM ${DEBIAN_IMAGE} AS build
ARG LIBTORCH_URL=""
ARG TORCH_DIR=""
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN ./scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN set -eux; \
    torch_dir="${TORCH_DIR}"; \
    if [ -n "${LIBTORCH_URL}" ]; then \
      python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], "/tmp/libtorch.zip")' "${LIBTORCH_URL}"; \
      python3 -m zipfile -e /tmp/libtorch.zip /opt; \
      rm /tmp/libtorch.zip; \
      torch_dir=/opt/libtorch; \
    fi; \
    prefix=""; \
    if [ -n "${torch_dir}" ]; then prefix="-DCMAKE_PREFIX_PATH=${torch_dir}"; fi; \
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTGI_BUILD_TESTS=OFF ${prefix}; \
    cmake --build build --target text-generation-launcher text-generation-router text-generation-shard; \
    mkdir -p /opt/tgi/bin /opt/tgi/share/tgi-cpp/models /opt/torch-runtime; \
    cp build/launcher/text-generation-launcher build/router/text-generation-router \
       build/shard/text-generation-shard /opt/tgi/bin/; \
    cp -r models/stories260K /opt/tgi/share/tgi-cpp/models/; \
    if [ -n "${torch_dir}" ]; then cp -a "${torch_dir}/lib/." /opt/torch-runtime/; fi

FROM ${DEBIAN_IMAGE} AS runtime
# Debian's CPU libtorch and what it needs at run time; empty for the CUDA variant.
ARG TORCH_RUNTIME_PACKAGES="libtorch1.13 libgloo0 libopenblas0-pthread"
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libssl3 \
      libgrpc++1.51 libprotobuf32 libabsl20220623 \
      libboost-json1.81.0 libspdlog1.10 libfmt9 libpcre2-8-0 libutf8proc2 \
      libprometheus-cpp-core1.0 \
      ${TORCH_RUNTIME_PACKAGES} \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/tgi/bin/ /usr/local/bin/
COPY --from=build /opt/tgi/share/ /usr/local/share/
COPY --from=build /opt/torch-runtime/ /opt/libtorch/lib/
ENV LD_LIBRARY_PATH=/opt/libtorch/lib
# Every binary's shared libraries resolve (a missing runtime package fails the build here).
RUN set -e; for binary in /usr/local/bin/text-generation-*; do \
      if ldd "${binary}" | grep "not found"; then exit 1; fi; \
    done

ENV PORT=80 HUGGINGFACE_HUB_CACHE=/data
VOLUME /data
EXPOSE 80
ENTRYPOINT ["text-generation-launcher"]
