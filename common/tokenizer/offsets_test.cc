// EncodeWithOffsets on the Llama-2 and stories260K tokenizers (sentencepiece-style: Prepend and
// Replace normalizers, byte fallback): offsets worked out by hand the way `tokenizers` computes
// them, and invariants over random text (same ids as Encode, ranges inside the text, in order).
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/tokenizer/tokenizer.h"

namespace tgi::common {
namespace {

constexpr char kLlamaDir[] = TGI_TESTDATA_DIR "/llama2-tokenizer";
constexpr char kStoriesDir[] = TGI_MODELS_DIR "/stories260K";

struct Expected {
  int32_t id;
  size_t start;
  size_t stop;
  bool operator==(const Expected&) const = default;
};

void PrintTo(const Expected& e, std::ostream* os) {
  *os << "{" << e.id << ", " << e.start << ", " << e.stop << "}";
}

const Tokenizer& Load(const char* dir) {
  static auto* llama =
      new absl::StatusOr<std::unique_ptr<Tokenizer>>(Tokenizer::FromDirectory(kLlamaDir));
  static auto* stories =
      new absl::StatusOr<std::unique_ptr<Tokenizer>>(Tokenizer::FromDirectory(kStoriesDir));
  const auto* loaded = dir == kLlamaDir ? llama : stories;
  EXPECT_TRUE(loaded->ok()) << loaded->status();
  return ***loaded;
}

std::vector<Expected> Offsets(const Tokenizer& tokenizer, const std::string& text,
                              bool add_special_tokens = true) {
  auto tokens = tokenizer.EncodeWithOffsets(text, add_special_tokens);
  EXPECT_TRUE(tokens.ok()) << tokens.status();
  std::vector<Expected> out;
  if (!tokens.ok()) return out;
  for (const TokenWithOffsets& token : *tokens) out.push_back({token.id, token.start, token.stop});
  return out;
}

// Ids equal Encode's; every range lies inside the text; tokens other than special ones come in
// order of both start and stop.
void ExpectInvariants(const Tokenizer& tokenizer, const std::string& text, bool add_special) {
  auto ids = tokenizer.Encode(text, add_special);
  auto tokens = tokenizer.EncodeWithOffsets(text, add_special);
  ASSERT_TRUE(ids.ok() && tokens.ok());
  ASSERT_EQ(tokens->size(), ids->size()) << text;
  size_t last_start = 0;
  size_t last_stop = 0;
  for (size_t i = 0; i < ids->size(); ++i) {
    const TokenWithOffsets& token = (*tokens)[i];
    EXPECT_EQ(token.id, (*ids)[i]) << text;
    EXPECT_LE(token.start, token.stop) << text;
    EXPECT_LE(token.stop, text.size()) << text;
    if (tokenizer.IsSpecial(token.id)) continue;
    EXPECT_GE(token.start, last_start) << text << " token " << i;
    EXPECT_GE(token.stop, last_stop) << text << " token " << i;
    last_start = token.start;
    last_stop = token.stop;
  }
}

std::string RandomText(std::mt19937& rng) {
  static const std::vector<std::string> atoms = {"a",         "b",
                                                 "Z",         "7",
                                                 " ",         " ",
                                                 "  ",        "\n",
                                                 "\t",        ".",
                                                 "'s",        "Hello",
                                                 " world",    "é",
                                                 "e\xCC\x81", "ß",
                                                 "日本",      "語",
                                                 "한국어",    "🙂",
                                                 "😀",         "\xF0\x90\x8D\x88",
                                                 "▁",         "<s>",
                                                 "</s>",      "<unk>",
                                                 "\xFF",      "\xE2\x82"};
  std::string text;
  const size_t count = rng() % 16;
  for (size_t i = 0; i < count; ++i) text += atoms[rng() % atoms.size()];
  return text;
}

class SentencepieceOffsetsTest : public ::testing::TestWithParam<const char*> {};

INSTANTIATE_TEST_SUITE_P(Tokenizers, SentencepieceOffsetsTest,
                         ::testing::Values(kLlamaDir, kStoriesDir), [](const auto& info) {
                           return info.param == kLlamaDir ? "Llama2" : "Stories260K";
                         });

TEST_P(SentencepieceOffsetsTest, InvariantsOnRandomText) {
  const Tokenizer& tokenizer = Load(GetParam());
  std::mt19937 rng(42);
  for (int i = 0; i < 300; ++i) {
    const std::string text = RandomText(rng);
    ExpectInvariants(tokenizer, text, true);
    ExpectInvariants(tokenizer, text, false);
  }
}

TEST_P(SentencepieceOffsetsTest, EmptyAndSpecialOnly) {
  const Tokenizer& tokenizer = Load(GetParam());
  EXPECT_EQ(Offsets(tokenizer, ""), (std::vector<Expected>{{1, 0, 0}}));
  EXPECT_EQ(Offsets(tokenizer, "", false), std::vector<Expected>{});
  // A special token found in the text has its range; the BOS the post-processor adds has (0, 0).
  EXPECT_EQ(Offsets(tokenizer, "</s>"), (std::vector<Expected>{{1, 0, 0}, {2, 0, 4}}));
}

// The prepended "▁" shares the first character's range; each space's "▁" keeps the space's.
TEST(Llama2OffsetsTest, Words) {
  const Tokenizer& llama = Load(kLlamaDir);
  EXPECT_EQ(Offsets(llama, "Hello world"),
            (std::vector<Expected>{{1, 0, 0}, {15043, 0, 5}, {3186, 5, 11}}));
  EXPECT_EQ(Offsets(llama, "Hello world", false),
            (std::vector<Expected>{{15043, 0, 5}, {3186, 5, 11}}));
  // " Hello  world " -> "▁▁Hello▁▁world▁": ▁ | ▁Hello | ▁ | ▁world | ▁
  EXPECT_EQ(
      Offsets(llama, " Hello  world "),
      (std::vector<Expected>{
          {1, 0, 0}, {29871, 0, 1}, {15043, 0, 6}, {29871, 6, 7}, {3186, 7, 13}, {29871, 13, 14}}));
  // "  a  b " -> "▁▁▁a▁▁b▁": ▁▁ (prepended ▁ and the first space, both 0..1) | ▁a | ▁ | ▁b | ▁
  EXPECT_EQ(Offsets(llama, "  a  b "),
            (std::vector<Expected>{
                {1, 0, 0}, {259, 0, 1}, {263, 1, 3}, {29871, 3, 4}, {289, 4, 6}, {29871, 6, 7}}));
}

TEST(Llama2OffsetsTest, MultiByteCharacters) {
  const Tokenizer& llama = Load(kLlamaDir);
  // "héllo": ▁h | él (é is 2 bytes) | lo
  EXPECT_EQ(Offsets(llama, "héllo"),
            (std::vector<Expected>{{1, 0, 0}, {298, 0, 1}, {3610, 1, 4}, {417, 4, 6}}));
  // "日本語": the prepended ▁ stands alone with 日's range.
  EXPECT_EQ(Offsets(llama, "日本語"),
            (std::vector<Expected>{
                {1, 0, 0}, {29871, 0, 3}, {30325, 0, 3}, {30346, 3, 6}, {30968, 6, 9}}));
  // 🙂 (4 bytes) falls back to its 4 byte tokens, each with the emoji's full range.
  EXPECT_EQ(Offsets(llama, "I 🙂 it"), (std::vector<Expected>{{1, 0, 0},
                                                                {306, 0, 1},
                                                                {29871, 1, 2},
                                                                {243, 2, 6},
                                                                {162, 2, 6},
                                                                {156, 2, 6},
                                                                {133, 2, 6},
                                                                {372, 6, 9}}));
  // A combining accent is its own token, with its own 2 bytes.
  EXPECT_EQ(Offsets(llama, "a\xCC\x81"),
            (std::vector<Expected>{{1, 0, 0}, {263, 0, 1}, {30103, 1, 3}}));
}

TEST(Llama2OffsetsTest, SpecialTokensInText) {
  const Tokenizer& llama = Load(kLlamaDir);
  EXPECT_EQ(Offsets(llama, "<s>hi</s>"),
            (std::vector<Expected>{{1, 0, 0}, {1, 0, 3}, {7251, 3, 5}, {2, 5, 9}}));
  // Each piece between added tokens gets its own prepended ▁ (with its first character's range).
  EXPECT_EQ(
      Offsets(llama, "x<s>\n</s>y"),
      (std::vector<Expected>{
          {1, 0, 0}, {921, 0, 1}, {1, 1, 4}, {29871, 4, 5}, {13, 4, 5}, {2, 5, 9}, {343, 9, 10}}));
}

// An ill-formed byte is encoded as U+FFFD; its tokens cover that byte of the input.
TEST(Llama2OffsetsTest, InvalidUtf8) {
  const Tokenizer& llama = Load(kLlamaDir);
  const std::vector<Expected> tokens = Offsets(llama,
                                               "a\xFF"
                                               "b",
                                               false);
  ASSERT_GE(tokens.size(), 3u);
  EXPECT_EQ(tokens.front(), (Expected{263, 0, 1}));
  EXPECT_EQ(tokens.back(), (Expected{29890, 2, 3}));
  for (size_t i = 1; i + 1 < tokens.size(); ++i) {
    EXPECT_EQ(tokens[i].start, 1u);
    EXPECT_EQ(tokens[i].stop, 2u);
  }
}

TEST(Stories260kOffsetsTest, Words) {
  const Tokenizer& stories = Load(kStoriesDir);
  EXPECT_EQ(Offsets(stories, "Hello world"), (std::vector<Expected>{{1, 0, 0},
                                                                    {346, 0, 2},
                                                                    {306, 2, 4},
                                                                    {414, 4, 5},
                                                                    {263, 5, 7},
                                                                    {304, 7, 9},
                                                                    {341, 9, 11}}));
  // "  a  b ": the prepended ▁ and the first space's ▁ stay apart, both 0..1.
  EXPECT_EQ(Offsets(stories, "  a  b "), (std::vector<Expected>{{1, 0, 0},
                                                                {410, 0, 1},
                                                                {410, 0, 1},
                                                                {261, 1, 3},
                                                                {410, 3, 4},
                                                                {268, 4, 6},
                                                                {410, 6, 7}}));
}

TEST(Stories260kOffsetsTest, MultiByteCharactersAndSpecialTokens) {
  const Tokenizer& stories = Load(kStoriesDir);
  // é is in the vocabulary; è falls back to its 2 bytes.
  EXPECT_EQ(Offsets(stories, "Café crème"), (std::vector<Expected>{{1, 0, 0},
                                                                   {410, 0, 1},
                                                                   {457, 0, 1},
                                                                   {412, 1, 2},
                                                                   {431, 2, 3},
                                                                   {485, 3, 5},
                                                                   {280, 5, 7},
                                                                   {420, 7, 8},
                                                                   {198, 8, 10},
                                                                   {171, 8, 10},
                                                                   {423, 10, 11},
                                                                   {411, 11, 12}}));
  // CJK falls back to bytes: 3 per character, each with the character's range.
  EXPECT_EQ(Offsets(stories, "日本", false), (std::vector<Expected>{{410, 0, 3},
                                                                    {233, 0, 3},
                                                                    {154, 0, 3},
                                                                    {168, 0, 3},
                                                                    {233, 3, 6},
                                                                    {159, 3, 6},
                                                                    {175, 3, 6}}));
  EXPECT_EQ(Offsets(stories, "I 🙂 it"), (std::vector<Expected>{{1, 0, 0},
                                                                  {359, 0, 1},
                                                                  {410, 1, 2},
                                                                  {243, 2, 6},
                                                                  {162, 2, 6},
                                                                  {156, 2, 6},
                                                                  {133, 2, 6},
                                                                  {312, 6, 9}}));
  EXPECT_EQ(Offsets(stories, "<s>hi</s>"),
            (std::vector<Expected>{{1, 0, 0}, {1, 0, 3}, {270, 3, 4}, {417, 4, 5}, {2, 5, 9}}));
}

}  // namespace
}  // namespace tgi::common
