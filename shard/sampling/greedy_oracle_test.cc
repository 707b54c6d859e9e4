// Greedy choice on the oracle's real stories260K logits: batched with sampling companions and
// free rows, each case must reproduce the oracle's ids, and stop by length where the oracle did.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "shard/sampling/sampling_state.h"
#include "shard/sampling/stopping.h"

namespace tgi::shard {
namespace {

constexpr int64_t kVocab = 512;

struct OracleCase {
  std::vector<int64_t> prompt;
  std::vector<int64_t> generated;
  at::Tensor logits;  // [generated, vocab]
};

std::vector<int64_t> Ids(const boost::json::value& array) {
  std::vector<int64_t> ids;
  for (const auto& v : array.as_array()) ids.push_back(v.to_number<int64_t>());
  return ids;
}

std::map<std::string, OracleCase> LoadCases() {
  const std::string dir = std::string(TGI_TESTDATA_DIR) + "/oracle/";
  std::ifstream json_file(dir + "stories260K_greedy.json");
  std::string text((std::istreambuf_iterator<char>(json_file)), std::istreambuf_iterator<char>());
  boost::json::value root = boost::json::parse(text);
  std::map<std::string, OracleCase> cases;
  for (const auto& c : root.at("cases").as_array()) {
    const std::string name(c.at("name").as_string());
    std::ifstream bin(dir + "stories260K_logits/" + name + ".logits.f32", std::ios::binary);
    if (!bin) continue;  // not every case has logits
    std::vector<char> bytes((std::istreambuf_iterator<char>(bin)),
                            std::istreambuf_iterator<char>());
    const auto rows = static_cast<int64_t>(bytes.size() / (sizeof(float) * kVocab));
    OracleCase oracle{Ids(c.at("prompt_tokens_with_bos")), Ids(c.at("generated_tokens")),
                      at::from_blob(bytes.data(), {rows, kVocab}, at::kFloat).clone()};
    cases.emplace(name, std::move(oracle));
  }
  return cases;
}

TEST(GreedyOracleTest, BatchedGreedyReproducesTheOracle) {
  std::map<std::string, OracleCase> cases = LoadCases();
  ASSERT_EQ(cases.size(), 3u);

  // Bucket of 8: the three cases in rows 1, 4, 6; sampling companions in rows 0 and 5.
  SamplingState state(8, kVocab);
  std::map<int64_t, const OracleCase*> at_row;
  std::map<int64_t, StoppingCriteria> stopping;
  int64_t row_for[] = {1, 4, 6};
  int i = 0;
  for (const auto& [name, oracle] : cases) {
    const int64_t row = row_for[i++];
    ASSERT_EQ(oracle.logits.size(0), static_cast<int64_t>(oracle.generated.size())) << name;
    ASSERT_TRUE(state.SetRow(row, SamplingParams{}, oracle.prompt).ok());
    at_row[row] = &oracle;
    const auto max_new = static_cast<uint32_t>(oracle.generated.size());
    stopping.emplace(row, StoppingCriteria(StoppingParams{.max_new_tokens = max_new}, {2, 1}));
  }
  ASSERT_TRUE(
      state.SetRow(0, SamplingParams{.do_sample = true, .seed = 1}, std::vector<int64_t>{1}).ok());
  ASSERT_TRUE(
      state.SetRow(5, SamplingParams{.top_k = 3, .seed = 2}, std::vector<int64_t>{1, 5}).ok());

  std::map<int64_t, std::vector<int64_t>> got;
  for (int64_t step = 0; !at_row.empty(); ++step) {
    at::Tensor logits = at::randn({8, kVocab});  // [8, vocab]: companions and free rows
    for (const auto& [row, oracle] : at_row) logits[row].copy_(oracle->logits[step]);
    auto chosen = state.Choose(logits);
    ASSERT_TRUE(chosen.ok()) << chosen.status();
    for (const ChosenToken& t : *chosen) {
      auto it = at_row.find(t.row);
      if (it == at_row.end()) continue;
      got[t.row].push_back(t.id);
      std::optional<FinishReason> reason = stopping.at(t.row).Step(t.id, "");
      if (reason.has_value()) {
        EXPECT_EQ(*reason, FinishReason::kLength);
        EXPECT_EQ(got[t.row], it->second->generated) << "row " << t.row;
        state.ClearRow(t.row);
        at_row.erase(it);
      }
    }
  }
  EXPECT_EQ(state.NumLive(), 2);
  EXPECT_EQ(got.size(), 3u);
}

}  // namespace
}  // namespace tgi::shard
