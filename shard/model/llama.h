// The Llama decoder (and Mistral without a sliding window) on the CPU kernels: loads a Hugging
// Face checkpoint into packed weights and runs one ragged step: a list of rows, each with its new
// tokens (a prompt, a prompt chunk or one decode token) after its cached context, against a paged
// KV cache it writes but does not own. Prefill, decode and a mix of both are the same forward.
// It knows nothing of requests, sampling or stopping, and never allocates or frees cache blocks.
// Under tensor parallelism each rank holds a Megatron slice (q/k/v and gate/up by output
// features, o and down by input features and all-reduced, heads and KV heads split, KV heads
// replicated when fewer than the ranks, embedding and lm_head by vocabulary) and Forward returns
// the full logits (gathered) on every rank.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "shard/dist/communicator.h"
#include "shard/model/kernels/packed_linear.h"
#include "shard/model/kernels/paged_kv.h"
#include "shard/model/layers.h"
#include "shard/model/model_config.h"
#include "shard/model/safetensors.h"

namespace tgi::shard {

// "float32", "bfloat16" or "float16" (TGI's --dtype values; "float16" also spelled "half").
absl::StatusOr<at::ScalarType> ParseDtype(std::string_view name);
// --kv-cache-dtype: "auto" (nullopt: follow the model dtype), "float32" or "bfloat16".
absl::StatusOr<std::optional<at::ScalarType>> ParseKvCacheDtype(std::string_view name);

struct LoadOptions {
  // Working dtype of the weights. Activations, norms, softmax and accumulation are float32.
  // float16 runs as bfloat16 on CPU (logged), and dtype() reports kBFloat16.
  at::ScalarType dtype = at::kFloat;
  // KV cache dtype; nullopt follows dtype (as TGI does).
  std::optional<at::ScalarType> kv_cache_dtype;
  at::Device device = at::kCPU;  // CPU only for now
  // Tensor parallelism: this rank's share of the weights and heads; `communicator` joins the
  // ranks (null: one rank). rank and world_size must be the communicator's.
  int rank = 0;
  int world_size = 1;
  std::shared_ptr<dist::Communicator> communicator;
  // Length of the rotary tables; 0 means config.max_position_embeddings.
  int64_t max_positions = 0;
};

// One row of a ragged step: `new_tokens` tokens at positions [context, context + new_tokens),
// after `context` positions already in the cache.
struct StepRow {
  int64_t context = 0;
  int64_t new_tokens = 0;
  std::span<const int32_t> blocks;  // block table covering positions [0, context + new_tokens)
  bool all_logits = false;          // logits for every new token, else for the last one only
};

struct ForwardBatch {
  std::vector<int64_t> input_ids;  // [sum of new_tokens]: row after row
  std::vector<StepRow> rows;
};

class LlamaModel {
 public:
  // Reads config.json (+ generation_config.json) and the safetensors checkpoint of `model_dir`.
  static absl::StatusOr<std::unique_ptr<LlamaModel>> Load(const std::filesystem::path& model_dir,
                                                          const LoadOptions& options);
  static absl::StatusOr<std::unique_ptr<LlamaModel>> Load(const ModelConfig& config,
                                                          const SafetensorsCheckpoint& checkpoint,
                                                          const LoadOptions& options);

  // -> [logit rows, vocab] float32: per row in order, new_tokens rows if all_logits, else one
  // (its last token). Writes the new tokens' K/V into `cache` (whose layout must be CacheLayout()
  // with data and num_blocks set); attention reads only each row's own positions. A row's
  // result never depends on the other rows. Bad input is an InvalidArgument status.
  absl::StatusOr<at::Tensor> Forward(const ForwardBatch& batch,
                                     const kernels::PagedKv& cache) const;

  // The cache layout this model reads and writes (data null, num_blocks 0).
  kernels::PagedKv CacheLayout() const;

  const ModelConfig& config() const { return config_; }
  at::ScalarType dtype() const { return dtype_; }
  at::ScalarType kv_cache_dtype() const { return kv_dtype_; }
  at::Device device() const { return at::kCPU; }
  // Cache bytes of one token (all layers, K and V) on this rank.
  int64_t kv_bytes_per_token() const;
  // Parameters held by this rank (a tied embedding counts once).
  int64_t num_parameters() const { return num_parameters_; }
  // Bytes of the packed weights (what one decode step streams).
  int64_t weight_bytes() const { return weight_bytes_; }
  // Positions must lie in [0, max_positions()).
  int64_t max_positions() const { return rotary_.max_positions(); }
  // The tensor-parallel ranks this model is one of (a single rank when not sharded).
  dist::Communicator& communicator() const { return *communicator_; }

 private:
  // One decoder layer, fused, packed and sliced for this rank.
  struct Layer {
    at::Tensor input_norm;          // [hidden] float32
    at::Tensor post_norm;           // [hidden] float32
    kernels::PackedWeight qkv;      // [(heads + 2 * kv_heads) * head_dim, hidden] (+ bias)
    kernels::PackedWeight o;        // [hidden, heads * head_dim] (+ bias)
    kernels::PackedWeight gate_up;  // gate and up [intermediate, hidden], interleaved (+ bias)
    kernels::PackedWeight down;     // [hidden, intermediate] (+ bias)
  };
  // Activation buffers of one step, grown on demand and reused (the model thread owns them).
  struct Workspace {
    std::vector<float> hidden;     // [tokens, hidden]: the residual stream
    std::vector<float> normed;     // [tokens, hidden]
    std::vector<float> qkv;        // [tokens, qkv width]
    std::vector<float> attention;  // [tokens, heads * head_dim]
    std::vector<float> mlp;        // [tokens, intermediate]
    std::vector<float> partial;    // [tokens, hidden] or [logit rows, local vocab]: a rank's part
    std::vector<float> gathered;   // [ranks, logit rows, local vocab]
  };

  LlamaModel() = default;
  absl::Status LoadWeights(const SafetensorsCheckpoint& checkpoint, int rank, int world_size);
  absl::Status LoadLayer(const SafetensorsCheckpoint& checkpoint, int64_t index, int rank,
                         int world_size);
  absl::Status Validate(const ForwardBatch& batch, const kernels::PagedKv& cache) const;
  at::Tensor ForwardImpl(const ForwardBatch& batch, const kernels::PagedKv& cache) const;
  void Embed(std::span<const int64_t> ids, float* out) const;  // -> [ids, hidden]
  // Where the step's tokens go in the cache and which rows attend to what (llama.cc).
  struct StepPlan;
  void RunLayer(const Layer& layer, int64_t index, const StepPlan& plan,
                const kernels::PagedKv& cache) const;
  // h += x W^T for a row-parallel weight: in place on one rank, else each rank's partial sums
  // all-reduced first. Throws when the collective fails.
  void RowParallel(const float* x, int64_t tokens, int64_t ldx, const kernels::PackedWeight& w,
                   float* h) const;
  void AllReduce(float* data, int64_t count) const;  // throws when the collective fails

  ModelConfig config_;
  at::ScalarType dtype_ = at::kFloat;
  at::ScalarType kv_dtype_ = at::kFloat;
  int64_t local_heads_ = 0;     // attention heads on this rank
  int64_t local_kv_heads_ = 0;  // KV heads on this rank
  int64_t local_intermediate_ = 0;
  int64_t kv_head_begin_ = 0;   // first KV head of this rank
  int64_t vocab_begin_ = 0;     // first vocabulary row of this rank's embedding and lm_head
  int64_t local_vocab_ = 0;
  std::shared_ptr<dist::Communicator> communicator_;
  int64_t num_parameters_ = 0;
  int64_t weight_bytes_ = 0;
  at::Tensor embed_;               // [local vocab, hidden] working dtype; undefined when tied
  kernels::PackedWeight lm_head_;  // [local vocab, hidden] (the embedding when tied)
  at::Tensor final_norm_;          // [hidden] float32
  std::vector<Layer> layers_;
  RotaryEmbedding rotary_;
  mutable Workspace workspace_;
};

}  // namespace tgi::shard
