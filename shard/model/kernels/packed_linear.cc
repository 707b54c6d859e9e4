#include "shard/model/kernels/packed_linear.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <new>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "shard/model/kernels/bf16.h"
#include "shard/model/kernels/linear_internal.h"

namespace tgi::shard::kernels {
namespace {

// Below this many multiply-adds a Linear runs on the calling thread: waking the pool costs more.
constexpr int64_t kSerialMacs = 1 << 16;
// A Linear's pairs go out in about this many chunks per thread (see internal::PairQueue).
constexpr int64_t kChunksPerThread = 8;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

namespace internal {

float* ThreadBuffer(Scratch which, size_t floats) {
  struct Buffer {
    float* data = nullptr;
    size_t size = 0;
    ~Buffer() { ::operator delete (data, std::align_val_t{64}); }
  };
  thread_local Buffer buffers[3];
  Buffer& buffer = buffers[static_cast<int>(which)];
  if (buffer.size < floats) {
    ::operator delete (buffer.data, std::align_val_t{64});
    buffer.data =
        static_cast<float*>(::operator new (floats * sizeof(float), std::align_val_t{64}));
    buffer.size = floats;
  }
  return buffer.data;
}

}  // namespace internal

absl::Status PackedWeight::Allocate(int64_t n, int64_t k, at::ScalarType dtype, bool gate_up) {
  if (dtype != at::kFloat && dtype != at::kBFloat16) {
    return absl::InvalidArgumentError(
        absl::StrCat("packed weights are float32 or bfloat16, not ", c10::toString(dtype)));
  }
  if (n <= 0 || k <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot pack a [", n, ", ", k, "] weight"));
  }
  if (dtype == at::kBFloat16 && k % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a bfloat16 packed weight needs an even input size, not ", k));
  }
  n_ = n;
  k_ = k;
  dtype_ = dtype;
  gate_up_ = gate_up;
  panels_ = gate_up ? 2 * CeilDiv(n / 2, kPanelWidth) : 2 * CeilDiv(n, 2 * kPanelWidth);
  const size_t bytes = static_cast<size_t>(panels_ * kPanelWidth * k) * c10::elementSize(dtype);
  absl::StatusOr<MappedBuffer> buffer = MappedBuffer::Allocate(bytes, MappedBuffer::Kind::kWeights);
  if (!buffer.ok()) return buffer.status();
  buffer_ = std::move(*buffer);
  return absl::OkStatus();
}

absl::StatusOr<PackedWeight> PackedWeight::Pack(const at::Tensor& weight, at::ScalarType dtype,
                                                const at::Tensor& bias) {
  if (!weight.defined() || weight.dim() != 2 || !weight.device().is_cpu()) {
    return absl::InvalidArgumentError("Pack: the weight must be a 2-D CPU tensor");
  }
  PackedWeight packed;
  if (absl::Status s = packed.Allocate(weight.size(0), weight.size(1), dtype, false); !s.ok()) {
    return s;
  }
  try {
    const at::Tensor source = weight.to(dtype).contiguous();  // [N, K]
    at::parallel_for(0, packed.n_, 64, [&](int64_t begin, int64_t end) {
      for (int64_t n = begin; n < end; ++n) packed.PutRow(n, source[n]);
    });
    if (bias.defined()) {
      packed.bias_ = std::shared_ptr<float[]>(new float[packed.panels_ * kPanelWidth]());
      const at::Tensor b = bias.to(at::kFloat).contiguous();  // [N]
      std::memcpy(packed.bias_.get(), b.data_ptr<float>(), sizeof(float) * packed.n_);
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("cannot pack a weight: ", e.what()));
  }
  return packed;
}

absl::StatusOr<PackedWeight> PackedWeight::PackGateUp(const at::Tensor& gate, const at::Tensor& up,
                                                      at::ScalarType dtype,
                                                      const at::Tensor& gate_bias,
                                                      const at::Tensor& up_bias) {
  if (!gate.defined() || !up.defined() || gate.dim() != 2 || gate.sizes() != up.sizes()) {
    return absl::InvalidArgumentError("PackGateUp: gate and up must be [I, K] of one shape");
  }
  const int64_t intermediate = gate.size(0);
  PackedWeight packed;
  if (absl::Status s = packed.Allocate(2 * intermediate, gate.size(1), dtype, true); !s.ok()) {
    return s;
  }
  // Gate row i goes to panel 2 (i / 16), up row i to the panel after it, both at lane i % 16.
  auto slot = [](int64_t i, int64_t which) {
    return (2 * (i / kPanelWidth) + which) * kPanelWidth + i % kPanelWidth;
  };
  try {
    const at::Tensor g = gate.to(dtype).contiguous();  // [I, K]
    const at::Tensor u = up.to(dtype).contiguous();    // [I, K]
    at::parallel_for(0, intermediate, 64, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        packed.PutRow(slot(i, 0), g[i]);
        packed.PutRow(slot(i, 1), u[i]);
      }
    });
    if (gate_bias.defined() || up_bias.defined()) {
      packed.bias_ = std::shared_ptr<float[]>(new float[packed.panels_ * kPanelWidth]());
      for (int64_t which = 0; which < 2; ++which) {
        const at::Tensor& b = which == 0 ? gate_bias : up_bias;
        if (!b.defined()) continue;
        const at::Tensor values = b.to(at::kFloat).contiguous();  // [I]
        for (int64_t i = 0; i < intermediate; ++i) {
          packed.bias_[slot(i, which)] = values.data_ptr<float>()[i];
        }
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("cannot pack a gate/up weight: ", e.what()));
  }
  return packed;
}

void PackedWeight::PutRow(int64_t slot, const at::Tensor& row) {
  const int64_t panel = slot / kPanelWidth;
  const int64_t lane = slot % kPanelWidth;
  // Element k of this row sits at k * 32 (float32) or at (k / 2) * 64 + k % 2 (bfloat16) from
  // `dst`, its lane of its panel in the pair (see internal::F32PanelOffset).
  const int64_t pair_start = (panel / 2) * 2 * kPanelWidth * k_;
  if (dtype_ == at::kFloat) {
    const float* src = row.data_ptr<float>();
    float* dst = static_cast<float*>(buffer_.data()) + pair_start +
                 internal::F32PanelOffset(k_, panel % 2, 0) + lane;
    for (int64_t k = 0; k < k_; ++k) dst[k * 2 * kPanelWidth] = src[k];
  } else {
    const auto* src = reinterpret_cast<const uint16_t*>(row.data_ptr<at::BFloat16>());
    uint16_t* dst = static_cast<uint16_t*>(buffer_.data()) + pair_start +
                    internal::Bf16PanelOffset(k_, panel % 2, 0) + 2 * lane;
    for (int64_t k = 0; k < k_; k += 2) {
      dst[k * 2 * kPanelWidth] = src[k];
      dst[k * 2 * kPanelWidth + 1] = src[k + 1];
    }
  }
}

void PackedWeight::Row(int64_t n, float* out) const {
  const int64_t panel = n / kPanelWidth;
  const int64_t lane = n % kPanelWidth;
  const int64_t pair_start = (panel / 2) * 2 * kPanelWidth * k_;
  if (dtype_ == at::kFloat) {
    const float* src = static_cast<const float*>(buffer_.data()) + pair_start +
                       internal::F32PanelOffset(k_, panel % 2, 0) + lane;
    for (int64_t k = 0; k < k_; ++k) out[k] = src[k * 2 * kPanelWidth];
  } else {
    const uint16_t* src = static_cast<const uint16_t*>(buffer_.data()) + pair_start +
                          internal::Bf16PanelOffset(k_, panel % 2, 0) + 2 * lane;
    for (int64_t k = 0; k < k_; k += 2) {
      out[k] = Bf16ToFloat(src[k * 2 * kPanelWidth]);
      out[k + 1] = Bf16ToFloat(src[k * 2 * kPanelWidth + 1]);
    }
  }
}

void Linear(const float* x, int64_t m, int64_t ldx, const PackedWeight& w, float* out, int64_t ldo,
            Epilogue epilogue, Isa isa) {
  if (m <= 0) return;
  TORCH_CHECK((epilogue == Epilogue::kSiluMul) == w.gate_up(),
              "Linear: kSiluMul goes with PackGateUp weights, and only with them");
  isa = Supported(isa);
  const bool bf16 = w.dtype() == at::kBFloat16;
  const int64_t k = w.in_features();
  const internal::LinearArgs args{.x = x,
                                  .m = m,
                                  .ldx = ldx,
                                  .k = k,
                                  .w = w.data(),
                                  .bias = w.bias(),
                                  .n_out = w.out_features(),
                                  .out = out,
                                  .ldo = ldo,
                                  .epilogue = epilogue,
                                  .bf16_weights = bf16};
  const int64_t pairs = w.panels() / 2;
  auto run = [&](internal::PairQueue& queue) {
    if (isa >= Isa::kAvx512) {
      internal::LinearPairsAvx512(args, queue);
    } else if (isa == Isa::kAvx2) {
      internal::LinearPairsAvx2(args, queue);
    } else {
      internal::LinearPairsGeneric(args, queue);
    }
  };
  const int64_t macs = m * pairs * 2 * kPanelWidth * k;
  const int64_t threads = at::get_num_threads();
  if (macs < kSerialMacs || threads == 1 || pairs < 2) {
    internal::PairQueue all(0, pairs, pairs);
    run(all);
    return;
  }
  // Chunks of an even number of pairs (the small-batch tiles take two at a time), about
  // kChunksPerThread per thread.
  const int64_t chunk = std::max<int64_t>(2, CeilDiv(pairs, threads * kChunksPerThread) & ~int64_t{1});
  internal::PairQueue queue(0, pairs, chunk);
  at::parallel_for(0, threads, 1, [&](int64_t, int64_t) { run(queue); });
}

}  // namespace tgi::shard::kernels
