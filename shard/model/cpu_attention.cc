#include "shard/model/cpu_attention.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

namespace tgi::shard {
namespace {

// The inner loops are compiled once per ISA and picked at load time (GCC/Clang ifunc), so a
// portable build still runs AVX2/AVX-512 where the CPU has it.
#if defined(__x86_64__) && defined(__ELF__)
#define TGI_ISA_CLONES __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define TGI_ISA_CLONES
#endif

inline float Widen(float x) { return x; }
inline float Widen(uint16_t bfloat16_bits) {
  const uint32_t bits = static_cast<uint32_t>(bfloat16_bits) << 16;
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

// One (batch row, KV head): `rows` = group * T queries against `window` cache slots.
struct HeadTask {
  const float* queries;  // [rows, head_dim], pre-scaled
  int64_t rows;
  int64_t seq;  // T: query m is new token m % T
  int64_t head_dim;
  int64_t window;
  const float* bias;      // this batch row's bias: [T or 1, window]
  int64_t bias_t_stride;  // 0 when one bias row serves every new token
  float* scores;          // [rows, window]
};

// Keys (and values) go four at a time: four independent accumulations hide the latency of the
// reductions, and each query (or output) row is loaded once per four slots.
constexpr int64_t kSlotBlock = 4;

// Points `rows` at slots w0 .. w0 + kSlotBlock - 1 as float32: the cache itself when it holds
// float32, a copy converted once into `buffer` ([kSlotBlock, head_dim]) when it holds bfloat16.
// Past `count`, the last slot repeats (its results are discarded or weighted 0).
template <typename T>
__attribute__((always_inline)) inline void BlockRows(const T* base, int64_t stride, int64_t w0,
                                                     int64_t count, int64_t head_dim, float* buffer,
                                                     const float* rows[kSlotBlock]) {
  for (int64_t j = 0; j < kSlotBlock; ++j) {
    const T* source = base + (w0 + std::min(j, count - 1)) * stride;
    if constexpr (std::is_same_v<T, float>) {
      rows[j] = source;
    } else {
      float* converted = buffer + j * head_dim;
#pragma omp simd
      for (int64_t d = 0; d < head_dim; ++d) converted[d] = Widen(source[d]);
      rows[j] = converted;
    }
  }
}

template <typename T>
__attribute__((always_inline)) inline void Scores(const HeadTask& task, const T* keys,
                                                  int64_t key_stride, float* buffer) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int64_t window = task.window;
  const int64_t head_dim = task.head_dim;
  for (int64_t w0 = 0; w0 < window; w0 += kSlotBlock) {
    const int64_t count = std::min(kSlotBlock, window - w0);
    if (task.bias_t_stride == 0 &&
        std::all_of(task.bias + w0, task.bias + w0 + count, [](float b) { return b == kNegInf; })) {
      for (int64_t m = 0; m < task.rows; ++m) {
        std::fill_n(task.scores + m * window + w0, count, kNegInf);  // padding: keys not read
      }
      continue;
    }
    const float* k[kSlotBlock];
    BlockRows(keys, key_stride, w0, count, head_dim, buffer, k);
    const float* k0 = k[0];
    const float* k1 = k[1];
    const float* k2 = k[2];
    const float* k3 = k[3];
    for (int64_t m = 0; m < task.rows; ++m) {
      const float* query = task.queries + m * head_dim;
      float d0 = 0, d1 = 0, d2 = 0, d3 = 0;
#pragma omp simd reduction(+ : d0, d1, d2, d3)
      for (int64_t d = 0; d < head_dim; ++d) {
        const float x = query[d];
        d0 += x * k0[d];
        d1 += x * k1[d];
        d2 += x * k2[d];
        d3 += x * k3[d];
      }
      const float dots[kSlotBlock] = {d0, d1, d2, d3};
      const float* bias = task.bias + (m % task.seq) * task.bias_t_stride + w0;
      float* scores = task.scores + m * window + w0;
      for (int64_t j = 0; j < count; ++j) scores[j] = dots[j] + bias[j];
    }
  }
}

// out[m] = sum_w probs[m, w] * value[w]; rows whose softmax was 0/0 (all masked) become zeros.
template <typename T>
__attribute__((always_inline)) inline void Values(const HeadTask& task, const float* probs,
                                                  const T* values, int64_t value_stride,
                                                  float* buffer, float* out) {
  const int64_t window = task.window;
  const int64_t head_dim = task.head_dim;
  std::fill(out, out + task.rows * head_dim, 0.0f);
  for (int64_t w0 = 0; w0 < window; w0 += kSlotBlock) {
    const int64_t count = std::min(kSlotBlock, window - w0);
    bool any = false;  // masked slots have probability exactly 0: their values are not read
    for (int64_t m = 0; m < task.rows && !any; ++m) {
      const float* p = probs + m * window + w0;
      any = std::any_of(p, p + count, [](float x) { return x != 0; });
    }
    if (!any) continue;
    const float* v[kSlotBlock];
    BlockRows(values, value_stride, w0, count, head_dim, buffer, v);
    const float* v0 = v[0];
    const float* v1 = v[1];
    const float* v2 = v[2];
    const float* v3 = v[3];
    for (int64_t m = 0; m < task.rows; ++m) {
      const float* p = probs + m * window + w0;
      const float p0 = p[0];
      const float p1 = count > 1 ? p[1] : 0.0f;
      const float p2 = count > 2 ? p[2] : 0.0f;
      const float p3 = count > 3 ? p[3] : 0.0f;
      float* o = out + m * head_dim;
#pragma omp simd
      for (int64_t d = 0; d < head_dim; ++d) {
        o[d] += p0 * v0[d] + p1 * v1[d] + p2 * v2[d] + p3 * v3[d];
      }
    }
  }
  for (int64_t m = 0; m < task.rows; ++m) {
    if (std::isnan(probs[m * window])) {
      std::fill(out + m * head_dim, out + (m + 1) * head_dim, 0.0f);
    }
  }
}

TGI_ISA_CLONES void ScoresF32(const HeadTask& task, const float* keys, int64_t stride) {
  Scores(task, keys, stride, nullptr);
}
TGI_ISA_CLONES void ScoresBF16(const HeadTask& task, const uint16_t* keys, int64_t stride) {
  std::vector<float> buffer(kSlotBlock * task.head_dim);
  Scores(task, keys, stride, buffer.data());
}
TGI_ISA_CLONES void ValuesF32(const HeadTask& task, const float* probs, const float* values,
                              int64_t stride, float* out) {
  Values(task, probs, values, stride, nullptr, out);
}
TGI_ISA_CLONES void ValuesBF16(const HeadTask& task, const float* probs, const uint16_t* values,
                               int64_t stride, float* out) {
  std::vector<float> buffer(kSlotBlock * task.head_dim);
  Values(task, probs, values, stride, buffer.data(), out);
}

}  // namespace

bool CpuCachedAttentionSupports(const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias) {
  const at::ScalarType dtype = k.scalar_type();
  return k.is_cpu() && v.is_cpu() && bias.is_cpu() &&
         (dtype == at::kFloat || dtype == at::kBFloat16) && v.scalar_type() == dtype &&
         k.stride(3) == 1 && v.stride(3) == 1 && bias.scalar_type() == at::kFloat &&
         (bias.stride(2) == 1 || bias.size(2) == 1);
}

at::Tensor CpuCachedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const at::Tensor& bias, double scale) {
  const int64_t batch = q.size(0);
  const int64_t seq = q.size(1);
  const int64_t heads = q.size(2);
  const int64_t head_dim = q.size(3);
  const int64_t kv_heads = k.size(1);
  const int64_t group = heads / kv_heads;
  const int64_t window = k.size(2);
  const int64_t rows = group * seq;
  const at::TensorOptions f32 = q.options().dtype(at::kFloat);

  // [batch, kv_heads, group, T, head_dim] float32, pre-scaled: one task's queries are contiguous.
  at::Tensor queries = at::empty({batch, kv_heads, group, seq, head_dim}, f32);
  queries.copy_(q.view({batch, seq, kv_heads, group, head_dim}).permute({0, 2, 3, 1, 4}))
      .mul_(scale);
  // Scores and probabilities live in grow-only per-thread buffers: a decode step allocates
  // nothing that grows with the window (and takes no page faults for it).
  thread_local std::vector<float> scores_buffer;
  thread_local std::vector<float> probs_buffer;
  const auto score_count = static_cast<size_t>(batch * kv_heads * rows * window);
  if (scores_buffer.size() < score_count) {
    scores_buffer.resize(score_count);
    probs_buffer.resize(score_count);
  }
  at::Tensor scores = at::from_blob(scores_buffer.data(), {batch * kv_heads, rows, window}, f32);
  at::Tensor probs = at::from_blob(probs_buffer.data(), {batch * kv_heads, rows, window}, f32);
  at::Tensor out = at::empty({batch, kv_heads, group, seq, head_dim}, f32);

  const bool bf16 = k.scalar_type() == at::kBFloat16;
  const auto* k_data = static_cast<const char*>(k.data_ptr());
  const auto* v_data = static_cast<const char*>(v.data_ptr());
  const int64_t element = static_cast<int64_t>(k.element_size());
  const float* bias_data = bias.data_ptr<float>();
  const float* queries_data = queries.data_ptr<float>();
  float* scores_data = scores_buffer.data();
  float* out_data = out.data_ptr<float>();
  const int64_t bias_t_stride = bias.size(1) == 1 ? 0 : bias.stride(1);
  auto task_of = [&](int64_t i) {
    const int64_t b = i / kv_heads;
    return HeadTask{queries_data + i * rows * head_dim,
                    rows,
                    seq,
                    head_dim,
                    window,
                    bias_data + b * bias.stride(0),
                    bias_t_stride,
                    scores_data + i * rows * window};
  };
  // Byte offset of (batch row, kv head) i in a [batch, kv_heads, W, head_dim] view.
  auto offset = [&](const at::Tensor& t, int64_t i) {
    return ((i / kv_heads) * t.stride(0) + (i % kv_heads) * t.stride(1)) * element;
  };

  at::parallel_for(0, batch * kv_heads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const HeadTask task = task_of(i);
      const char* keys = k_data + offset(k, i);
      if (bf16) {
        ScoresBF16(task, reinterpret_cast<const uint16_t*>(keys), k.stride(2));
      } else {
        ScoresF32(task, reinterpret_cast<const float*>(keys), k.stride(2));
      }
    }
  });
  at::softmax_out(probs, scores, -1);  // [batch * kv_heads, rows, W]
  const float* probs_data = probs_buffer.data();
  at::parallel_for(0, batch * kv_heads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const HeadTask task = task_of(i);
      const char* values = v_data + offset(v, i);
      const float* task_probs = probs_data + i * rows * window;
      float* task_out = out_data + i * rows * head_dim;
      if (bf16) {
        ValuesBF16(task, task_probs, reinterpret_cast<const uint16_t*>(values), v.stride(2),
                   task_out);
      } else {
        ValuesF32(task, task_probs, reinterpret_cast<const float*>(values), v.stride(2), task_out);
      }
    }
  });
  // [batch, T, heads * head_dim] in the working dtype.
  return out.permute({0, 3, 1, 2, 4}).reshape({batch, seq, heads * head_dim}).to(q.scalar_type());
}

}  // namespace tgi::shard
