// Speeds of the shard's own kernels for tgi-kernel-bench, next to the machine's rooflines (those
// come from benchmark/roofline): the packed-linear kernels' GEMM rate at a prefill shape and
// libtorch's bfloat16 matmul, both on the shard's thread pool.
#pragma once

#include <cstdint>

namespace tgi::bench {

// Best of `repeats` n x n x n bfloat16 matmuls through libtorch (its own CPU path), in FLOP/s.
double MeasureTorchBf16Gemm(int64_t n, int repeats);
// Best of `repeats` packed Linear calls [m, k] x [n, k]^T in FLOP/s; bf16 weights if `bf16`.
double MeasurePackedGemm(int64_t m, int64_t n, int64_t k, bool bf16, int repeats);
// The same with every call on weights that are not in any cache (a cycle through copies that
// exceed the last-level cache, one call each, as a decode step reads its layers): best of
// `repeats` cycles, in FLOP/s.
double MeasureColdPackedGemm(int64_t m, int64_t n, int64_t k, bool bf16, int repeats);

}  // namespace tgi::bench
