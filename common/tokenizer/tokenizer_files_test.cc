// Loading: clear errors for unreadable or malformed files and unsupported components, the config
// files around tokenizer.json (eos lists, config.json fallback, transformers' Llama
// post-processor rebuild, clean_up_tokenization_spaces), and concurrent use from many threads.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/tokenizer/tokenizer.h"

namespace tgi::common {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

std::string StoriesJson() {
  return ReadFile(fs::path(TGI_MODELS_DIR) / "stories260K/tokenizer.json");
}

// A fresh directory holding the given files.
fs::path MakeDir(const std::string& name,
                 const std::vector<std::pair<std::string, std::string>>& files) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("tgi_tokenizer_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& [file, content] : files) std::ofstream(dir / file, std::ios::binary) << content;
  return dir;
}

void ExpectError(const absl::StatusOr<std::unique_ptr<Tokenizer>>& result,
                 const std::string& expected) {
  ASSERT_FALSE(result.ok()) << "expected an error mentioning " << expected;
  EXPECT_NE(std::string(result.status().message()).find(expected), std::string::npos)
      << result.status();
}

// tokenizer.json of stories260K with one top-level field replaced.
std::string StoriesWith(const std::string& field, const std::string& json) {
  boost::json::value root = boost::json::parse(StoriesJson());
  root.as_object()[field] = boost::json::parse(json);
  return boost::json::serialize(root);
}

TEST(TokenizerFilesTest, UnreadableAndMalformedFiles) {
  auto missing = Tokenizer::FromDirectory("/nonexistent/model/dir");
  ExpectError(missing, "/nonexistent/model/dir/tokenizer.json");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  ExpectError(Tokenizer::FromDirectory(MakeDir("malformed", {{"tokenizer.json", "{\"model\": "}})),
              "malformed JSON");
  ExpectError(Tokenizer::FromJson(""), "malformed JSON");
  ExpectError(Tokenizer::FromJson("[1, 2]"), "not a JSON object");
  ExpectError(Tokenizer::FromJson("{}"), "no \"model\"");
  ExpectError(Tokenizer::FromJson("{\"model\": {\"type\": \"BPE\", \"vocab\": \xff}}"),
              "malformed JSON");
  ExpectError(Tokenizer::FromDirectory(MakeDir("bad_config", {{"tokenizer.json", StoriesJson()},
                                                              {"tokenizer_config.json", "{,}"}})),
              "tokenizer_config.json");
  ExpectError(Tokenizer::FromDirectory(MakeDir(
                  "bad_generation", {{"tokenizer.json", StoriesJson()},
                                     {"generation_config.json", R"({"eos_token_id": ["2"]})"}})),
              "eos_token_id");
}

// Special tokens missing from the vocabulary stay undefined instead of failing the load.
TEST(TokenizerFilesTest, UnknownSpecialTokensAreUndefined) {
  auto tokenizer = Tokenizer::FromDirectory(
      MakeDir("unknown_specials",
              {{"tokenizer.json", StoriesJson()},
               {"tokenizer_config.json", R"({"eos_token": "<nope>", "pad_token": "[PAD]"})"},
               {"generation_config.json", R"({"eos_token_id": 2})"}}));
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ((*tokenizer)->eos_token_ids(), (std::vector<int32_t>{2}));
  EXPECT_EQ((*tokenizer)->eos_token_id(), 2);
  EXPECT_EQ((*tokenizer)->pad_token_id(), std::nullopt);
}

TEST(TokenizerFilesTest, UnsupportedComponentsAreNamed) {
  ExpectError(Tokenizer::FromJson(StoriesWith("normalizer", R"({"type":"Precompiled"})")),
              "unsupported normalizer type \"Precompiled\"");
  ExpectError(Tokenizer::FromJson(StoriesWith("pre_tokenizer", R"({"type":"UnicodeScripts"})")),
              "unsupported pre_tokenizer type \"UnicodeScripts\"");
  ExpectError(Tokenizer::FromJson(StoriesWith("decoder", R"({"type":"WordPiece"})")),
              "unsupported decoder type \"WordPiece\"");
  ExpectError(Tokenizer::FromJson(StoriesWith("post_processor", R"({"type":"Fancy"})")),
              "unsupported post_processor type \"Fancy\"");
  ExpectError(Tokenizer::FromJson(StoriesWith("model", R"({"type":"Unigram","vocab":[]})")),
              "unsupported model type \"Unigram\"");
  ExpectError(Tokenizer::FromJson(StoriesWith("added_tokens", R"([{"content":"<x>"}])")),
              "has no id");
  ExpectError(
      Tokenizer::FromJson(StoriesWith("post_processor", R"({"type":"TemplateProcessing","single":[
                      {"SpecialToken":{"id":"<bos>","type_id":0}},{"Sequence":{"id":"A"}}],
                      "special_tokens":{}})")),
      "<bos>");
}

TEST(TokenizerFilesTest, EosIdsFromGenerationConfigOrConfig) {
  const std::string tokenizer_config = R"({"bos_token": "<s>", "eos_token": "</s>"})";
  auto listed = Tokenizer::FromDirectory(
      MakeDir("eos_list", {{"tokenizer.json", StoriesJson()},
                           {"tokenizer_config.json", tokenizer_config},
                           {"generation_config.json", R"({"eos_token_id": [5, 2]})"},
                           {"config.json", R"({"eos_token_id": 9})"}}));
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ((*listed)->eos_token_ids(), (std::vector<int32_t>{5, 2}));
  EXPECT_EQ((*listed)->eos_token_id(), 2);

  auto fallback = Tokenizer::FromDirectory(
      MakeDir("eos_config", {{"tokenizer.json", StoriesJson()},
                             {"tokenizer_config.json", tokenizer_config},
                             {"config.json", R"({"eos_token_id": 7, "bos_token_id": 1})"}}));
  ASSERT_TRUE(fallback.ok()) << fallback.status();
  EXPECT_EQ((*fallback)->eos_token_ids(), (std::vector<int32_t>{7, 2}));

  // Token names as AddedToken objects, from special_tokens_map.json.
  auto mapped = Tokenizer::FromDirectory(MakeDir(
      "special_map", {{"tokenizer.json", StoriesJson()},
                      {"special_tokens_map.json",
                       R"({"bos_token": {"content": "<s>"}, "eos_token": {"content": "</s>"},
                           "pad_token": "<unk>"})"}}));
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ((*mapped)->bos_token_id(), 1);
  EXPECT_EQ((*mapped)->eos_token_ids(), (std::vector<int32_t>{2}));
  EXPECT_EQ((*mapped)->pad_token_id(), 0);
}

// transformers rebuilds a Llama tokenizer's post-processor from add_bos_token / add_eos_token.
TEST(TokenizerFilesTest, LlamaClassFollowsAddBosAndAddEos) {
  auto reference = Tokenizer::FromJson(StoriesJson());
  ASSERT_TRUE(reference.ok());
  auto plain = (*reference)->Encode("Once upon a time", false);
  ASSERT_TRUE(plain.ok());

  auto eos_only = Tokenizer::FromDirectory(
      MakeDir("llama_eos", {{"tokenizer.json", StoriesJson()},
                            {"tokenizer_config.json",
                             R"({"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>",
                         "eos_token": "</s>", "add_bos_token": false, "add_eos_token": true})"}}));
  ASSERT_TRUE(eos_only.ok()) << eos_only.status();
  auto ids = (*eos_only)->Encode("Once upon a time", true);
  ASSERT_TRUE(ids.ok());
  std::vector<int32_t> expected = *plain;
  expected.push_back(2);
  EXPECT_EQ(*ids, expected);
  EXPECT_FALSE((*eos_only)->add_bos_token());
  EXPECT_TRUE((*eos_only)->add_eos_token());

  // The class's default tokens ("<s>", "</s>") and add_bos_token=true apply when unset.
  auto defaults = Tokenizer::FromDirectory(
      MakeDir("llama_defaults",
              {{"tokenizer.json", StoriesJson()},
               {"tokenizer_config.json", R"({"tokenizer_class": "LlamaTokenizerFast"})"}}));
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  ids = (*defaults)->Encode("Once upon a time", true);
  ASSERT_TRUE(ids.ok());
  expected = *plain;
  expected.insert(expected.begin(), 1);
  EXPECT_EQ(*ids, expected);
  EXPECT_EQ((*defaults)->eos_token_ids(), (std::vector<int32_t>{2}));

  // Other classes keep tokenizer.json's post-processor (here: BOS) whatever add_bos_token says.
  auto other = Tokenizer::FromDirectory(
      MakeDir("other_class", {{"tokenizer.json", StoriesJson()},
                              {"tokenizer_config.json",
                               R"({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>",
                           "add_bos_token": false})"}}));
  ASSERT_TRUE(other.ok()) << other.status();
  ids = (*other)->Encode("Once upon a time", true);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->front(), 1);
  EXPECT_TRUE((*other)->add_bos_token());
}

TEST(TokenizerFilesTest, CleanUpTokenizationSpaces) {
  const std::string text = "Hi , there . I 'm sure it 's fine !";
  auto plain = Tokenizer::FromJson(StoriesJson());
  ASSERT_TRUE(plain.ok());
  auto ids = (*plain)->Encode(text, false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ((*plain)->Decode(*ids, true), text);
  // transformers 4.40 cleans up by default for classes other than the Llama family.
  auto cleaning = Tokenizer::FromDirectory(MakeDir(
      "cleanup", {{"tokenizer.json", StoriesJson()},
                  {"tokenizer_config.json", R"({"tokenizer_class": "PreTrainedTokenizerFast"})"}}));
  ASSERT_TRUE(cleaning.ok()) << cleaning.status();
  EXPECT_EQ((*cleaning)->Decode(*ids, true), "Hi, there. I'm sure it's fine!");
  auto llama = Tokenizer::FromDirectory(MakeDir(
      "no_cleanup",
      {{"tokenizer.json", StoriesJson()},
       {"tokenizer_config.json", R"({"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>"})"}}));
  ASSERT_TRUE(llama.ok()) << llama.status();
  EXPECT_EQ((*llama)->Decode(*ids, true), text);
}

TEST(TokenizerFilesTest, ConcurrentEncodeMatchesSequential) {
  auto tokenizer = Tokenizer::FromDirectory(fs::path(TGI_TESTDATA_DIR) / "llama2-tokenizer");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) {
    texts.push_back("Request " + std::to_string(i) + ": héllo wörld 🙂 " + std::string(i, 'x') +
                    " </s> the end");
  }
  std::vector<std::vector<int32_t>> expected;
  for (const std::string& text : texts) expected.push_back(*(*tokenizer)->Encode(text, true));
  std::atomic<int> mismatches = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          const size_t k = (i + t * 7 + round) % texts.size();
          auto ids = (*tokenizer)->Encode(texts[k], true);
          if (!ids.ok() || *ids != expected[k]) ++mismatches;
          if ((*tokenizer)->Decode(expected[k], true) != (*tokenizer)->Decode(*ids, true)) {
            ++mismatches;
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace tgi::common
