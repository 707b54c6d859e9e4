// The BPE model alone: merge ranks and ties, both merge forms, ignore_merges, unk_token and
// fuse_unk, byte_fallback, continuing_subword_prefix / end_of_word_suffix, and load errors.
#include "common/tokenizer/bpe_model.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace tgi::common::tokenizer_impl {
namespace {

// A model over `vocab` (token -> id) and `merges` with extra fields merged into the object.
absl::StatusOr<std::unique_ptr<BpeModel>> Model(const boost::json::object& vocab,
                                                const boost::json::array& merges,
                                                const boost::json::object& options = {}) {
  boost::json::object model = {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}};
  for (const auto& option : options) model[option.key()] = option.value();
  return BpeModel::FromJson(model);
}

// Merges in the ["a", "b"] form.
boost::json::array Pairs(const std::vector<std::pair<std::string, std::string>>& pairs) {
  boost::json::array merges;
  for (const auto& [left, right] : pairs) {
    merges.push_back(boost::json::array{left.c_str(), right.c_str()});
  }
  return merges;
}

std::vector<int32_t> Tokenize(const BpeModel& model, const std::string& word) {
  std::vector<int32_t> ids;
  const absl::Status status = model.Tokenize(word, ids);
  EXPECT_TRUE(status.ok()) << status;
  return ids;
}

const boost::json::object kLetters = {{"a", 0},  {"b", 1},   {"c", 2},  {"ab", 3},
                                      {"bc", 4}, {"abc", 5}, {"aa", 6}, {"aaaa", 7}};

TEST(BpeModelTest, MergesApplyInRankOrder) {
  // "b c" outranks "a b": abc -> a bc, although "ab" comes first in the text.
  auto model = Model(kLetters, {"b c", "a b", "ab c"});
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(Tokenize(**model, "abc"), (std::vector<int32_t>{0, 4}));
  auto other = Model(kLetters, {"a b", "b c", "ab c"});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(Tokenize(**other, "abc"), (std::vector<int32_t>{5}));
}

TEST(BpeModelTest, EqualRanksMergeLeftmostFirstAndStaleEntriesAreSkipped) {
  auto model = Model(kLetters, {"a a", "aa aa"});
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(Tokenize(**model, "aaa"), (std::vector<int32_t>{6, 0}));
  EXPECT_EQ(Tokenize(**model, "aaaa"), (std::vector<int32_t>{7}));
  EXPECT_EQ(Tokenize(**model, "aaaaa"), (std::vector<int32_t>{7, 0}));
  EXPECT_EQ(Tokenize(**model, "aaaaaa"), (std::vector<int32_t>{7, 6}));
}

TEST(BpeModelTest, BothMergeFormsAgree) {
  auto strings = Model(kLetters, {"b c", "a b", "ab c", "a a"});
  auto arrays = Model(kLetters, Pairs({{"b", "c"}, {"a", "b"}, {"ab", "c"}, {"a", "a"}}));
  ASSERT_TRUE(strings.ok());
  ASSERT_TRUE(arrays.ok()) << arrays.status();
  for (const std::string word : {"abc", "aabcab", "cba", "aaab"}) {
    EXPECT_EQ(Tokenize(**strings, word), Tokenize(**arrays, word)) << word;
  }
  // The array form allows tokens containing spaces.
  auto spaced = Model({{"a", 0}, {" ", 1}, {"a ", 2}}, Pairs({{"a", " "}}));
  ASSERT_TRUE(spaced.ok()) << spaced.status();
  EXPECT_EQ(Tokenize(**spaced, "a a"), (std::vector<int32_t>{2, 0}));
}

TEST(BpeModelTest, IgnoreMerges) {
  // "abc" is in the vocabulary but no merge builds it from "ab" + "c".
  auto merging = Model(kLetters, {"a b"});
  auto ignoring = Model(kLetters, {"a b"}, {{"ignore_merges", true}});
  ASSERT_TRUE(merging.ok());
  ASSERT_TRUE(ignoring.ok());
  EXPECT_EQ(Tokenize(**merging, "abc"), (std::vector<int32_t>{3, 2}));
  EXPECT_EQ(Tokenize(**ignoring, "abc"), (std::vector<int32_t>{5}));
  // Words not in the vocabulary still merge.
  EXPECT_EQ(Tokenize(**ignoring, "abcc"), (std::vector<int32_t>{3, 2, 2}));
}

TEST(BpeModelTest, UnknownCharacters) {
  const boost::json::object vocab = {{"<unk>", 0}, {"a", 1}, {"b", 2}};
  auto fused = Model(vocab, {}, {{"unk_token", "<unk>"}, {"fuse_unk", true}});
  auto separate = Model(vocab, {}, {{"unk_token", "<unk>"}, {"fuse_unk", false}});
  auto no_unk = Model(vocab, {});
  ASSERT_TRUE(fused.ok());
  ASSERT_TRUE(separate.ok());
  ASSERT_TRUE(no_unk.ok());
  EXPECT_EQ(Tokenize(**fused, "axéyb"), (std::vector<int32_t>{1, 0, 2}));
  EXPECT_EQ(Tokenize(**separate, "axéyb"), (std::vector<int32_t>{1, 0, 0, 0, 2}));
  EXPECT_EQ(Tokenize(**fused, "xa"), (std::vector<int32_t>{0, 1}));
  // Without an unk_token unknown characters are dropped.
  EXPECT_EQ(Tokenize(**no_unk, "axb"), (std::vector<int32_t>{1, 2}));
  // An unk_token missing from the vocabulary is an error when it is needed.
  auto broken = Model(vocab, {}, {{"unk_token", "<missing>"}});
  ASSERT_TRUE(broken.ok());
  std::vector<int32_t> ids;
  EXPECT_TRUE((*broken)->Tokenize("ab", ids).ok());
  EXPECT_FALSE((*broken)->Tokenize("x", ids).ok());
}

TEST(BpeModelTest, ByteFallback) {
  boost::json::object vocab = {{"<unk>", 0}, {"a", 1}};
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", byte);
    vocab[name] = 2 + byte;
  }
  auto model = Model(vocab, {}, {{"unk_token", "<unk>"}, {"byte_fallback", true}});
  ASSERT_TRUE(model.ok());
  // é is C3 A9, 🙂 is F0 9F 99 82.
  EXPECT_EQ(Tokenize(**model, "aé🙂"),
            (std::vector<int32_t>{1, 2 + 0xC3, 2 + 0xA9, 2 + 0xF0, 2 + 0x9F, 2 + 0x99, 2 + 0x82}));
  // Without every byte token the character falls back to unk.
  auto partial = Model({{"<unk>", 0}, {"a", 1}, {"<0xC3>", 2}}, {},
                       {{"unk_token", "<unk>"}, {"byte_fallback", true}});
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(Tokenize(**partial, "éa"), (std::vector<int32_t>{0, 1}));
}

TEST(BpeModelTest, SubwordPrefixAndSuffix) {
  auto prefixed = Model({{"h", 0}, {"##e", 1}, {"##l", 2}, {"##o", 3}, {"he", 4}, {"##ll", 5}},
                        {"h ##e", "##l ##l"}, {{"continuing_subword_prefix", "##"}});
  ASSERT_TRUE(prefixed.ok()) << prefixed.status();
  EXPECT_EQ(Tokenize(**prefixed, "hello"), (std::vector<int32_t>{4, 5, 3}));
  auto suffixed = Model({{"a", 0}, {"b</w>", 1}, {"ab</w>", 2}, {"b", 3}}, {"a b</w>"},
                        {{"end_of_word_suffix", "</w>"}});
  ASSERT_TRUE(suffixed.ok()) << suffixed.status();
  EXPECT_EQ(Tokenize(**suffixed, "ab"), (std::vector<int32_t>{2}));
  EXPECT_EQ(Tokenize(**suffixed, "bab"), (std::vector<int32_t>{3, 2}));
}

TEST(BpeModelTest, RepeatedWordsUseTheCacheConsistently) {
  auto model = Model(kLetters, {"a b", "ab c"});
  ASSERT_TRUE(model.ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Tokenize(**model, "abcab"), (std::vector<int32_t>{5, 3}));
  const std::string long_word(600, 'a');
  EXPECT_EQ(Tokenize(**model, long_word).size(), 600u);
}

TEST(BpeModelTest, LookupsAndVocabSize) {
  auto model = Model({{"a", 0}, {"c", 5}}, {});
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)->VocabSize(), 6);
  EXPECT_EQ((*model)->TokenToId("c"), 5);
  EXPECT_EQ((*model)->TokenToId("b"), std::nullopt);
  ASSERT_NE((*model)->IdToToken(5), nullptr);
  EXPECT_EQ(*(*model)->IdToToken(5), "c");
  EXPECT_EQ((*model)->IdToToken(3), nullptr);
  EXPECT_EQ((*model)->IdToToken(-1), nullptr);
}

void ExpectError(const absl::StatusOr<std::unique_ptr<BpeModel>>& result,
                 const std::string& expected) {
  ASSERT_FALSE(result.ok()) << expected;
  EXPECT_NE(std::string(result.status().message()).find(expected), std::string::npos)
      << result.status();
}

TEST(BpeModelTest, LoadErrorsNameTheProblem) {
  ExpectError(Model(kLetters, {"a x"}), "missing from the vocabulary");
  ExpectError(Model(kLetters, {"abc"}), "not of the form");
  boost::json::array one_sided;
  one_sided.push_back(boost::json::array{"a"});
  ExpectError(Model(kLetters, one_sided), "neither");
  ExpectError(Model(kLetters, {}, {{"type", "WordPiece"}}), "WordPiece");
  ExpectError(Model(kLetters, {}, {{"type", "Unigram"}}), "Unigram");
  ExpectError(Model(kLetters, {}, {{"dropout", 0.1}}), "dropout");
  ExpectError(Model(kLetters, {}, {{"fuse_unk", "yes"}}), "fuse_unk");
  ExpectError(Model({{"a", "zero"}}, {}), "vocab id");
  ExpectError(BpeModel::FromJson(boost::json::parse(R"({"type":"BPE"})")), "vocab");
  EXPECT_EQ(Model(kLetters, {}, {{"type", "WordPiece"}}).status().code(),
            absl::StatusCode::kUnimplemented);
  // A dropout of 0 (or null) is plain BPE.
  EXPECT_TRUE(Model(kLetters, {}, {{"dropout", 0.0}}).ok());
}

}  // namespace
}  // namespace tgi::common::tokenizer_impl
