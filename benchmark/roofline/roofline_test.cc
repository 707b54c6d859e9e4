#include "benchmark/roofline/roofline.h"

#include <gtest/gtest.h>

#include "benchmark/roofline/machine_probe.h"
#include "benchmark/roofline/model_cost.h"

namespace tgi::benchmark::roofline {
namespace {

// bench-110m: hidden 768, 12 layers, 12 heads (head_dim 64), intermediate 2048, vocab 32000, tied.
LlamaDims Bench110m() {
  return *ParseLlamaDims(R"({"hidden_size":768,"num_hidden_layers":12,"num_attention_heads":12,
      "num_key_value_heads":12,"intermediate_size":2048,"vocab_size":32000,
      "tie_word_embeddings":true})");
}

MachineProfile Machine(double bytes_per_second, double flops_per_second) {
  MachineProfile machine;
  machine.bandwidth.bytes_per_second = bytes_per_second;
  machine.sgemm.flops_per_second = flops_per_second;
  return machine;
}

TEST(ModelCostTest, CountsBench110m) {
  const LlamaDims d = Bench110m();
  EXPECT_EQ(d.head_dim, 64);
  // q, k, v, o: 4 × 768²; gate, up, down: 3 × 768 × 2048.
  EXPECT_EQ(LayerMatmulParameters(d), 4 * 768 * 768 + 3 * 768 * 2048);
  // 12 layers of matrices and two norms, the final norm, the tied embedding once.
  EXPECT_EQ(TotalParameters(d), 12 * (7077888 + 2 * 768) + 768 + 32000 * 768);
  EXPECT_EQ(WeightBytesPerStep(d, 4), 4 * TotalParameters(d));  // tied: lm_head is the embedding
  EXPECT_EQ(KvBytesPerRow(d, 100, 4), 2 * 12 * 768 * 100 * 4);
  EXPECT_DOUBLE_EQ(DecodeFlopsPerToken(d, 0), 2.0 * (12 * 7077888 + 32000 * 768));
  EXPECT_DOUBLE_EQ(DecodeFlopsPerToken(d, 10) - DecodeFlopsPerToken(d, 0), 4.0 * 12 * 768 * 10);
  EXPECT_DOUBLE_EQ(PrefillFlops(d, 1), DecodeFlopsPerToken(d, 1));  // one token, one position
}

TEST(ModelCostTest, UntiedModelsReadTheirLmHead) {
  LlamaDims d = Bench110m();
  d.tied_embeddings = false;
  EXPECT_EQ(TotalParameters(d) - TotalParameters(Bench110m()), 32000 * 768);
  // The embedding table is gathered, not read, so a decode step reads the same bytes.
  EXPECT_EQ(WeightBytesPerStep(d, 2), WeightBytesPerStep(Bench110m(), 2));
}

TEST(ModelCostTest, DtypeNames) {
  EXPECT_EQ(DtypeBytes("torch.float32"), 4);
  EXPECT_EQ(DtypeBytes("torch.bfloat16"), 2);
  EXPECT_EQ(DtypeBytes("float16"), 2);
  EXPECT_EQ(DtypeBytes("bfloat16"), 2);
}

TEST(RooflineTest, DecodeIsMemoryBoundAtBatchOneAndComputeBoundLater) {
  const LlamaDims d = Bench110m();
  const MachineProfile machine = Machine(10e9, 50e9);
  const Bound one = DecodeRoofline(d, 4, 1, 0, machine);
  EXPECT_STREQ(one.limit, "memory");
  EXPECT_DOUBLE_EQ(one.tokens_per_second, 10e9 / static_cast<double>(WeightBytesPerStep(d, 4)));
  const Bound many = DecodeRoofline(d, 4, 512, 0, machine);
  EXPECT_STREQ(many.limit, "compute");
  EXPECT_DOUBLE_EQ(many.tokens_per_second, 50e9 / DecodeFlopsPerToken(d, 0));
}

TEST(RooflineTest, KvCacheReadsLowerTheMemoryBound) {
  const LlamaDims d = Bench110m();
  const MachineProfile machine = Machine(10e9, 1e15);
  const double bytes = static_cast<double>(WeightBytesPerStep(d, 4) + 8 * KvBytesPerRow(d, 500, 4));
  EXPECT_DOUBLE_EQ(DecodeRoofline(d, 4, 8, 500, machine).tokens_per_second, 8 * 10e9 / bytes);
}

TEST(RooflineTest, PrefillTakesTheLongerOfReadingWeightsAndComputing) {
  const LlamaDims d = Bench110m();
  const MachineProfile machine = Machine(10e9, 50e9);
  const Bound bound = PrefillRoofline(d, 4, 2, 512, machine);
  EXPECT_STREQ(bound.limit, "compute");
  EXPECT_DOUBLE_EQ(bound.tokens_per_second, 2 * 512 / (2 * PrefillFlops(d, 512) / 50e9));
}

TEST(MachineProbeTest, MeasuresSomethingPositiveOnASmallBuffer) {
  // A real probe of a small buffer: the numbers are only checked to exist, never for speed.
  absl::StatusOr<BandwidthResult> bandwidth =
      MeasureReadBandwidth({.bytes = size_t{16} << 20, .passes = 2, .threads = 0});
  ASSERT_TRUE(bandwidth.ok());
  EXPECT_GT(bandwidth->bytes_per_second, 0);
  EXPECT_EQ(bandwidth->threads, static_cast<int>(AffinityCpus().size()));
  const SgemmResult sgemm = MeasureSgemm({.n = 64, .repeats = 2, .threads = 1});
  EXPECT_GT(sgemm.flops_per_second, 0);
}

}  // namespace
}  // namespace tgi::benchmark::roofline
