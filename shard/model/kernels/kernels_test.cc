// The CPU kernels against plain libtorch references, on every ISA path this CPU can run.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "shard/kv/kv_pool.h"
#include "shard/model/kernels/cpu_features.h"
#include "shard/model/kernels/norm.h"
#include "shard/model/kernels/packed_linear.h"
#include "shard/model/kernels/paged_attention.h"
#include "shard/model/kernels/rope_cache.h"

namespace tgi::shard::kernels {
namespace {

std::vector<Isa> RunnableIsas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Bf16}) {
    if (Supported(isa) == isa) isas.push_back(isa);
  }
  return isas;
}

std::string Name(Isa isa, at::ScalarType dtype) {
  return absl::StrCat(IsaName(isa), "_", c10::toString(dtype));
}

double MaxDiff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kFloat) - b.to(at::kFloat)).abs().max().item<double>();
}

class LinearTest : public ::testing::TestWithParam<std::tuple<Isa, at::ScalarType>> {};

// For bfloat16 weights the reference uses the same bfloat16-rounded weights; activations stay
// float32.
at::Tensor Reference(const at::Tensor& x, const at::Tensor& w, at::ScalarType dtype, Isa) {
  return at::matmul(x.to(at::kDouble), w.to(dtype).to(at::kDouble).t()).to(at::kFloat);
}

TEST_P(LinearTest, MatchesMatmulForEveryShapeAndEpilogue) {
  const auto [isa, dtype] = GetParam();
  const double tolerance = 1e-4;
  at::manual_seed(1);
  for (int64_t n : {8, 16, 40, 96, 130}) {
    for (int64_t k : {8, 64, 70, 300}) {  // 300: k in blocks (of 128) for many rows
      at::Tensor w = at::randn({n, k}) / std::sqrt(double(k));  // [N, K]
      at::Tensor bias = at::randn({n});
      PackedWeight plain = *PackedWeight::Pack(w, dtype);
      PackedWeight biased = *PackedWeight::Pack(w, dtype, bias);
      for (int64_t m : {1, 2, 5, 6, 7, 13, 16, 29, 40}) {
        SCOPED_TRACE(absl::StrCat("m ", m, " n ", n, " k ", k));
        at::Tensor x = at::randn({m, k + 3}).narrow(1, 0, k);  // row stride k + 3
        at::Tensor expected = Reference(x, w, dtype, isa);
        at::Tensor out = at::full({m, n + 1}, 7.0f).narrow(1, 0, n);
        Linear(x.data_ptr<float>(), m, k + 3, plain, out.data_ptr<float>(), n + 1, Epilogue::kStore,
               isa);
        EXPECT_LE(MaxDiff(out, expected), tolerance);
        EXPECT_EQ(at::full({m, n + 1}, 7.0f).narrow(1, n, 1).sum().item<float>(),
                  at::full({m, n + 1}, 7.0f).narrow(1, n, 1).sum().item<float>());
        at::Tensor residual = at::randn({m, n});
        at::Tensor accumulated = residual.clone();
        Linear(x.data_ptr<float>(), m, k + 3, biased, accumulated.data_ptr<float>(), n,
               Epilogue::kAccumulate, isa);
        EXPECT_LE(MaxDiff(accumulated, residual + expected + bias), tolerance);
      }
    }
  }
}

TEST_P(LinearTest, GateUpSiluMul) {
  const auto [isa, dtype] = GetParam();
  at::manual_seed(2);
  for (auto [intermediate, k] : {std::pair<int64_t, int64_t>{16, 64}, {40, 64}, {172, 64},
                                 {40, 300}}) {
    at::Tensor gate = at::randn({intermediate, k}) / 8;
    at::Tensor up = at::randn({intermediate, k}) / 8;
    at::Tensor gate_bias = at::randn({intermediate});
    PackedWeight packed = *PackedWeight::PackGateUp(gate, up, dtype, gate_bias, {});
    EXPECT_EQ(packed.out_features(), intermediate);
    for (int64_t m : {1, 3, 9, 20}) {
      at::Tensor x = at::randn({m, k});
      at::Tensor g = Reference(x, gate, dtype, isa) + gate_bias;
      at::Tensor expected = at::silu(g) * Reference(x, up, dtype, isa);
      at::Tensor out = at::empty({m, intermediate});
      Linear(x.data_ptr<float>(), m, k, packed, out.data_ptr<float>(), intermediate,
             Epilogue::kSiluMul, isa);
      EXPECT_LE(MaxDiff(out, expected), 1e-4) << "m " << m << " I " << intermediate;
    }
  }
}

// A row's outputs are the same bits whatever the other rows (and hence the tile shapes) are.
TEST_P(LinearTest, RowsDoNotDependOnCompanions) {
  const auto [isa, dtype] = GetParam();
  at::manual_seed(3);
  // K = 300: many rows run k in blocks, a few rows in one pass; the bits must not differ.
  constexpr int64_t k = 300;
  at::Tensor w = at::randn({200, k});
  PackedWeight packed = *PackedWeight::Pack(w, dtype);
  at::Tensor x = at::randn({37, k});
  at::Tensor all = at::empty({37, 200});
  Linear(x.data_ptr<float>(), 37, k, packed, all.data_ptr<float>(), 200, Epilogue::kStore, isa);
  for (int64_t m : {1, 4, 6, 7, 14, 15, 29}) {
    at::Tensor part = at::empty({m, 200});
    Linear(x.data_ptr<float>() + 5 * k, m, k, packed, part.data_ptr<float>(), 200,
           Epilogue::kStore, isa);
    EXPECT_TRUE(at::equal(part, all.narrow(0, 5, m))) << "m " << m;
  }
}

TEST_P(LinearTest, RowOfThePackedWeight) {
  const auto [isa, dtype] = GetParam();
  at::Tensor w = at::randn({50, 24});
  PackedWeight packed = *PackedWeight::Pack(w, dtype);
  at::Tensor row = at::empty({24});
  packed.Row(37, row.data_ptr<float>());
  EXPECT_TRUE(at::equal(row, w[37].to(dtype).to(at::kFloat)));
}

INSTANTIATE_TEST_SUITE_P(Paths, LinearTest,
                         ::testing::Combine(::testing::ValuesIn(RunnableIsas()),
                                            ::testing::Values(at::kFloat, at::kBFloat16)),
                         [](const ::testing::TestParamInfo<std::tuple<Isa, at::ScalarType>>& info) {
                           return Name(std::get<0>(info.param), std::get<1>(info.param));
                         });

TEST(PackTest, RejectsBadWeights) {
  EXPECT_FALSE(PackedWeight::Pack(at::randn({4}), at::kFloat).ok());
  EXPECT_FALSE(PackedWeight::Pack(at::randn({4, 5}), at::kBFloat16).ok());  // odd K
  EXPECT_FALSE(PackedWeight::Pack(at::randn({4, 4}), at::kDouble).ok());
  EXPECT_FALSE(PackedWeight::PackGateUp(at::randn({4, 4}), at::randn({5, 4}), at::kFloat).ok());
}

TEST(RmsNormTest, MatchesReference) {
  for (Isa isa : RunnableIsas()) {
    for (int64_t n : {8, 64, 70, 768}) {
      at::Tensor x = at::randn({5, n});
      at::Tensor weight = at::randn({n});
      at::Tensor expected = x * (x.pow(2).mean(-1, true) + 1e-5).rsqrt() * weight;
      at::Tensor out = at::empty({5, n});
      RmsNorm(x.data_ptr<float>(), 5, n, weight.data_ptr<float>(), n, 1e-5f, out.data_ptr<float>(),
              n, isa);
      EXPECT_LE(MaxDiff(out, expected), 1e-5) << IsaName(isa) << " n " << n;
    }
  }
}

// A paged cache of random contents, the rows' K/V also kept dense for the reference.
struct AttentionCase {
  std::unique_ptr<KvPool> pool;
  std::vector<BlockTable> tables;
  std::vector<at::Tensor> keys, values;  // per row: [kv_heads, positions, head_dim] float32
};

class PagedAttentionTest
    : public ::testing::TestWithParam<std::tuple<Isa, at::ScalarType, int64_t>> {};

TEST_P(PagedAttentionTest, MatchesDenseCausalAttention) {
  const auto [isa, dtype, head_dim] = GetParam();
  at::manual_seed(4);
  const int64_t heads = 4, kv_heads = 2, layers = 2, layer = 1;
  const PagedKv layout{
      .dtype = dtype, .layers = layers, .kv_heads = kv_heads, .head_dim = head_dim};
  std::unique_ptr<KvPool> pool = *KvPool::Create(layout, 40);
  // Rows: (context, new tokens): a decode row, a prefill, a chunk after a context, one on a
  // block boundary.
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{37, 1}, {0, 21}, {16, 9}, {15, 1}};
  std::vector<BlockTable> tables;
  std::vector<AttentionRow> rows;
  int64_t tokens = 0;
  for (auto [context, count] : shapes) {
    tables.push_back(*BlockTable::Allocate(*pool, context + count));
    rows.push_back({tokens, count, context, tables.back().blocks().data()});
    tokens += count;
  }
  at::Tensor q = at::randn({tokens, heads * head_dim});
  at::Tensor out = at::empty({tokens, heads * head_dim});
  // Fill each row's K/V through RopeAndStoreKv at position 0's rotation (cos 1, sin 0).
  std::vector<at::Tensor> keys, values;
  const at::Tensor cos = at::ones({64, head_dim / 2});
  const at::Tensor sin = at::zeros({64, head_dim / 2});
  for (size_t r = 0; r < shapes.size(); ++r) {
    const int64_t positions = shapes[r].first + shapes[r].second;
    at::Tensor qkv = at::randn({positions, (heads + 2 * kv_heads) * head_dim});
    std::vector<TokenPlace> places;
    for (int64_t p = 0; p < positions; ++p) {
      places.push_back(
          {0, tables[r].blocks()[p / kBlockSize], static_cast<int32_t>(p % kBlockSize)});
    }
    RopeAndStoreKv(qkv.data_ptr<float>(), positions, qkv.size(1), places.data(), heads,
                   cos.data_ptr<float>(), sin.data_ptr<float>(), pool->view(), layer);
    at::Tensor k =
        qkv.narrow(1, heads * head_dim, kv_heads * head_dim).view({positions, kv_heads, head_dim});
    at::Tensor v = qkv.narrow(1, (heads + kv_heads) * head_dim, kv_heads * head_dim)
                       .view({positions, kv_heads, head_dim});
    keys.push_back(k.to(dtype).to(at::kFloat).transpose(0, 1));    // [kv_heads, P, D]
    values.push_back(v.to(dtype).to(at::kFloat).transpose(0, 1));  // [kv_heads, P, D]
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  PagedAttention(q.data_ptr<float>(), q.size(1), rows.data(), static_cast<int64_t>(rows.size()),
                 heads, scale, pool->view(), layer, out.data_ptr<float>(), out.size(1), isa);
  for (size_t r = 0; r < shapes.size(); ++r) {
    const auto [context, count] = shapes[r];
    const int64_t positions = context + count;
    at::Tensor qr =
        q.narrow(0, rows[r].first, count).view({count, heads, head_dim}).transpose(0, 1);
    at::Tensor k = keys[r].repeat_interleave(heads / kv_heads, 0);  // [heads, P, D]
    at::Tensor v = values[r].repeat_interleave(heads / kv_heads, 0);
    at::Tensor scores = at::matmul(qr, k.transpose(1, 2)) * scale;  // [heads, count, P]
    at::Tensor query_pos = at::arange(context, positions).unsqueeze(1);
    at::Tensor mask = at::arange(positions).unsqueeze(0) > query_pos;  // [count, P]
    scores.masked_fill_(mask, -INFINITY);
    at::Tensor expected = at::matmul(scores.softmax(-1), v).transpose(0, 1).reshape({count, -1});
    EXPECT_LE(MaxDiff(out.narrow(0, rows[r].first, count), expected), 1e-5) << "row " << r;
  }
}

// A query's output is the same bits whether it runs in a prefill chunk (grouped with its
// neighbours) or alone as a decode step.
TEST_P(PagedAttentionTest, QueriesDoNotDependOnTheirGrouping) {
  const auto [isa, dtype, head_dim] = GetParam();
  at::manual_seed(5);
  const int64_t heads = 4, kv_heads = 2, count = 23;
  const PagedKv layout{.dtype = dtype, .layers = 1, .kv_heads = kv_heads, .head_dim = head_dim};
  std::unique_ptr<KvPool> pool = *KvPool::Create(layout, 4);
  BlockTable table = *BlockTable::Allocate(*pool, count);
  at::Tensor qkv = at::randn({count, (heads + 2 * kv_heads) * head_dim});
  const at::Tensor cos = at::ones({count, head_dim / 2});
  const at::Tensor sin = at::zeros({count, head_dim / 2});
  std::vector<TokenPlace> places;
  for (int64_t p = 0; p < count; ++p) {
    places.push_back({p, table.blocks()[p / kBlockSize], static_cast<int32_t>(p % kBlockSize)});
  }
  RopeAndStoreKv(qkv.data_ptr<float>(), count, qkv.size(1), places.data(), heads,
                 cos.data_ptr<float>(), sin.data_ptr<float>(), pool->view(), 0);
  const float scale = 0.125f;
  at::Tensor together = at::empty({count, heads * head_dim});
  const AttentionRow all{0, count, 0, table.blocks().data()};
  PagedAttention(qkv.data_ptr<float>(), qkv.size(1), &all, 1, heads, scale, pool->view(), 0,
                 together.data_ptr<float>(), together.size(1), isa);
  std::vector<AttentionRow> singles;
  for (int64_t t = 0; t < count; ++t) singles.push_back({t, 1, t, table.blocks().data()});
  at::Tensor alone = at::empty({count, heads * head_dim});
  PagedAttention(qkv.data_ptr<float>(), qkv.size(1), singles.data(), count, heads, scale,
                 pool->view(), 0, alone.data_ptr<float>(), alone.size(1), isa);
  EXPECT_TRUE(at::equal(together, alone));
}

INSTANTIATE_TEST_SUITE_P(
    Paths, PagedAttentionTest,
    ::testing::Combine(::testing::ValuesIn(RunnableIsas()),
                       ::testing::Values(at::kFloat, at::kBFloat16), ::testing::Values(8, 40, 64, 128)),
    [](const ::testing::TestParamInfo<std::tuple<Isa, at::ScalarType, int64_t>>& info) {
      return absl::StrCat(Name(std::get<0>(info.param), std::get<1>(info.param)), "_d",
                          std::get<2>(info.param));
    });

TEST(RopeTest, RotatesQueriesAndStoresRotatedKeys) {
  const int64_t heads = 2, kv_heads = 1, head_dim = 8, half = 4;
  const PagedKv layout{
      .dtype = at::kFloat, .layers = 1, .kv_heads = kv_heads, .head_dim = head_dim};
  std::unique_ptr<KvPool> pool = *KvPool::Create(layout, 2);
  at::Tensor qkv = at::randn({1, (heads + 2 * kv_heads) * head_dim});
  at::Tensor original = qkv.clone();
  at::Tensor angles = at::rand({8, half});
  at::Tensor cos = angles.cos(), sin = angles.sin();
  const TokenPlace place{5, 1, 3};
  RopeAndStoreKv(qkv.data_ptr<float>(), 1, qkv.size(1), &place, heads, cos.data_ptr<float>(),
                 sin.data_ptr<float>(), pool->view(), 0);
  auto rotate = [&](at::Tensor x) {  // [head_dim]
    at::Tensor x1 = x.narrow(0, 0, half), x2 = x.narrow(0, half, half);
    return at::cat({x1 * cos[5] - x2 * sin[5], x2 * cos[5] + x1 * sin[5]});
  };
  EXPECT_LE(MaxDiff(qkv[0].narrow(0, 0, head_dim), rotate(original[0].narrow(0, 0, head_dim))),
            1e-6);
  const float* cache = static_cast<const float*>(pool->view().data);
  at::Tensor stored_k = at::empty({head_dim});
  at::Tensor stored_v = at::empty({head_dim});
  for (int64_t d = 0; d < head_dim; ++d) {
    stored_k[d] =
        cache[layout.KOffset(0, 0, 0) * 0 + pool->view().KOffset(1, 0, 0) + d * kBlockSize + 3];
    stored_v[d] = cache[pool->view().VOffset(1, 0, 0) + 3 * head_dim + d];
  }
  EXPECT_LE(MaxDiff(stored_k, rotate(original[0].narrow(0, 2 * head_dim, head_dim))), 1e-6);
  EXPECT_TRUE(at::equal(stored_v, original[0].narrow(0, 3 * head_dim, head_dim)));
}

}  // namespace
}  // namespace tgi::shard::kernels
