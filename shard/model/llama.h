// The Llama decoder (and Mistral without a sliding window) in libtorch: loads a Hugging Face
// checkpoint and runs one forward step of a left-padded, bucketed batch against a KV cache it
// allocates but does not own. It knows nothing of requests, sampling or stopping, and never
// reallocates or copies the cache: the batch code owns rows, slots and the key bias.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "shard/model/layers.h"
#include "shard/model/model_config.h"
#include "shard/model/safetensors.h"

namespace tgi::shard {

// "float32", "bfloat16" or "float16" (TGI's --dtype values; "float16" also spelled "half").
absl::StatusOr<at::ScalarType> ParseDtype(std::string_view name);

struct LoadOptions {
  // Working dtype of weights, activations and cache. libtorch 1.13 has no float16 matmul on CPU:
  // kHalf on CPU runs as kBFloat16 (logged), and dtype() reports kBFloat16.
  at::ScalarType dtype = at::kFloat;
  at::Device device = at::kCPU;
  // Tensor parallelism: only world_size == 1 is supported for now (anything else is an error).
  int rank = 0;
  int world_size = 1;
  // Length of the rotary tables; 0 means config.max_position_embeddings.
  int64_t max_positions = 0;
};

// The whole KV cache of one batch, written in place:
//   kv: [num_layers, 2 (k, v), batch, kv_heads, max_seq, head_dim], working dtype.
// One tensor so that moving a row (batch concatenation) is one index_copy_ along dim 2. Forward
// also accepts a view of the first rows (kv.narrow(2, 0, rows)): each [batch, kv_heads, max_seq,
// head_dim] block must be contiguous.
struct KvCache {
  at::Tensor kv;
};

// One forward step. Rows are left-padded and share cache slots: each row's new tokens are
// written at slots [write_offset, write_offset + T); rows differ only in where their real
// tokens start. Attention reads slots [window_start, write_offset + T), W of them.
struct ForwardBatch {
  at::Tensor input_ids;      // [B, T] int64 (T = prompt bucket length in prefill, 1 in decode)
  at::Tensor positions;      // [B, T] int64 rotary positions (padding does not advance them)
  at::Tensor key_bias;       // [B, W] float32 over slots [window_start, write_offset + T):
                             // 0 = attend, -inf = padding (a large finite negative works
                             // too, but decode skips reading -inf slots). May be a view of a
                             // persistent buffer.
  int64_t write_offset = 0;  // cache slot of the first new token
  int64_t window_start = 0;  // first cache slot attention reads
  bool all_logits = false;   // logits for every position (prefill logprobs) or the last only
};

class LlamaModel {
 public:
  // Reads config.json (+ generation_config.json) and the safetensors checkpoint of `model_dir`.
  static absl::StatusOr<std::unique_ptr<LlamaModel>> Load(const std::filesystem::path& model_dir,
                                                          const LoadOptions& options);
  static absl::StatusOr<std::unique_ptr<LlamaModel>> Load(const ModelConfig& config,
                                                          const SafetensorsCheckpoint& checkpoint,
                                                          const LoadOptions& options);

  // A cache for `batch` rows of `max_seq` slots. Zeroed by default (masked slots must hold finite
  // values). kUninitialized skips touching the memory (no page faults for slots never used); the
  // caller then guarantees that every slot a live row reads, masked or not, was written first.
  // Allocated outside inference mode, so the batch code may update it in place anywhere.
  enum class CacheInit { kZeros, kUninitialized };
  absl::StatusOr<KvCache> AllocateCache(int64_t batch, int64_t max_seq,
                                        CacheInit init = CacheInit::kZeros) const;

  // -> [B, T, vocab] float32 logits if all_logits, else [B, 1, vocab] (the last position).
  // Runs under c10::InferenceMode: the logits are inference tensors (in-place changes to them
  // need InferenceMode too). Padding never changes a real row's result; the outputs of padding
  // positions and fully padded rows are finite and meaningless. A CPU decode step allocates
  // nothing that grows with W (its attention scores live in reusable per-thread buffers).
  absl::StatusOr<at::Tensor> Forward(const ForwardBatch& batch, KvCache& cache) const;

  const ModelConfig& config() const { return config_; }
  at::ScalarType dtype() const { return dtype_; }
  at::Device device() const { return device_; }
  // Cache bytes of one token in one row (all layers, K and V) on this rank.
  int64_t kv_bytes_per_token() const;
  // Parameters held by this rank (a tied embedding counts once).
  int64_t num_parameters() const { return num_parameters_; }
  // Positions must lie in [0, max_positions()).
  int64_t max_positions() const { return rotary_.max_positions(); }

 private:
  // One decoder layer, fused and sliced for this rank; biases are undefined when absent.
  struct Layer {
    at::Tensor input_norm;    // [hidden]
    at::Tensor qkv;           // [(heads + 2 * kv_heads) * head_dim, hidden] (local heads)
    at::Tensor qkv_bias;      // [(heads + 2 * kv_heads) * head_dim]
    at::Tensor o;             // [hidden, heads * head_dim]
    at::Tensor o_bias;        // [hidden]
    at::Tensor post_norm;     // [hidden]
    at::Tensor gate_up;       // [2 * intermediate, hidden] (gate rows, then up rows)
    at::Tensor gate_up_bias;  // [2 * intermediate]
    at::Tensor down;          // [hidden, intermediate]
    at::Tensor down_bias;     // [hidden]
  };

  LlamaModel() = default;
  absl::Status LoadWeights(const SafetensorsCheckpoint& checkpoint, int rank, int world_size);
  absl::Status Validate(const ForwardBatch& batch, const KvCache& cache) const;
  at::Tensor ForwardImpl(const ForwardBatch& batch, KvCache& cache) const;
  // x: [N, hidden] -> [N, hidden] (before the tensor-parallel all-reduce).
  at::Tensor Mlp(const Layer& layer, const at::Tensor& x) const;

  ModelConfig config_;
  at::ScalarType dtype_ = at::kFloat;
  at::Device device_ = at::kCPU;
  int64_t local_heads_ = 0;     // attention heads on this rank
  int64_t local_kv_heads_ = 0;  // KV heads on this rank
  int64_t local_intermediate_ = 0;
  int64_t num_parameters_ = 0;
  at::Tensor embed_;       // [vocab, hidden]
  at::Tensor lm_head_;     // [vocab, hidden] (the embedding itself when tied)
  at::Tensor final_norm_;  // [hidden]
  std::vector<Layer> layers_;
  RotaryEmbedding rotary_;
};

}  // namespace tgi::shard
