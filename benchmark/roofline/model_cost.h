// What one Llama-family forward costs, counted from config.json's shape: bytes of weights read per
// step, bytes of KV cache read per row, FLOPs per token. Arithmetic only: no tensors, no timing.
// The formulas are the ones benchmark/README.md states.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tgi::benchmark::roofline {

struct LlamaDims {
  int64_t hidden = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;  // hidden / heads unless config.json says otherwise
  int64_t intermediate = 0;
  int64_t vocab = 0;
  bool tied_embeddings = false;

  int64_t q_rows() const { return heads * head_dim; }
  int64_t kv_rows() const { return kv_heads * head_dim; }
};

absl::StatusOr<LlamaDims> ParseLlamaDims(std::string_view config_json);
absl::StatusOr<LlamaDims> LoadLlamaDims(const std::filesystem::path& model_dir);

// Bytes of one element of a torch dtype name ("torch.float32", "bfloat16", "float16"...); 4 when
// the name is unknown.
int DtypeBytes(std::string_view dtype);

// Parameters of the matrices one token multiplies with in one layer: q, k, v, o, gate, up, down.
int64_t LayerMatmulParameters(const LlamaDims& d);
// Every parameter of the model (the embedding once when tied, twice when not).
int64_t TotalParameters(const LlamaDims& d);
// Weights one decode step reads, whatever the batch: every layer's matrices and norms, the final
// norm and the lm_head (the embedding matrix when tied). The embedding rows gathered for the
// batch's tokens are left out (batch × hidden elements, negligible).
int64_t WeightBytesPerStep(const LlamaDims& d, int dtype_bytes);
// K and V of `context` positions in every layer: what attention reads for one row.
int64_t KvBytesPerRow(const LlamaDims& d, int64_t context, int dtype_bytes);
// One decode token at `context` positions: 2 × (layers × LayerMatmulParameters + vocab × hidden)
// for the matmuls, plus 4 × layers × q_rows × context for attention (QKᵀ and AV).
double DecodeFlopsPerToken(const LlamaDims& d, int64_t context);
// One prompt of `length` tokens: 2 × length × layers × LayerMatmulParameters, the lm_head on its
// last token only (2 × vocab × hidden), and causal attention 2 × layers × q_rows × length × (length
// + 1).
double PrefillFlops(const LlamaDims& d, int64_t length);

}  // namespace tgi::benchmark::roofline
