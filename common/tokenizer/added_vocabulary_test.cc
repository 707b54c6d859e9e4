// Splitting text around added tokens: leftmost-longest matching, single_word, lstrip/rstrip and
// normalized tokens, with the vectors of the `tokenizers` library's own tests (Lowercase
// normalizer; ids 0.. in the order the tokens are listed).
#include "common/tokenizer/added_vocabulary.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/tokenizer/normalizers.h"

namespace tgi::common::tokenizer_impl {
namespace {

using Split = std::vector<std::pair<std::string, std::optional<int32_t>>>;

AddedToken Token(int32_t id, std::string content, bool special) {
  AddedToken token;
  token.id = id;
  token.content = std::move(content);
  token.special = special;
  token.normalized = !special;
  return token;
}

// What the Tokenizer does: split the raw text on normalized=false tokens, normalize the rest,
// split that on normalized=true tokens.
Split Extract(const AddedVocabulary& vocabulary, const Normalizer& normalizer,
              const std::string& text) {
  Split out;
  for (const Segment& raw : vocabulary.SplitRaw(text)) {
    std::string piece = text.substr(raw.begin, raw.end - raw.begin);
    if (raw.id) {
      out.emplace_back(piece, raw.id);
      continue;
    }
    EXPECT_TRUE(normalizer.Normalize(piece, nullptr).ok());
    for (const Segment& normalized : vocabulary.SplitNormalized(piece)) {
      out.emplace_back(piece.substr(normalized.begin, normalized.end - normalized.begin),
                       normalized.id);
    }
  }
  return out;
}

class AddedVocabularyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto lowercase = ParseNormalizer(boost::json::parse(R"({"type":"Lowercase"})"));
    ASSERT_TRUE(lowercase.ok());
    lowercase_ = std::move(*lowercase);
  }
  AddedVocabulary Create(std::vector<AddedToken> tokens) {
    auto vocabulary = AddedVocabulary::Create(std::move(tokens), lowercase_.get());
    EXPECT_TRUE(vocabulary.ok()) << vocabulary.status();
    return std::move(*vocabulary);
  }
  std::unique_ptr<Normalizer> lowercase_;
};

TEST_F(AddedVocabularyTest, ExtractsNormalAndSpecialTokens) {
  AddedVocabulary vocabulary = Create({Token(0, "my", false), Token(1, "name", false),
                                       Token(2, "[CLS]", true), Token(3, "[SEP]", true)});
  EXPECT_EQ(Extract(vocabulary, *lowercase_, "[CLS] My name is Anthony [SEP]"),
            (Split{{"[CLS]", 2},
                   {" ", std::nullopt},
                   {"my", 0},
                   {" ", std::nullopt},
                   {"name", 1},
                   {" is anthony ", std::nullopt},
                   {"[SEP]", 3}}));
}

TEST_F(AddedVocabularyTest, OptionsUseCases) {
  AddedToken my = Token(0, "my", false);
  my.lstrip = true;
  my.rstrip = true;
  AddedToken ony = Token(2, "ony", false);
  ony.single_word = true;
  AddedVocabulary vocabulary =
      Create({my, Token(1, "name", false), ony, Token(3, "[CLS]", true), Token(4, "[SEP]", true)});
  // "my" takes the spaces around it; "ony" is inside a word, so not extracted.
  EXPECT_EQ(
      Extract(vocabulary, *lowercase_, "[CLS] My name is Anthony [SEP]"),
      (Split{
          {"[CLS]", 3}, {" my ", 0}, {"name", 1}, {" is anthony ", std::nullopt}, {"[SEP]", 4}}));
}

TEST_F(AddedVocabularyTest, SingleWord) {
  AddedToken mask = Token(0, "<mask>", false);
  mask.single_word = true;
  AddedVocabulary vocabulary = Create({mask});
  EXPECT_EQ(Extract(vocabulary, *lowercase_, "<mask> My name <mask> A<mask> <mask>ony <mask>"),
            (Split{{"<mask>", 0},
                   {" my name ", std::nullopt},
                   {"<mask>", 0},
                   {" a<mask> <mask>ony ", std::nullopt},
                   {"<mask>", 0}}));
  // Punctuation is not a word character; a combining mark is.
  EXPECT_EQ(Extract(vocabulary, *lowercase_, "<mask>, <mask>- \u25cc\u0330<mask>"),
            (Split{{"<mask>", 0},
                   {", ", std::nullopt},
                   {"<mask>", 0},
                   {"- \u25cc\u0330<mask>", std::nullopt}}));
}

TEST_F(AddedVocabularyTest, LstripRstripTakeUnicodeSpaces) {
  AddedToken mask = Token(0, "<mask>", false);
  mask.lstrip = true;
  mask.rstrip = true;
  mask.single_word = true;
  AddedVocabulary vocabulary = Create({mask});
  EXPECT_EQ(Extract(vocabulary, *lowercase_, "Hi <mask> there\t<mask>\t<mask>\u2000"),
            (Split{{"hi", std::nullopt},
                   {" <mask> ", 0},
                   {"there", std::nullopt},
                   {"\t<mask>\t", 0},
                   {"<mask>\u2000", 0}}));
}

TEST_F(AddedVocabularyTest, LeftmostLongestMatch) {
  AddedVocabulary vocabulary =
      Create({Token(0, "<a>", true), Token(1, "<a><b>", true), Token(2, "b>", true)});
  EXPECT_EQ(
      Extract(vocabulary, *lowercase_, "x<a><b>y<a>b>"),
      (Split{{"x", std::nullopt}, {"<a><b>", 1}, {"y", std::nullopt}, {"<a>", 0}, {"b>", 2}}));
  EXPECT_TRUE(vocabulary.SplitRaw("").empty());
}

// normalized=true tokens are matched against their normalized form ("[MASK]" -> "[mask]").
TEST_F(AddedVocabularyTest, NormalizedTokensMatchNormalizedText) {
  AddedVocabulary vocabulary = Create({Token(0, "[MASK]", false), Token(1, "[RAW]", true)});
  EXPECT_EQ(Extract(vocabulary, *lowercase_, "A [Mask] b [RAW] [raw]"),
            (Split{{"a ", std::nullopt},
                   {"[mask]", 0},
                   {" b ", std::nullopt},
                   {"[RAW]", 1},
                   {" [raw]", std::nullopt}}));
}

TEST_F(AddedVocabularyTest, Lookups) {
  AddedVocabulary vocabulary = Create({Token(7, "<s>", true), Token(9, "<tool>", false)});
  EXPECT_EQ(vocabulary.TokenToId("<tool>"), 9);
  EXPECT_EQ(vocabulary.TokenToId("<x>"), std::nullopt);
  ASSERT_NE(vocabulary.FindById(7), nullptr);
  EXPECT_TRUE(vocabulary.FindById(7)->special);
  EXPECT_EQ(vocabulary.FindById(8), nullptr);
  EXPECT_TRUE(vocabulary.IsSpecialContent("<s>"));
  EXPECT_FALSE(vocabulary.IsSpecialContent("<tool>"));
}

}  // namespace
}  // namespace tgi::common::tokenizer_impl
