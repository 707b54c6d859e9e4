#include "shard/sampling/sampling_state.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

namespace tgi::shard {
namespace {

constexpr int64_t kVocab = 64;

// Deterministic logits [vocab] for one request at one step, independent of batch layout.
at::Tensor StepLogits(int64_t request, int64_t step) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1000 * request + step);
  return at::randn({kVocab}, gen) * 2;
}

// Logits [batch, vocab] where row r carries request placement[r]'s logits (-1: free row, noise).
at::Tensor BatchLogits(const std::vector<int64_t>& placement, int64_t step) {
  std::vector<at::Tensor> rows;
  for (int64_t request : placement) {
    rows.push_back(request < 0 ? at::full({kVocab}, std::nan("")) : StepLogits(request, step));
  }
  return at::stack(rows);
}

std::vector<int64_t> Prompt(int64_t request) {
  return {request % kVocab, (3 * request + 1) % kVocab, 5, 5, (7 * request + 2) % kVocab};
}

// A spread of parameter sets, from all neutral (0) to everything at once (7).
std::vector<SamplingParams> ParamSets() {
  std::vector<SamplingParams> sets(8);
  sets[1].do_sample = true;
  sets[1].seed = 11;
  sets[2].temperature = 0.7f;
  sets[2].seed = 12;
  sets[3].top_k = 5;
  sets[3].seed = 13;
  sets[4].top_p = 0.8f;
  sets[4].typical_p = 0.9f;
  sets[4].seed = 14;
  sets[5].repetition_penalty = 1.3f;
  sets[5].frequency_penalty = 0.5f;
  sets[6].watermark = true;
  sets[6].do_sample = true;
  sets[6].seed = 16;
  sets[7] = SamplingParams{.temperature = 0.9f,
                           .top_k = 10,
                           .top_p = 0.9f,
                           .typical_p = 0.9f,
                           .do_sample = true,
                           .seed = 17,
                           .repetition_penalty = 1.2f,
                           .frequency_penalty = 0.1f,
                           .watermark = true};
  return sets;
}

// Tokens request `request` gets over `steps` steps when it sits alone in a batch of one.
std::vector<int64_t> RunAlone(const SamplingParams& params, int64_t request, int steps) {
  SamplingState state(1, kVocab);
  EXPECT_TRUE(state.SetRow(0, params, Prompt(request)).ok());
  std::vector<int64_t> tokens;
  for (int step = 0; step < steps; ++step) {
    auto chosen = state.Choose(BatchLogits({request}, step));
    EXPECT_TRUE(chosen.ok()) << chosen.status();
    tokens.push_back((*chosen)[0].id);
  }
  return tokens;
}

TEST(SamplingStateTest, GreedyIsArgmax) {
  SamplingState state(3, kVocab);
  ASSERT_TRUE(state.SetRow(0, SamplingParams{}, Prompt(0)).ok());
  ASSERT_TRUE(state.SetRow(2, SamplingParams{}, Prompt(2)).ok());
  EXPECT_FALSE(state.Samples(0));
  at::Tensor logits = BatchLogits({0, -1, 2}, 0);
  auto chosen = state.Choose(logits);
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  ASSERT_EQ(chosen->size(), 2u);
  EXPECT_EQ((*chosen)[0].row, 0);
  EXPECT_EQ((*chosen)[1].row, 2);
  EXPECT_EQ((*chosen)[0].id, logits[0].argmax().item<int64_t>());
  EXPECT_EQ((*chosen)[1].id, logits[2].argmax().item<int64_t>());
  EXPECT_NEAR((*chosen)[0].logprob, logits[0].log_softmax(0).max().item<float>(), 1e-6);
}

TEST(SamplingStateTest, SamplingSwitch) {
  SamplingState state(5, kVocab);
  ASSERT_TRUE(state.SetRow(0, SamplingParams{.do_sample = true}, Prompt(0)).ok());
  ASSERT_TRUE(state.SetRow(1, SamplingParams{.temperature = 0.5f}, Prompt(0)).ok());
  ASSERT_TRUE(state.SetRow(2, SamplingParams{.typical_p = 0.5f}, Prompt(0)).ok());
  ASSERT_TRUE(state.SetRow(3, SamplingParams{.repetition_penalty = 2.0f}, Prompt(0)).ok());
  ASSERT_TRUE(state.SetRow(4, SamplingParams{.watermark = true}, Prompt(0)).ok());
  EXPECT_TRUE(state.Samples(0));
  EXPECT_TRUE(state.Samples(1));
  EXPECT_TRUE(state.Samples(2));
  EXPECT_FALSE(state.Samples(3));
  EXPECT_FALSE(state.Samples(4));
}

TEST(SamplingStateTest, HeterogeneousBatchEqualsEachRowAlone) {
  std::vector<SamplingParams> sets = ParamSets();
  const int64_t batch = static_cast<int64_t>(sets.size()) + 2;
  SamplingState state(batch, kVocab);
  std::vector<int64_t> placement(batch, -1);
  for (size_t i = 0; i < sets.size(); ++i) {
    const int64_t row = static_cast<int64_t>(i) + 1;  // row 0 and the last row stay free
    placement[row] = static_cast<int64_t>(i);
    ASSERT_TRUE(state.SetRow(row, sets[i], Prompt(placement[row])).ok());
  }
  // Processed scores, row by row, equal those of a batch of one.
  at::Tensor logits = BatchLogits(placement, 0);
  auto processed = state.ProcessLogits(logits);
  ASSERT_TRUE(processed.ok()) << processed.status();
  for (size_t i = 0; i < sets.size(); ++i) {
    SamplingState alone(1, kVocab);
    ASSERT_TRUE(alone.SetRow(0, sets[i], Prompt(static_cast<int64_t>(i))).ok());
    auto expected = alone.ProcessLogits(BatchLogits({static_cast<int64_t>(i)}, 0));
    ASSERT_TRUE(expected.ok());
    EXPECT_TRUE(at::allclose((*processed)[i + 1], (*expected)[0], 1e-6, 1e-6, true))
        << "parameter set " << i;
    EXPECT_TRUE(((*processed)[i + 1] == -INFINITY).equal((*expected)[0] == -INFINITY));
  }
  // And so do the tokens over many steps.
  constexpr int kSteps = 30;
  std::vector<std::vector<int64_t>> batched(sets.size());
  for (int step = 0; step < kSteps; ++step) {
    auto chosen = state.Choose(BatchLogits(placement, step));
    ASSERT_TRUE(chosen.ok()) << chosen.status();
    ASSERT_EQ(chosen->size(), sets.size());
    for (const ChosenToken& t : *chosen) batched[placement[t.row]].push_back(t.id);
  }
  for (size_t i = 0; i < sets.size(); ++i) {
    EXPECT_EQ(batched[i], RunAlone(sets[i], static_cast<int64_t>(i), kSteps)) << "set " << i;
  }
}

TEST(SamplingStateTest, SeedDeterminesTheSequence) {
  SamplingParams params{.temperature = 1.5f, .do_sample = true, .seed = 42};
  std::vector<int64_t> first = RunAlone(params, 3, 50);
  EXPECT_EQ(first, RunAlone(params, 3, 50));

  // Same request with other companions, at another position.
  SamplingState state(4, kVocab);
  SamplingParams other{.do_sample = true, .seed = 7};
  ASSERT_TRUE(state.SetRow(0, other, Prompt(9)).ok());
  ASSERT_TRUE(state.SetRow(1, SamplingParams{}, Prompt(8)).ok());
  ASSERT_TRUE(state.SetRow(3, params, Prompt(3)).ok());
  std::vector<int64_t> placed;
  for (int step = 0; step < 50; ++step) {
    auto chosen = state.Choose(BatchLogits({9, 8, -1, 3}, step));
    ASSERT_TRUE(chosen.ok());
    placed.push_back(chosen->back().id);
  }
  EXPECT_EQ(placed, first);

  params.seed = 43;
  EXPECT_NE(RunAlone(params, 3, 50), first);
}

TEST(SamplingStateTest, EmpiricalFrequenciesFollowTheProcessedDistribution) {
  // 1000 rows with seeds 0..999 draw 20 times each from the same logits after temperature and
  // top-k; a chi-square test against softmax of the processed logits (fixed seeds: deterministic).
  constexpr int64_t kRows = 1000;
  constexpr int kSteps = 20;
  const std::vector<float> raw = {1.0f, 0.5f, 0.0f, -0.5f, 2.0f, -3.0f};
  const int64_t vocab = static_cast<int64_t>(raw.size());
  SamplingState state(kRows, vocab);
  for (int64_t r = 0; r < kRows; ++r) {
    SamplingParams p{.temperature = 1.3f, .top_k = 4, .seed = static_cast<uint64_t>(r)};
    ASSERT_TRUE(state.SetRow(r, p, std::vector<int64_t>{0}).ok());
  }
  at::Tensor logits = at::tensor(raw).unsqueeze(0).expand({kRows, vocab}).contiguous();
  std::vector<double> counts(vocab, 0.0);
  for (int step = 0; step < kSteps; ++step) {
    auto chosen = state.Choose(logits);
    ASSERT_TRUE(chosen.ok());
    for (const ChosenToken& t : *chosen) counts[t.id] += 1;
  }
  // By hand: top-4 keeps ids 4, 0, 1, 2; then softmax(x / 1.3) over them.
  std::vector<double> expected(vocab, 0.0);
  double z = 0;
  for (int64_t i : {0, 1, 2, 4}) z += std::exp(raw[i] / 1.3);
  for (int64_t i : {0, 1, 2, 4}) expected[i] = std::exp(raw[i] / 1.3) / z;
  EXPECT_EQ(counts[3], 0.0);
  EXPECT_EQ(counts[5], 0.0);
  const double total = static_cast<double>(kRows) * kSteps;
  double chi2 = 0;
  for (int64_t i : {0, 1, 2, 4}) {
    const double e = expected[i] * total;
    chi2 += (counts[i] - e) * (counts[i] - e) / e;
  }
  EXPECT_LT(chi2, 16.27) << "3 degrees of freedom, p = 0.001";
}

TEST(SamplingStateTest, LogprobsAndTopTokensComeFromTheProcessedLogits) {
  SamplingState state(2, kVocab);
  SamplingParams params{.temperature = 0.5f, .top_k = 8, .do_sample = true, .seed = 5};
  ASSERT_TRUE(state.SetRow(0, params, Prompt(1), /*top_n_tokens=*/3).ok());
  ASSERT_TRUE(state.SetRow(1, SamplingParams{}, Prompt(2), /*top_n_tokens=*/0).ok());
  at::Tensor logits = BatchLogits({1, 2}, 0);
  auto processed = state.ProcessLogits(logits);
  ASSERT_TRUE(processed.ok());
  at::Tensor expected = processed->log_softmax(1);  // [2, vocab]
  auto chosen = state.Choose(logits);
  ASSERT_TRUE(chosen.ok());
  for (const ChosenToken& t : *chosen) {
    EXPECT_NEAR(t.logprob, expected[t.row][t.id].item<float>(), 1e-6);
  }
  const TopTokens& top = (*chosen)[0].top_tokens;
  auto [values, ids] = expected[0].topk(3);
  ASSERT_EQ(top.ids.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(top.ids[i], ids[i].item<int64_t>());
    EXPECT_FLOAT_EQ(top.logprobs[i], values[i].item<float>());
  }
  EXPECT_TRUE((*chosen)[1].top_tokens.ids.empty());
}

TEST(SamplingStateTest, PenaltiesSeePromptAndGeneratedTokens) {
  SamplingState state(1, kVocab);
  SamplingParams params{.repetition_penalty = 2.0f, .frequency_penalty = 1.0f};
  const std::vector<int64_t> prompt = {3, 3, 9};
  ASSERT_TRUE(state.SetRow(0, params, prompt).ok());
  at::Tensor logits = at::ones({1, kVocab});
  auto before = state.ProcessLogits(logits);
  ASSERT_TRUE(before.ok());
  // Seen tokens: 1 / 2, then minus count / 3.
  EXPECT_FLOAT_EQ((*before)[0][3].item<float>(), 0.5f - 2.0f / 3);
  EXPECT_FLOAT_EQ((*before)[0][9].item<float>(), 0.5f - 1.0f / 3);
  EXPECT_EQ((*before)[0][4].item<float>(), 1.0f);

  at::Tensor favour = at::ones({1, kVocab});
  favour[0][20] = 5.0f;
  auto chosen = state.Choose(favour);
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ((*chosen)[0].id, 20);
  EXPECT_EQ(state.SeenTokens(0), 4);
  auto after = state.ProcessLogits(logits);
  ASSERT_TRUE(after.ok());
  EXPECT_FLOAT_EQ((*after)[0][20].item<float>(), 0.5f - 1.0f / 4);
  EXPECT_FLOAT_EQ((*after)[0][3].item<float>(), 0.5f - 2.0f / 4);
}

TEST(SamplingStateTest, WatermarkFollowsThePreviousToken) {
  SamplingState state(1, kVocab, WatermarkConfig{.gamma = 0.25, .delta = 3.0});
  ASSERT_TRUE(state.SetRow(0, SamplingParams{.watermark = true}, std::vector<int64_t>{1, 7}).ok());
  at::Tensor zeros = at::zeros({1, kVocab});
  auto processed = state.ProcessLogits(zeros);
  ASSERT_TRUE(processed.ok());
  at::Tensor green = WatermarkGreenlist(kVocab, 7, 0.25);
  EXPECT_EQ(((*processed)[0] == 3.0f).sum().item<int64_t>(), kVocab / 4);
  EXPECT_TRUE((*processed)[0].index({green}).eq(3.0f).all().item<bool>());
}

// Runs the same requests in a reference state that never moves and in states that get copied,
// cleared and resized between steps; the tokens must not change.
TEST(SamplingStateTest, RowOperationsKeepHistoryAndGenerators) {
  std::vector<SamplingParams> sets = ParamSets();
  const int64_t n = static_cast<int64_t>(sets.size());
  SamplingState reference(n, kVocab);
  SamplingState first(n, kVocab);
  std::vector<int64_t> placement(n);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(reference.SetRow(i, sets[i], Prompt(i)).ok());
    ASSERT_TRUE(first.SetRow(i, sets[i], Prompt(i)).ok());
    placement[i] = i;
  }
  std::map<int64_t, std::vector<int64_t>> want, got;
  auto step_reference = [&](int step) {
    std::vector<int64_t> all(n);
    for (int64_t i = 0; i < n; ++i) all[i] = i;
    auto chosen = reference.Choose(BatchLogits(all, step));
    ASSERT_TRUE(chosen.ok());
    for (const ChosenToken& t : *chosen) want[t.row].push_back(t.id);
  };
  auto step_moved = [&](SamplingState& state, const std::vector<int64_t>& where, int step) {
    auto chosen = state.Choose(BatchLogits(where, step));
    ASSERT_TRUE(chosen.ok());
    for (const ChosenToken& t : *chosen) got[where[t.row]].push_back(t.id);
  };

  int step = 0;
  for (; step < 5; ++step) {
    step_reference(step);
    step_moved(first, placement, step);
  }
  // Concatenate into a bigger bucket that already holds one unrelated request in row 0, rows in
  // reverse order into the free slots.
  SamplingState second(2, kVocab);
  ASSERT_TRUE(second.SetRow(0, SamplingParams{.do_sample = true, .seed = 99}, Prompt(50)).ok());
  ASSERT_TRUE(second.Resize(n + 4).ok());
  std::vector<int64_t> src, dst;
  std::vector<int64_t> where(n + 4, -1);
  where[0] = 50;
  for (int64_t i = 0; i < n; ++i) {
    src.push_back(i);
    dst.push_back(n + 3 - i);
    where[n + 3 - i] = i;
  }
  ASSERT_TRUE(second.CopyRowsFrom(first, src, dst).ok());
  first.ClearRow(0);  // the source keeps running independently of the copy
  for (; step < 10; ++step) {
    step_reference(step);
    step_moved(second, where, step);
    ASSERT_TRUE(first.Choose(BatchLogits({-1, 1, 2, 3, 4, 5, 6, 7}, step)).ok());
  }
  // Filter the unrelated request, compact within the same state, shrink.
  second.ClearRow(0);
  where[0] = -1;
  std::vector<int64_t> from, to;
  std::vector<int64_t> compact(n, -1);
  for (int64_t row = 0; row < n + 4; ++row) {
    if (where[row] >= 0) {
      from.push_back(row);
      to.push_back(static_cast<int64_t>(to.size()));
    }
  }
  ASSERT_TRUE(second.CopyRowsFrom(second, from, to).ok());
  for (size_t i = 0; i < from.size(); ++i) compact[to[i]] = where[from[i]];
  for (int64_t row = n; row < n + 4; ++row) second.ClearRow(row);
  EXPECT_FALSE(second.Resize(n - 1).ok());  // would drop a live row
  ASSERT_TRUE(second.Resize(n).ok());
  for (; step < 15; ++step) {
    step_reference(step);
    step_moved(second, compact, step);
  }
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(got[i], want[i]) << "request " << i;
  // The processed scores (penalty history, watermark) agree too.
  auto a = reference.ProcessLogits(BatchLogits(placement, step));
  auto b = second.ProcessLogits(BatchLogits(compact, step));
  ASSERT_TRUE(a.ok() && b.ok());
  for (int64_t row = 0; row < n; ++row) {
    EXPECT_TRUE(at::allclose((*a)[compact[row]], (*b)[row], 1e-6, 1e-6, true));
  }
}

TEST(SamplingStateTest, Errors) {
  SamplingState state(2, kVocab);
  EXPECT_FALSE(state.SetRow(2, SamplingParams{}, Prompt(0)).ok());
  EXPECT_FALSE(state.SetRow(0, SamplingParams{}, std::vector<int64_t>{kVocab}).ok());
  EXPECT_FALSE(state.Choose(at::zeros({3, kVocab})).ok());
  EXPECT_FALSE(state.Choose(at::Tensor()).ok());
  SamplingState other(2, kVocab + 1);
  EXPECT_FALSE(state.CopyRowsFrom(other, std::vector<int64_t>{0}, std::vector<int64_t>{1}).ok());
  auto none = state.Choose(at::zeros({2, kVocab}));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace tgi::shard
