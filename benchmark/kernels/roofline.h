// The machine's rooflines for the kernel benchmarks, measured on the shard's thread pool: read
// bandwidth (a streaming read of a buffer far larger than the last-level cache), OpenBLAS sgemm
// peak (square float32 GEMM, OpenBLAS single-threaded in each thread of the pool), and the
// packed-linear kernels' own GEMM rate at a prefill shape.
#pragma once

#include <cstdint>

namespace tgi::bench {

// Best of `repeats` passes over `bytes`, in bytes per second.
double MeasureReadBandwidth(int64_t bytes, int repeats);
// Best of `repeats` n x n x n sgemms through libtorch (OpenBLAS), in FLOP/s.
double MeasureSgemmPeak(int64_t n, int repeats, int threads);
// Best of `repeats` n x n x n bfloat16 matmuls through libtorch (its own CPU path), in FLOP/s.
double MeasureTorchBf16Gemm(int64_t n, int repeats);
// Best of `repeats` packed Linear calls [m, k] x [n, k]^T in FLOP/s; bf16 weights if `bf16`.
double MeasurePackedGemm(int64_t m, int64_t n, int64_t k, bool bf16, int repeats);

}  // namespace tgi::bench
