#include "shard/sampling/logits_process.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <vector>

namespace tgi::shard {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

at::Tensor Rows(std::vector<std::vector<float>> rows) {
  std::vector<at::Tensor> tensors;
  for (const auto& row : rows) tensors.push_back(at::tensor(row));
  return at::stack(tensors);  // [rows, vocab]
}

std::vector<float> Row(const at::Tensor& t, int64_t row) {
  at::Tensor r = t[row].contiguous();
  return std::vector<float>(r.data_ptr<float>(), r.data_ptr<float>() + r.numel());
}

// The ids whose score is finite in one row.
std::set<int64_t> Kept(const at::Tensor& scores, int64_t row) {
  std::set<int64_t> kept;
  std::vector<float> v = Row(scores, row);
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != -kInf) kept.insert(static_cast<int64_t>(i));
  }
  return kept;
}

at::Tensor LogOf(std::vector<float> probs) {
  return at::tensor(probs).log().unsqueeze(0);  // [1, vocab]
}

// Kept sets of a direct implementation in double precision: the most probable tokens, in order,
// until their mass reaches top_p.
std::set<int64_t> ReferenceTopP(const std::vector<float>& scores, double top_p) {
  std::vector<double> p(scores.size());
  double z = 0;
  for (float x : scores) z += std::exp(double{x});
  for (size_t i = 0; i < p.size(); ++i) p[i] = std::exp(double{scores[i]}) / z;
  std::vector<size_t> order(p.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  std::set<int64_t> kept;
  double cumulative = 0;
  for (size_t i : order) {
    kept.insert(static_cast<int64_t>(i));
    cumulative += p[i];
    if (cumulative >= top_p) break;
  }
  return kept;
}

// Checks TypicalP against a direct implementation in double precision: tokens ordered by
// |-log p - entropy|, kept until their mass reaches typical_p.
void CheckTypicalAgainstReference(const at::Tensor& scores, const std::vector<float>& mass) {
  at::Tensor out = TypicalP(scores.clone(), mass);
  for (int64_t r = 0; r < scores.size(0); ++r) {
    std::vector<float> s = Row(scores, r);
    std::vector<double> p(s.size());
    double z = 0, h = 0;
    for (float x : s) z += std::exp(double{x});
    for (size_t i = 0; i < s.size(); ++i) {
      p[i] = std::exp(double{s[i]}) / z;
      h -= p[i] * std::log(p[i]);
    }
    std::vector<size_t> order(s.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto shift = [&](size_t i) { return std::abs(-std::log(p[i]) - h); };
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return shift(a) < shift(b); });
    std::set<int64_t> expected;
    double cumulative = 0;
    for (size_t i : order) {
      expected.insert(static_cast<int64_t>(i));
      cumulative += p[i];
      if (cumulative >= mass[r]) break;
    }
    EXPECT_EQ(Kept(out, r), expected) << "row " << r;
  }
}

TEST(TemperatureTest, ScalesTheDistribution) {
  at::Tensor scores = Rows({{1.0f, 2.0f, 3.0f}, {1.0f, 2.0f, 3.0f}});
  std::vector<float> temperature = {2.0f, 1.0f};
  at::Tensor out = Temperature(scores.clone(), temperature);
  // softmax(x / 2) by hand.
  const double z = std::exp(0.5) + std::exp(1.0) + std::exp(1.5);
  std::vector<float> p = Row(out.softmax(1), 0);
  EXPECT_NEAR(p[0], std::exp(0.5) / z, 1e-6);
  EXPECT_NEAR(p[1], std::exp(1.0) / z, 1e-6);
  EXPECT_NEAR(p[2], std::exp(1.5) / z, 1e-6);
  EXPECT_TRUE(out[1].equal(scores[1]));  // neutral row untouched
}

TEST(TopKTest, KeepsExactlyKPlusTies) {
  at::Tensor scores =
      Rows({{1, 5, 3, 4, 2}, {1, 5, 3, 5, 2}, {1, 5, 3, 5, 2}, {1, 5, 3, 4, 2}, {1, 5, 3, 4, 2}});
  std::vector<uint32_t> top_k = {2, 1, 3, 0, 100};
  at::Tensor out = TopK(scores.clone(), top_k);
  EXPECT_EQ(Kept(out, 0), (std::set<int64_t>{1, 3}));
  EXPECT_EQ(Kept(out, 1), (std::set<int64_t>{1, 3}));  // the tie with the k-th is kept
  EXPECT_EQ(Kept(out, 2), (std::set<int64_t>{1, 2, 3}));
  EXPECT_TRUE(out[3].equal(scores[3]));  // 0 disables
  EXPECT_TRUE(out[4].equal(scores[4]));  // k above the vocabulary keeps everything
  EXPECT_EQ(Row(out, 0)[1], 5.0f);       // kept scores are unchanged
}

TEST(TopPTest, KeepsTheSmallestSetReachingP) {
  const std::vector<float> probs = {0.15f, 0.5f, 0.05f, 0.3f};
  struct Case {
    float top_p;
    std::set<int64_t> kept;
  };
  for (const Case& c : {Case{0.75f, {1, 3}}, Case{0.85f, {0, 1, 3}}, Case{0.4f, {1}},
                        Case{0.01f, {1}}, Case{0.99f, {0, 1, 2, 3}}}) {
    std::vector<float> top_p = {c.top_p};
    at::Tensor out = TopP(LogOf(probs), top_p);
    EXPECT_EQ(Kept(out, 0), c.kept) << "top_p " << c.top_p;
  }
}

TEST(TopPTest, NeutralRowUnchangedEvenWithZeroProbabilities) {
  // A row whose smallest probabilities underflow to 0 next to an active row: TGI would mask
  // them; here a top_p of 1 leaves the row exactly as it was.
  at::Tensor scores = Rows({{0.0f, -200.0f, 10.0f}, {0.0f, -200.0f, 10.0f}});
  std::vector<float> top_p = {1.0f, 0.5f};
  at::Tensor out = TopP(scores.clone(), top_p);
  EXPECT_TRUE(out[0].equal(scores[0]));
  EXPECT_EQ(Kept(out, 1), (std::set<int64_t>{2}));
}

TEST(TypicalPTest, KeepsTheMostTypicalTokensUpToTheMass) {
  // p = [0.4, 0.3, 0.2, 0.1], entropy 1.2799; |-log p - H| = [0.364, 0.076, 0.330, 1.023], so the
  // typical order is 1, 2, 0, 3 with cumulative mass 0.3, 0.5, 0.9, 1.0.
  const std::vector<float> probs = {0.4f, 0.3f, 0.2f, 0.1f};
  struct Case {
    float mass;
    std::set<int64_t> kept;
  };
  for (const Case& c :
       {Case{0.2f, {1}}, Case{0.45f, {1, 2}}, Case{0.6f, {0, 1, 2}}, Case{0.95f, {0, 1, 2, 3}}}) {
    std::vector<float> typical_p = {c.mass};
    at::Tensor out = TypicalP(LogOf(probs), typical_p);
    EXPECT_EQ(Kept(out, 0), c.kept) << "typical_p " << c.mass;
  }
}

TEST(TypicalPTest, MatchesADirectImplementationOnRandomRows) {
  // Small rows, and rows of 5000 tokens flat or peaked enough to need more candidates.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
  at::Tensor small = at::randn({6, 50}, gen) * 2;  // [6, 50]
  at::Tensor large = at::randn({4, 5000}, gen) *
                     at::tensor(std::vector<float>{0.05f, 1.0f, 4.0f, 10.0f}).unsqueeze(1);
  CheckTypicalAgainstReference(small, {0.1f, 0.3f, 0.5f, 0.7f, 0.9f, 1.0f});
  CheckTypicalAgainstReference(large, {0.9f, 0.5f, 0.95f, 0.2f});
}

TEST(TopPTest, LargeVocabularyMatchesAFullSort) {
  // Flat rows need thousands of tokens, peaked rows a handful: both candidate paths.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
  const std::vector<float> scale = {0.05f, 1.0f, 3.0f, 10.0f, 0.5f};
  const std::vector<float> top_p = {0.9f, 0.5f, 0.95f, 0.3f, 0.99f};
  at::Tensor scores = at::randn({5, 5000}, gen) * at::tensor(scale).unsqueeze(1);  // [5, 5000]
  at::Tensor out = TopP(scores.clone(), top_p);
  for (int64_t r = 0; r < 5; ++r) {
    std::set<int64_t> kept = Kept(out, r);
    EXPECT_EQ(kept, ReferenceTopP(Row(scores, r), top_p[r])) << "row " << r;
    for (int64_t id : kept) EXPECT_EQ(out[r][id].item<float>(), scores[r][id].item<float>());
  }
  EXPECT_GT(Kept(out, 0).size(), 2048u);
}

TEST(RepetitionPenaltyTest, ChangesExactlyTheSeenTokens) {
  at::Tensor scores = Rows({{2.0f, -2.0f, 1.0f, 0.5f}, {2.0f, -2.0f, 1.0f, 0.5f}});
  at::Tensor counts = Rows({{2, 1, 0, 0}, {2, 1, 0, 0}});
  std::vector<float> penalty = {2.0f, 1.0f};
  at::Tensor out = RepetitionPenalty(scores.clone(), counts, penalty);
  EXPECT_EQ(Row(out, 0), (std::vector<float>{1.0f, -4.0f, 1.0f, 0.5f}));
  EXPECT_TRUE(out[1].equal(scores[1]));
}

TEST(FrequencyPenaltyTest, SubtractsPenaltyTimesFrequency) {
  at::Tensor scores = Rows({{2.0f, -2.0f, 1.0f, 0.5f}, {2.0f, -2.0f, 1.0f, 0.5f}});
  at::Tensor counts = Rows({{3, 1, 0, 0}, {3, 1, 0, 0}});
  std::vector<int64_t> seen = {4, 4};
  std::vector<float> penalty = {0.5f, 0.0f};
  at::Tensor out = FrequencyPenalty(scores.clone(), counts, seen, penalty);
  std::vector<float> row = Row(out, 0);
  EXPECT_FLOAT_EQ(row[0], 2.0f - 0.5f * 3 / 4);
  EXPECT_FLOAT_EQ(row[1], -2.0f - 0.5f * 1 / 4);
  EXPECT_EQ(row[2], 1.0f);
  EXPECT_EQ(row[3], 0.5f);
  EXPECT_TRUE(out[1].equal(scores[1]));
}

TEST(WatermarkTest, AddsDeltaToGammaTimesVocabTokensChosenByThePreviousToken) {
  constexpr int64_t kVocab = 100;
  at::Tensor scores = at::zeros({3, kVocab});
  std::vector<int64_t> rows = {0, 2};
  std::vector<int64_t> previous = {17, 18};
  at::Tensor out = Watermark(scores.clone(), rows, previous, WatermarkConfig{0.5, 2.0});
  for (int64_t r : {0, 2}) {
    std::set<int64_t> green;
    std::vector<float> v = Row(out, r);
    for (int64_t i = 0; i < kVocab; ++i) {
      if (v[i] == 2.0f)
        green.insert(i);
      else
        EXPECT_EQ(v[i], 0.0f);
    }
    EXPECT_EQ(green.size(), 50u);
    at::Tensor list = WatermarkGreenlist(kVocab, previous[r == 0 ? 0 : 1], 0.5);
    EXPECT_EQ(green,
              std::set<int64_t>(list.data_ptr<int64_t>(), list.data_ptr<int64_t>() + list.numel()));
  }
  EXPECT_TRUE(out[1].equal(scores[1]));
  EXPECT_FALSE(out[0].equal(out[2]));  // another previous token, another greenlist

  // Same previous token, same list; gamma sets its size.
  EXPECT_TRUE(WatermarkGreenlist(kVocab, 17, 0.5).equal(WatermarkGreenlist(kVocab, 17, 0.5)));
  EXPECT_EQ(WatermarkGreenlist(kVocab, 17, 0.25).numel(), 25);
  EXPECT_EQ(WatermarkGreenlist(7, 3, 0.5).numel(), 3);  // floor(7 * 0.5)
}

TEST(BatchTopTokensTest, TopNWithTiesAndWithoutInfinities) {
  at::Tensor logprobs = Rows({{-0.1f, -1.0f, -1.0f, -2.0f, -kInf},
                              {-0.1f, -1.0f, -1.0f, -2.0f, -kInf},
                              {-0.1f, -1.0f, -1.0f, -2.0f, -kInf},
                              {-0.5f, -1.0f, -kInf, -kInf, -kInf},
                              {-0.1f, -1.0f, -1.5f, -2.0f, -3.0f}});
  std::vector<uint32_t> top_n = {2, 1, 0, 4, 9};
  std::vector<TopTokens> top = BatchTopTokens(logprobs, top_n);
  ASSERT_EQ(top.size(), 5u);
  EXPECT_EQ(top[0].ids[0], 0);
  EXPECT_EQ(std::set<int64_t>(top[0].ids.begin(), top[0].ids.end()),
            (std::set<int64_t>{0, 1, 2}));  // the tie at the 2nd value comes along
  EXPECT_EQ(top[0].logprobs, (std::vector<float>{-0.1f, -1.0f, -1.0f}));
  EXPECT_EQ(top[1].ids, (std::vector<int64_t>{0}));
  EXPECT_TRUE(top[2].ids.empty());
  EXPECT_EQ(top[3].ids, (std::vector<int64_t>{0, 1}));           // only finite ones
  EXPECT_EQ(top[4].ids, (std::vector<int64_t>{0, 1, 2, 3, 4}));  // n capped at the vocabulary
  EXPECT_EQ(top[4].logprobs, (std::vector<float>{-0.1f, -1.0f, -1.5f, -2.0f, -3.0f}));
}

TEST(PrefillLogprobsTest, LogprobOfEachNextPromptToken) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  at::Tensor logits = at::randn({4, 10}, gen);  // [T, vocab]
  std::vector<int64_t> ids = {5, 1, 9, 0};
  std::vector<float> lp = PrefillLogprobs(logits, ids);
  ASSERT_EQ(lp.size(), 4u);
  EXPECT_TRUE(std::isnan(lp[0]));
  at::Tensor reference = logits.log_softmax(1);
  for (int i = 1; i < 4; ++i) EXPECT_NEAR(lp[i], reference[i - 1][ids[i]].item<float>(), 1e-5);
  EXPECT_EQ(PrefillLogprobs(logits.narrow(0, 0, 1), std::vector<int64_t>{5}).size(), 1u);
}

}  // namespace
}  // namespace tgi::shard
