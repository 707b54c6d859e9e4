#include "benchmark/kernels/kernel_probes.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "shard/model/kernels/packed_linear.h"

namespace tgi::bench {
namespace {

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The cold measurement cycles through copies of a weight that together exceed the last-level
// cache, as the decode step's layers do.
constexpr int64_t kColdBytes = int64_t{256} << 20;

}  // namespace

double MeasureTorchBf16Gemm(int64_t n, int repeats) {
  at::Tensor a = at::randn({n, n}).to(at::kBFloat16);
  at::Tensor b = at::randn({n, n}).to(at::kBFloat16);
  at::Tensor c = at::mm(a, b);
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    at::mm_out(c, a, b);
    best = std::max(best, 2.0 * n * n * n / Seconds(start));
  }
  return best;
}

double MeasurePackedGemm(int64_t m, int64_t n, int64_t k, bool bf16, int repeats) {
  at::Tensor w = at::randn({n, k}).mul_(0.02);
  auto packed = *shard::kernels::PackedWeight::Pack(w, bf16 ? at::kBFloat16 : at::kFloat);
  at::Tensor x = at::randn({m, k});
  at::Tensor out = at::empty({m, n});
  double best = 0;
  for (int r = 0; r < repeats + 1; ++r) {
    const auto start = std::chrono::steady_clock::now();
    shard::kernels::Linear(x.data_ptr<float>(), m, k, packed, out.data_ptr<float>(), n,
                           shard::kernels::Epilogue::kStore);
    if (r > 0) best = std::max(best, 2.0 * m * n * k / Seconds(start));
  }
  return best;
}

double MeasureColdPackedGemm(int64_t m, int64_t n, int64_t k, bool bf16, int repeats) {
  const at::ScalarType dtype = bf16 ? at::kBFloat16 : at::kFloat;
  const int64_t bytes = n * k * static_cast<int64_t>(c10::elementSize(dtype));
  const int64_t copies = std::clamp<int64_t>((kColdBytes + bytes - 1) / bytes, 1, 256);
  std::vector<shard::kernels::PackedWeight> weights;
  for (int64_t c = 0; c < copies; ++c) {
    at::Tensor w = at::randn({n, k}).mul_(0.02);
    weights.push_back(*shard::kernels::PackedWeight::Pack(w, dtype));
  }
  at::Tensor x = at::randn({m, k});
  at::Tensor out = at::empty({m, n});
  auto cycle = [&] {
    for (const shard::kernels::PackedWeight& packed : weights) {
      shard::kernels::Linear(x.data_ptr<float>(), m, k, packed, out.data_ptr<float>(), n,
                             shard::kernels::Epilogue::kStore);
    }
  };
  cycle();  // pages touched, pool started
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    cycle();
    best = std::max(best, 2.0 * m * n * k * static_cast<double>(copies) / Seconds(start));
  }
  return best;
}

}  // namespace tgi::bench
