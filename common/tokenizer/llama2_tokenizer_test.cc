// The Llama-2 tokenizer.json against Debian's sentencepiece running the same model's
// tokenizer.model: identical ids (HF prepends BOS), decoding round trips, and the added-token
// rules for text that contains "<s>", "</s>" or "<unk>".
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/tokenizer/sentencepiece_reference.h"
#include "common/tokenizer/tokenizer.h"

namespace tgi::common {
namespace {

constexpr char kDir[] = TGI_TESTDATA_DIR "/llama2-tokenizer";

const std::vector<std::string>& Texts() {
  static const auto* texts = new std::vector<std::string>{
      "",
      "a",
      " ",
      "   ",
      "\n",
      "Hello world",
      "Hello, world!",
      "The quick brown fox jumps over the lazy dog.",
      " leading space",
      "  two leading spaces",
      "trailing space ",
      "trailing spaces   ",
      "multiple    spaces   inside",
      "tabs\tand\ttabs",
      "\ttab first",
      "new\nline",
      "\n\nleading newlines",
      "trailing newlines\n\n",
      "mixed \t\n whitespace \r\n end",
      "Café crème brûlée",
      "naïve façade résumé",
      "Ünïcödé ÀÉÎÕÜ",
      "Straße ß ẞ",
      "日本語のテキストです。",
      "中文文本测试",
      "한국어 텍스트",
      "Emoji 🙂😀🎉 test",
      "👨‍👩‍👧‍👦 family",
      "control \x01\x02\x1b\x7f chars",
      "bell\a and backspace\b and formfeed\f",
      "12345 67890",
      "3.14159 and 2,718 and 1e-9",
      "1234567890123456789012345678901234567890",
      "supercalifragilisticexpialidocious",
      "pneumonoultramicroscopicsilicovolcanoconiosis",
      "Mixed English и русский текст",
      "Ελληνικά και English",
      "עברית וערבית: العربية",
      "हिन्दी पाठ",
      "def foo(x):\n    return x * 2\n",
      "{\"json\": [1, 2, 3], \"nested\": {\"k\": null}}",
      "email@example.com https://huggingface.co/docs?q=1&r=2#frag",
      "C'est l'été, n'est-ce pas?",
      "ﬁ ligature ① ² ㎏ ½",
      "zero\u200bwidth and no\u00a0break",
      "already ▁ meta ▁▁ symbols▁",
      "<html><body>tags</body></html>",
      "__init__ ___ --- ... !!! ???",
      "\U0001F600\U0001F9E0\U0001FAE0 rare emoji \U00010348 gothic",
  };
  return *texts;
}

class Llama2TokenizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static const auto* loaded =
        new absl::StatusOr<std::unique_ptr<Tokenizer>>(Tokenizer::FromDirectory(kDir));
    static const SentencepieceReference* reference =
        SentencepieceReference::Load(std::string(kDir) + "/tokenizer.model").release();
    ASSERT_TRUE(loaded->ok()) << loaded->status();
    ASSERT_NE(reference, nullptr) << "cannot load tokenizer.model";
    tokenizer_ = loaded->value().get();
    reference_ = reference;
  }

  // sentencepiece's ids for `text`, with the BOS the HF post-processor adds.
  std::vector<int32_t> Reference(const std::string& text) const {
    std::vector<int> ids;
    EXPECT_TRUE(reference_->Encode(text, ids));
    std::vector<int32_t> with_bos = {1};
    with_bos.insert(with_bos.end(), ids.begin(), ids.end());
    return with_bos;
  }
  // sentencepiece's ids for `text` without BOS (for composing expectations).
  std::vector<int32_t> Pieces(const std::string& text) const {
    std::vector<int32_t> ids = Reference(text);
    ids.erase(ids.begin());
    return ids;
  }

  const Tokenizer* tokenizer_ = nullptr;
  const SentencepieceReference* reference_ = nullptr;
};

TEST_F(Llama2TokenizerTest, TableIsLargeEnough) { EXPECT_GE(Texts().size(), 40u); }

TEST_F(Llama2TokenizerTest, EncodesExactlyAsSentencepiece) {
  for (const std::string& text : Texts()) {
    auto ids = tokenizer_->Encode(text, /*add_special_tokens=*/true);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*ids, Reference(text)) << "text: \"" << text << "\"";
  }
}

// EncodeWithOffsets runs Encode's pipeline: the same ids for every text of the table; ranges lie
// inside the text and, after the BOS, start in order.
TEST_F(Llama2TokenizerTest, EncodeWithOffsetsHasEncodesIds) {
  for (const std::string& text : Texts()) {
    for (bool add_special_tokens : {true, false}) {
      auto ids = tokenizer_->Encode(text, add_special_tokens);
      auto tokens = tokenizer_->EncodeWithOffsets(text, add_special_tokens);
      ASSERT_TRUE(ids.ok() && tokens.ok()) << text;
      ASSERT_EQ(tokens->size(), ids->size()) << text;
      size_t last_start = 0;
      for (size_t i = 0; i < ids->size(); ++i) {
        EXPECT_EQ((*tokens)[i].id, (*ids)[i]) << text;
        EXPECT_LE((*tokens)[i].start, (*tokens)[i].stop) << text;
        EXPECT_LE((*tokens)[i].stop, text.size()) << text;
        EXPECT_GE((*tokens)[i].start, last_start) << text;
        last_start = (*tokens)[i].start;
      }
    }
  }
}

TEST_F(Llama2TokenizerTest, LongTextEncodesExactlyAsSentencepiece) {
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text += "Paragraph " + std::to_string(i) + ": the café served 🙂 crêpes\tand\n  tea. ";
  }
  auto ids = tokenizer_->Encode(text, /*add_special_tokens=*/true);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(*ids, Reference(text));
}

// The text as decoding gives it back: a "▁" typed in the input decodes as a space (in
// sentencepiece too).
std::string Decoded(const std::string& text) {
  std::string out;
  const std::string meta = "\xE2\x96\x81";
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, meta.size(), meta) == 0) {
      out += ' ';
      i += meta.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

// Decode(skip_special_tokens) inverts Encode: the Strip decoder removes the space the Prepend
// normalizer added, byte-fallback tokens are reassembled.
TEST_F(Llama2TokenizerTest, DecodeRoundTrips) {
  for (const std::string& text : Texts()) {
    auto ids = tokenizer_->Encode(text, /*add_special_tokens=*/true);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(tokenizer_->Decode(*ids, /*skip_special_tokens=*/true), Decoded(text));
    std::string reference;
    std::vector<int> sp_ids(ids->begin() + 1, ids->end());
    ASSERT_TRUE(reference_->Decode(sp_ids, reference));
    EXPECT_EQ(tokenizer_->Decode(*ids, /*skip_special_tokens=*/true), reference);
  }
}

// Streaming the ids one at a time (TGI's decode_token, skip_special_tokens=false) yields the text
// after the BOS, and never a partial character.
TEST_F(Llama2TokenizerTest, StreamingDecodeConcatenatesToText) {
  for (const std::string& text : Texts()) {
    auto ids = tokenizer_->Encode(text, /*add_special_tokens=*/true);
    ASSERT_TRUE(ids.ok());
    std::vector<int32_t> seen = {ids->front()};
    size_t prefix_offset = 0;
    size_t read_offset = 1;
    std::string streamed;
    for (size_t i = 1; i < ids->size(); ++i) {
      seen.push_back((*ids)[i]);
      Tokenizer::DecodeStep step = tokenizer_->DecodeToken(seen, prefix_offset, read_offset);
      streamed += step.text;
      prefix_offset = step.prefix_offset;
      read_offset = step.read_offset;
    }
    // Against "<s>" the first piece keeps its space: "<s> Hello" minus "<s>".
    EXPECT_EQ(streamed, text.empty() ? "" : std::string(" ").append(Decoded(text)))
        << "text: \"" << text << "\"";
  }
}

// Added tokens (normalized=false) are split out of the raw text before normalization, so HF
// yields the special ids where sentencepiece would spell "<s>" as "▁<" "s" ">". Each text piece
// around them is normalized on its own, so the Prepend("▁") of the Llama-2 normalizer applies to
// every piece (legacy behaviour): "A</s>B" encodes "B" as "▁B". The pieces' ids are
// sentencepiece's for that piece alone; the special ids are written out.
TEST_F(Llama2TokenizerTest, SpecialTokenStringsAreSplitOut) {
  struct Case {
    std::string text;
    std::vector<int32_t> expected;
  };
  const auto join = [](std::initializer_list<std::vector<int32_t>> parts) {
    std::vector<int32_t> out;
    for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
    return out;
  };
  const std::vector<Case> cases = {
      {"<s>", {1, 1}},
      {"</s>", {1, 2}},
      {"<unk>", {1, 0}},
      {"Hello</s>", {1, 15043, 2}},
      {"<s>Hello", {1, 1, 15043}},
      {"A</s>B", {1, 319, 2, 350}},
      {"<s><s></s>", {1, 1, 1, 2}},
      {"Hi <s> there", join({{1}, Pieces("Hi "), {1}, Pieces(" there")})},
      {"x<s>\n</s>y", join({{1}, Pieces("x"), {1}, Pieces("\n"), {2}, Pieces("y")})},
      {"<s >not special<s", Reference("<s >not special<s")},
  };
  for (const Case& c : cases) {
    auto ids = tokenizer_->Encode(c.text, /*add_special_tokens=*/true);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, c.expected) << "text: \"" << c.text << "\"";
  }
  // The sentencepiece pieces used above are what the table says.
  EXPECT_EQ(Pieces("Hello"), (std::vector<int32_t>{15043}));
  EXPECT_EQ(Pieces("B"), (std::vector<int32_t>{350}));
}

TEST_F(Llama2TokenizerTest, SpecialTokensDecode) {
  const std::vector<int32_t> ids = {1, 15043, 2, 350};
  EXPECT_EQ(tokenizer_->Decode(ids, /*skip_special_tokens=*/true), "Hello B");
  EXPECT_EQ(tokenizer_->Decode(ids, /*skip_special_tokens=*/false), "<s> Hello</s> B");
}

TEST_F(Llama2TokenizerTest, WithoutSpecialTokens) {
  auto ids = tokenizer_->Encode("Hello world", /*add_special_tokens=*/false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{15043, 3186}));
  auto empty = tokenizer_->Encode("", /*add_special_tokens=*/false);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(Llama2TokenizerTest, Config) {
  EXPECT_EQ(tokenizer_->VocabSize(), 32000);
  EXPECT_EQ(tokenizer_->bos_token_id(), 1);
  EXPECT_EQ(tokenizer_->eos_token_ids(), (std::vector<int32_t>{2}));
  EXPECT_TRUE(tokenizer_->add_bos_token());
  EXPECT_FALSE(tokenizer_->add_eos_token());
  EXPECT_EQ(tokenizer_->IdToToken(29871), "▁");
  EXPECT_EQ(tokenizer_->TokenToId("<0x0A>"), 13);
}

}  // namespace
}  // namespace tgi::common
