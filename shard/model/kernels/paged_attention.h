// Causal attention of a ragged step's queries over the paged KV cache: each row's new tokens
// attend to the row's own positions [0, own position], read block by block through its block
// table (nothing else is read), with an online softmax in float32 (flash-attention style). Each
// query runs the same operations whatever its companions, so a row's output never depends on the
// batch. float32 and bfloat16 caches; grouped-query attention without repeating K/V.
#pragma once

#include <cstdint>

#include "shard/model/kernels/cpu_features.h"
#include "shard/model/kernels/paged_kv.h"

namespace tgi::shard::kernels {

struct AttentionRow {
  int64_t first = 0;    // index of the row's first new token in q and out
  int64_t count = 0;    // new tokens
  int64_t context = 0;  // positions already cached: token i sits at position context + i
  const int32_t* blocks = nullptr;  // block table covering positions [0, context + count)
};

// q: [tokens, heads * head_dim] float32, rotated (row stride ldq); its K/V must already be in the
// cache. out: [tokens, heads * head_dim] float32 (row stride ldo). scale: 1 / sqrt(head_dim).
void PagedAttention(const float* q, int64_t ldq, const AttentionRow* rows, int64_t num_rows,
                    int64_t heads, float scale, const PagedKv& kv, int64_t layer, float* out,
                    int64_t ldo, Isa isa = ActiveIsa());

}  // namespace tgi::shard::kernels
