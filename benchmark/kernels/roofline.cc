#include "benchmark/kernels/roofline.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "shard/model/kernels/mapped_buffer.h"
#include "shard/model/kernels/packed_linear.h"

namespace tgi::bench {
namespace {

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

__attribute__((target("avx512f"))) float SumAvx512(const float* data, int64_t n) {
  __m512 a = _mm512_setzero_ps(), b = a, c = a, d = a;
  for (int64_t i = 0; i + 64 <= n; i += 64) {
    a = _mm512_add_ps(a, _mm512_load_ps(data + i));
    b = _mm512_add_ps(b, _mm512_load_ps(data + i + 16));
    c = _mm512_add_ps(c, _mm512_load_ps(data + i + 32));
    d = _mm512_add_ps(d, _mm512_load_ps(data + i + 48));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d)));
}

float SumPortable(const float* data, int64_t n) {
  float s[8] = {};
  for (int64_t i = 0; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) s[j] += data[i + j];
  }
  return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

}  // namespace

double MeasureReadBandwidth(int64_t bytes, int repeats) {
  auto buffer = *shard::kernels::MappedBuffer::Allocate(
      static_cast<size_t>(bytes), shard::kernels::MappedBuffer::Kind::kWeights);
  auto* data = static_cast<float*>(buffer.data());
  const int64_t n = bytes / 4;
  at::parallel_for(0, n, 1 << 20, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) data[i] = 1.0f;
  });
  const bool avx512 = __builtin_cpu_supports("avx512f");
  double best = 0;
  volatile float sink = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    const int64_t threads = at::get_num_threads();
    std::vector<float> partial(threads, 0.0f);
    at::parallel_for(0, threads, 1, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t chunk = (n / threads) & ~int64_t{63};
        const float* p = data + t * chunk;
        partial[t] = avx512 ? SumAvx512(p, chunk) : SumPortable(p, chunk);
      }
    });
    const double seconds = Seconds(start);
    for (float v : partial) sink = sink + v;
    best = std::max(best, static_cast<double>(bytes) / seconds);
  }
  return best;
}

double MeasureSgemmPeak(int64_t n, int repeats, int threads) {
  // OpenBLAS single-threaded inside each thread of the one pool, each thread its share of the
  // output columns: the same peak as OpenBLAS's own threading, without a second pool spinning
  // against ATen's (which costs the pthread build half its speed here).
  at::Tensor a = at::randn({n, n});
  at::Tensor b = at::randn({n, n});
  at::Tensor c = at::empty({n, n});
  auto run = [&] {
    at::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t width = n / threads;
        at::Tensor out = c.narrow(1, t * width, width);
        at::mm_out(out, a, b.narrow(1, t * width, width));
      }
    });
  };
  run();
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    run();
    best = std::max(best, 2.0 * n * n * n / Seconds(start));
  }
  return best;
}

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

}  // namespace tgi::bench
