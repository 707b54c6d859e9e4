// Internal to packed_linear: the per-ISA loops over panel pairs. Each computes, for all m rows, the
// outputs of the panel pairs of a PackedWeight that it takes from a PairQueue.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "shard/model/kernels/packed_linear.h"

namespace tgi::shard::kernels::internal {

// Where panel j's 16 lanes at k sit, in elements from the start of a tile's first pair: a pair's
// two panels are interleaved per k (float32: [K][2][16]; bfloat16, k even: [K / 2][2][16][2]),
// so that one pair is one sequential stream. j counts panels from the tile's first pair.
constexpr int64_t F32PanelOffset(int64_t k_size, int64_t j, int64_t k) {
  return (j / 2) * 32 * k_size + k * 32 + (j % 2) * 16;
}
constexpr int64_t Bf16PanelOffset(int64_t k_size, int64_t j, int64_t k) {
  return (j / 2) * 32 * k_size + k * 32 + (j % 2) * 32;
}

struct LinearArgs {
  const float* x;  // [m, K] float32, row stride ldx
  int64_t m;
  int64_t ldx;
  int64_t k;
  const void* w;      // the packed panels
  const float* bias;  // packed bias or null
  int64_t n_out;      // valid output columns
  float* out;
  int64_t ldo;
  Epilogue epilogue;
  bool bf16_weights;
  // Set by the bfloat16 path of many rows: the current pair, widened to a float32 pair
  // ([K][2][16]), which the float32 tiles read instead of w.
  const float* widened_pair = nullptr;
  // Set by the AVX-512 loops: x copied k-major per row tile (a tile of R rows at m0 is
  // [K][R] at x_packed + m0 * K).
  const float* x_packed = nullptr;
};

// The panel pairs of one Linear call, handed out in chunks to whichever thread asks next: a thread
// the machine slows down takes fewer chunks instead of holding the others at the barrier that
// ends the call. Which thread computes a pair changes nothing in its outputs.
class PairQueue {
 public:
  PairQueue(int64_t first, int64_t last, int64_t chunk) : next_(first), last_(last), chunk_(chunk) {}
  // The next chunk [first, last); false when none is left. Thread-safe.
  bool Next(int64_t& first, int64_t& last) {
    first = next_.fetch_add(chunk_, std::memory_order_relaxed);
    if (first >= last_) return false;
    last = first + chunk_ < last_ ? first + chunk_ : last_;
    return true;
  }

 private:
  std::atomic<int64_t> next_;
  int64_t last_;
  int64_t chunk_;
};

// A grow-only, 64-byte aligned float buffer of this thread for one use (the float32 tiles use
// aligned loads): 0 a widened bfloat16 pair, 1 the k-major copy of x, 2 partial sums.
enum class Scratch { kWidenedPair = 0, kPackedRows = 1, kPartialSums = 2 };
float* ThreadBuffer(Scratch which, size_t floats);

// Each computes the pairs it takes from `pairs` until none is left.
void LinearPairsAvx512(const LinearArgs& args, PairQueue& pairs);
void LinearPairsAvx2(const LinearArgs& args, PairQueue& pairs);
void LinearPairsGeneric(const LinearArgs& args, PairQueue& pairs);

}  // namespace tgi::shard::kernels::internal
