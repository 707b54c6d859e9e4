// Linear layers on weights packed once for the CPU kernels. A PackedWeight holds W [N, K] as
// panels of 16 output features, in pairs of panels interleaved k-major (float32:
// [pairs][K][2][16]; bfloat16: [pairs][K / 2][2][16][2], k pairs widened by a shift or a mask),
// so one pass streams every weight byte once, one sequential stream per pair, for all M rows of a
// small batch, and the same layout feeds the register-blocked tiles of prefill.
// Linear runs on ATen's thread pool, split over panels; each output element is one thread's
// single accumulation over k in order, so a row's result never depends on M or its companions.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "shard/model/kernels/cpu_features.h"
#include "shard/model/kernels/mapped_buffer.h"

namespace tgi::shard::kernels {

inline constexpr int64_t kPanelWidth = 16;

enum class Epilogue {
  kStore,       // out = x W^T + bias
  kAccumulate,  // out += x W^T + bias (the residual add)
  kSiluMul,     // out = silu(x G^T + bg) * (x U^T + bu), for PackGateUp weights
};

class PackedWeight {
 public:
  // weight: [N, K] float32 or bfloat16 (CPU, any strides); bias: [N] or undefined. Stored as
  // `dtype` (kFloat or kBFloat16; bfloat16 needs an even K).
  static absl::StatusOr<PackedWeight> Pack(const at::Tensor& weight, at::ScalarType dtype,
                                           const at::Tensor& bias = {});
  // gate, up: [I, K]; panels interleaved (gate 0, up 0, gate 1, ...) for Epilogue::kSiluMul,
  // whose output has I columns.
  static absl::StatusOr<PackedWeight> PackGateUp(const at::Tensor& gate, const at::Tensor& up,
                                                 at::ScalarType dtype,
                                                 const at::Tensor& gate_bias = {},
                                                 const at::Tensor& up_bias = {});

  PackedWeight() = default;
  int64_t out_features() const { return gate_up_ ? n_ / 2 : n_; }  // output columns
  int64_t in_features() const { return k_; }
  int64_t panels() const { return panels_; }
  at::ScalarType dtype() const { return dtype_; }
  bool gate_up() const { return gate_up_; }
  bool has_bias() const { return bias_ != nullptr; }
  int64_t bytes() const { return static_cast<int64_t>(buffer_.size()); }
  const void* data() const { return buffer_.data(); }
  const float* bias() const { return bias_.get(); }  // [panels * 16], packed order

  // Row n (< N) of W as float32 [K]: the embedding lookup of a tied lm_head. Not for gate-up.
  void Row(int64_t n, float* out) const;

 private:
  absl::Status Allocate(int64_t n, int64_t k, at::ScalarType dtype, bool gate_up);
  // Copies W's row `row` ([K], float32 or bfloat16 as stored) into panel slot `slot`.
  void PutRow(int64_t slot, const at::Tensor& row);

  int64_t n_ = 0;  // original rows (2 * I for gate-up)
  int64_t k_ = 0;
  int64_t panels_ = 0;  // even: the kernels work on pairs of panels
  at::ScalarType dtype_ = at::kFloat;
  bool gate_up_ = false;
  MappedBuffer buffer_;
  std::shared_ptr<float[]> bias_;
};

// out[i, j] for i < m, j < w.out_features(), by `epilogue`, for x [m, K] float32 (row stride
// ldx) and out rows of stride ldo. Runs on ATen's pool; small problems run on the caller.
void Linear(const float* x, int64_t m, int64_t ldx, const PackedWeight& w, float* out, int64_t ldo,
            Epilogue epilogue, Isa isa = ActiveIsa());

}  // namespace tgi::shard::kernels
