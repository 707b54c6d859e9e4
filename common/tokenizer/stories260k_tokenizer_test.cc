// The bundled stories260K tokenizer (sentencepiece-style BPE with byte fallback) against the
// llama2.c oracle: prompt encodings, decoding and TGI-style streaming of the generated ids.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/tokenizer/tokenizer.h"

namespace tgi::common {
namespace {

struct OracleCase {
  std::string name;
  std::string prompt;
  std::vector<int32_t> prompt_tokens_with_bos;
  std::vector<int32_t> generated_tokens;
  std::string generated_text;
  std::string run_c_stdout;
};

std::vector<int32_t> ToIds(const boost::json::value& value) {
  std::vector<int32_t> ids;
  for (const auto& id : value.as_array()) ids.push_back(static_cast<int32_t>(id.as_int64()));
  return ids;
}

std::vector<OracleCase> LoadOracle() {
  std::ifstream file(TGI_TESTDATA_DIR "/oracle/stories260K_greedy.json");
  std::stringstream content;
  content << file.rdbuf();
  const boost::json::value root = boost::json::parse(content.str());
  std::vector<OracleCase> cases;
  for (const auto& item : root.at("cases").as_array()) {
    const auto& object = item.as_object();
    cases.push_back(
        {std::string(object.at("name").as_string()), std::string(object.at("prompt").as_string()),
         ToIds(object.at("prompt_tokens_with_bos")), ToIds(object.at("generated_tokens")),
         std::string(object.at("generated_text").as_string()),
         std::string(object.at("run_c_stdout").as_string())});
  }
  return cases;
}

// Loaded once; a load failure fails every test (in SetUp) rather than skipping it.
class Stories260kTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static const absl::StatusOr<std::unique_ptr<Tokenizer>>* loaded =
        new absl::StatusOr<std::unique_ptr<Tokenizer>>(
            Tokenizer::FromDirectory(TGI_MODELS_DIR "/stories260K"));
    static const std::vector<OracleCase>* cases = new std::vector<OracleCase>(LoadOracle());
    ASSERT_TRUE(loaded->ok()) << loaded->status();
    tokenizer_ = loaded->value().get();
    cases_ = cases;
  }
  const Tokenizer* tokenizer_ = nullptr;
  const std::vector<OracleCase>* cases_ = nullptr;
};

TEST_F(Stories260kTest, OracleHasCases) { EXPECT_EQ(cases_->size(), 4u); }

TEST_F(Stories260kTest, PromptsEncodeToOracleTokens) {
  for (const OracleCase& c : *cases_) {
    auto ids = tokenizer_->Encode(c.prompt, /*add_special_tokens=*/true);
    ASSERT_TRUE(ids.ok()) << c.name << ": " << ids.status();
    EXPECT_EQ(*ids, c.prompt_tokens_with_bos) << c.name;
  }
}

TEST_F(Stories260kTest, EncodeWithOffsetsHasTheOracleTokens) {
  for (const OracleCase& c : *cases_) {
    auto tokens = tokenizer_->EncodeWithOffsets(c.prompt, /*add_special_tokens=*/true);
    ASSERT_TRUE(tokens.ok()) << c.name << ": " << tokens.status();
    std::vector<int32_t> ids;
    for (const TokenWithOffsets& token : *tokens) {
      ids.push_back(token.id);
      EXPECT_LE(token.start, token.stop) << c.name;
      EXPECT_LE(token.stop, c.prompt.size()) << c.name;
    }
    EXPECT_EQ(ids, c.prompt_tokens_with_bos) << c.name;
  }
}

// The oracle's generated_text is what TGI streams: DecodeToken one id at a time from the prompt
// (skip_special_tokens=false, prefix_offset = max(0, len(prompt) - 5), read_offset = len(prompt)).
TEST_F(Stories260kTest, StreamingDecodeMatchesGeneratedText) {
  for (const OracleCase& c : *cases_) {
    std::vector<int32_t> ids = c.prompt_tokens_with_bos;
    size_t read_offset = ids.size();
    size_t prefix_offset = read_offset >= 5 ? read_offset - 5 : 0;
    std::string streamed;
    for (int32_t id : c.generated_tokens) {
      ids.push_back(id);
      Tokenizer::DecodeStep step = tokenizer_->DecodeToken(ids, prefix_offset, read_offset);
      streamed += step.text;
      prefix_offset = step.prefix_offset;
      read_offset = step.read_offset;
    }
    EXPECT_EQ(streamed, c.generated_text) << c.name;
  }
}

// Decoding the generated ids alone: the Strip decoder removes the one leading space of the first
// token ("▁Once" -> "Once") that the streamed text keeps; other first tokens ("," here) are
// unchanged.
TEST_F(Stories260kTest, DecodeGeneratedTokensStripsOneLeadingSpace) {
  int stripped = 0;
  for (const OracleCase& c : *cases_) {
    ASSERT_FALSE(c.generated_text.empty());
    const bool leading_space = c.generated_text[0] == ' ';
    stripped += leading_space;
    EXPECT_EQ(tokenizer_->Decode(c.generated_tokens, /*skip_special_tokens=*/true),
              leading_space ? c.generated_text.substr(1) : c.generated_text)
        << c.name;
  }
  EXPECT_EQ(stripped, 3);
}

// TGI's final generated_text: decode_token(all ids, prefix = len(prompt) - 1, read = len(prompt),
// skip_special_tokens=true). With an empty prompt the prefix is the skipped BOS, so the Strip
// decoder drops the leading space there.
TEST_F(Stories260kTest, FinalTextAsTgiComputesIt) {
  for (const OracleCase& c : *cases_) {
    std::vector<int32_t> ids = c.prompt_tokens_with_bos;
    ids.insert(ids.end(), c.generated_tokens.begin(), c.generated_tokens.end());
    const size_t read_offset = c.prompt_tokens_with_bos.size();
    Tokenizer::DecodeStep step =
        tokenizer_->DecodeToken(ids, read_offset - 1, read_offset, /*skip_special_tokens=*/true);
    const std::string expected = c.prompt.empty() ? c.generated_text.substr(1) : c.generated_text;
    EXPECT_EQ(step.text, expected) << c.name;
    EXPECT_EQ(step.prefix_offset, read_offset);
    EXPECT_EQ(step.read_offset, ids.size());
  }
}

// Prompt and continuation decoded together read as llama2.c printed them (except the emoji
// case: run.c does not print the raw bytes of byte-fallback tokens).
TEST_F(Stories260kTest, FullDecodeMatchesRunCOutput) {
  for (const OracleCase& c : *cases_) {
    if (c.name == "byte_fallback_64") continue;
    std::vector<int32_t> ids = c.prompt_tokens_with_bos;
    ids.insert(ids.end(), c.generated_tokens.begin(), c.generated_tokens.end());
    EXPECT_EQ(tokenizer_->Decode(ids, /*skip_special_tokens=*/true), c.run_c_stdout) << c.name;
  }
}

TEST_F(Stories260kTest, ByteFallbackPromptRoundTrips) {
  for (const OracleCase& c : *cases_) {
    EXPECT_EQ(tokenizer_->Decode(c.prompt_tokens_with_bos, /*skip_special_tokens=*/true), c.prompt)
        << c.name;
  }
}

TEST_F(Stories260kTest, SpecialTokensAndConfig) {
  EXPECT_EQ(tokenizer_->bos_token_id(), 1);
  EXPECT_EQ(tokenizer_->eos_token_id(), 2);
  // generation_config.json lists [2, 1]: llama2.c stops on BOS too.
  EXPECT_EQ(tokenizer_->eos_token_ids(), (std::vector<int32_t>{2, 1}));
  EXPECT_TRUE(tokenizer_->add_bos_token());
  EXPECT_FALSE(tokenizer_->add_eos_token());
  EXPECT_EQ(tokenizer_->VocabSize(), 512);
  EXPECT_TRUE(tokenizer_->IsSpecial(0));
  EXPECT_TRUE(tokenizer_->IsSpecial(1));
  EXPECT_TRUE(tokenizer_->IsSpecial(2));
  EXPECT_FALSE(tokenizer_->IsSpecial(3));
  EXPECT_EQ(tokenizer_->IdToToken(3), "<0x00>");
  EXPECT_EQ(tokenizer_->TokenToId("<s>"), 1);
  EXPECT_EQ(tokenizer_->IdToToken(512), "");
  EXPECT_EQ(tokenizer_->TokenToId("no such token"), std::nullopt);
  auto without_bos = tokenizer_->Encode("Once upon a time", /*add_special_tokens=*/false);
  ASSERT_TRUE(without_bos.ok());
  EXPECT_EQ(*without_bos, (std::vector<int32_t>{403, 407, 261, 378}));
}

}  // namespace
}  // namespace tgi::common
