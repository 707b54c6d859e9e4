// The portable tiles of packed_linear: plain loops over one panel pair and up to four rows, the
// same layout and accumulation order per output as the AVX-512 tiles. Compiled for the baseline
// ISA and cloned for AVX2 (chosen at load time by the dynamic linker's ifunc).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "shard/model/kernels/bf16.h"
#include "shard/model/kernels/linear_internal.h"

namespace tgi::shard::kernels::internal {
namespace {

constexpr int kMaxRows = 4;

#if defined(__x86_64__) && defined(__ELF__)
#define TGI_GENERIC_CLONES __attribute__((target_clones("default", "avx2")))
#else
#define TGI_GENERIC_CLONES
#endif

void Store(const LinearArgs& a, int64_t pair, int64_t m0, int rows,
           const float (&acc)[kMaxRows][32]) {
  const float* bias = a.bias == nullptr ? nullptr : a.bias + pair * 32;
  for (int m = 0; m < rows; ++m) {
    float* out = a.out + (m0 + m) * a.ldo;
    if (a.epilogue == Epilogue::kSiluMul) {
      for (int j = 0; j < 16 && pair * 16 + j < a.n_out; ++j) {
        const float gate = acc[m][j] + (bias ? bias[j] : 0.0f);
        const float up = acc[m][16 + j] + (bias ? bias[16 + j] : 0.0f);
        out[pair * 16 + j] = gate / (1.0f + std::exp(-gate)) * up;
      }
      continue;
    }
    for (int j = 0; j < 32 && pair * 32 + j < a.n_out; ++j) {
      const float value = acc[m][j] + (bias ? bias[j] : 0.0f);
      float& target = out[pair * 32 + j];
      target = a.epilogue == Epilogue::kAccumulate ? target + value : value;
    }
  }
}

TGI_GENERIC_CLONES void PairTile(const LinearArgs& a, int64_t pair, int64_t m0, int rows) {
  float acc[kMaxRows][32] = {};
  float weights[32];
  const int64_t k_size = a.k;
  for (int64_t k = 0; k < k_size; ++k) {
    if (a.bf16_weights) {
      const uint16_t* w = static_cast<const uint16_t*>(a.w) + pair * 32 * k_size;
      const int64_t even = k - k % 2;
      for (int j = 0; j < 16; ++j) {
        weights[j] = Bf16ToFloat(w[Bf16PanelOffset(k_size, 0, even) + 2 * j + k % 2]);
        weights[16 + j] = Bf16ToFloat(w[Bf16PanelOffset(k_size, 1, even) + 2 * j + k % 2]);
      }
    } else {
      const float* w = static_cast<const float*>(a.w) + pair * 32 * k_size;
      for (int j = 0; j < 16; ++j) {
        weights[j] = w[F32PanelOffset(k_size, 0, k) + j];
        weights[16 + j] = w[F32PanelOffset(k_size, 1, k) + j];
      }
    }
    for (int m = 0; m < rows; ++m) {
      const float xv = a.x[(m0 + m) * a.ldx + k];
      for (int j = 0; j < 32; ++j) acc[m][j] += xv * weights[j];
    }
  }
  Store(a, pair, m0, rows, acc);
}

}  // namespace

void LinearPairsGeneric(const LinearArgs& args, PairQueue& pairs) {
  int64_t first = 0;
  int64_t last = 0;
  while (pairs.Next(first, last)) {
    for (int64_t pair = first; pair < last; ++pair) {
      for (int64_t m0 = 0; m0 < args.m; m0 += kMaxRows) {
        PairTile(args, pair, m0, static_cast<int>(std::min<int64_t>(kMaxRows, args.m - m0)));
      }
    }
  }
}

}  // namespace tgi::shard::kernels::internal
