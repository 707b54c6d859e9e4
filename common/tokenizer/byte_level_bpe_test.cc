// A GPT-2 style byte-level BPE built by the test itself (256 byte symbols, a few merges, the
// ByteLevel pre-tokenizer with the GPT-2 regex, the ByteLevel decoder, added tokens): encodings
// and offsets worked out by hand, byte-exact round trips, and streaming that never splits a
// character.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "common/tokenizer/tokenizer.h"

namespace tgi::common {
namespace {

std::string Utf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

// GPT-2's bytes_to_unicode, written independently of the library.
std::string Sym(unsigned char byte) {
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    if (b == byte) return Utf8(printable ? b : 256 + n);
    if (!printable) ++n;
  }
  return "";
}

std::string Syms(const std::string& bytes) {
  std::string out;
  for (char c : bytes) out += Sym(static_cast<unsigned char>(c));
  return out;
}

const std::string kSmile = "\xF0\x9F\x99\x82";  // U+1F642, merged as two 2-byte tokens
const std::string kGrin = "\xF0\x9F\x98\x80";   // U+1F600, one merged token and two bytes

// (left, right) merges in rank order, as byte strings before the symbol mapping.
const std::vector<std::pair<std::string, std::string>>& Merges() {
  static const auto* merges = new std::vector<std::pair<std::string, std::string>>{
      {" ", "t"}, {"h", "e"},    {" t", "he"},     {"l", "l"},       {"ll", "o"},
      {" ", "w"}, {"o", "r"},    {" w", "or"},     {"l", "d"},       {" wor", "ld"},
      {"H", "e"}, {"He", "llo"}, {"\xF0", "\x9F"}, {"\x99", "\x82"}, {" ", " "}};
  return *merges;
}

// token (in symbols) -> id: the 256 bytes as ids 0..255, then one id per merge.
std::map<std::string, int32_t> Vocab() {
  std::map<std::string, int32_t> vocab;
  for (int b = 0; b < 256; ++b) vocab[Sym(static_cast<unsigned char>(b))] = b;
  int32_t next = 256;
  for (const auto& [left, right] : Merges()) vocab[Syms(left + right)] = next++;
  return vocab;
}

int32_t Id(const std::string& bytes) { return Vocab().at(Syms(bytes)); }

std::string TokenizerJson(bool array_merges, bool add_prefix_space = false,
                          bool trim_offsets = true) {
  boost::json::object vocab;
  for (const auto& [token, id] : Vocab()) vocab[token] = id;
  boost::json::array merges;
  for (const auto& [left, right] : Merges()) {
    if (array_merges) {
      merges.push_back(boost::json::array{Syms(left).c_str(), Syms(right).c_str()});
    } else {
      merges.push_back(boost::json::string(Syms(left) + " " + Syms(right)));
    }
  }
  boost::json::object byte_level = {{"type", "ByteLevel"},
                                    {"add_prefix_space", add_prefix_space},
                                    {"trim_offsets", trim_offsets},
                                    {"use_regex", true}};
  boost::json::array added = {{{"id", 300},
                               {"content", "<|endoftext|>"},
                               {"single_word", false},
                               {"lstrip", false},
                               {"rstrip", false},
                               {"normalized", false},
                               {"special", true}},
                              {{"id", 301},
                               {"content", "<|日本|>"},
                               {"single_word", false},
                               {"lstrip", false},
                               {"rstrip", false},
                               {"normalized", false},
                               {"special", false}}};
  boost::json::object root = {{"version", "1.0"},
                              {"truncation", nullptr},
                              {"padding", nullptr},
                              {"added_tokens", added},
                              {"normalizer", nullptr},
                              {"pre_tokenizer", byte_level},
                              {"post_processor", byte_level},
                              {"decoder", byte_level},
                              {"model",
                               {{"type", "BPE"},
                                {"dropout", nullptr},
                                {"unk_token", nullptr},
                                {"continuing_subword_prefix", nullptr},
                                {"end_of_word_suffix", nullptr},
                                {"fuse_unk", false},
                                {"byte_fallback", false},
                                {"vocab", vocab},
                                {"merges", merges}}}};
  return boost::json::serialize(root);
}

class ByteLevelBpeTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto loaded = Tokenizer::FromJson(TokenizerJson(/*array_merges=*/GetParam()));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    tokenizer_ = std::move(*loaded);
  }
  std::vector<int32_t> Encode(const std::string& text) {
    auto ids = tokenizer_->Encode(text, /*add_special_tokens=*/true);
    EXPECT_TRUE(ids.ok()) << ids.status();
    return ids.ok() ? *ids : std::vector<int32_t>{-1};
  }
  std::unique_ptr<Tokenizer> tokenizer_;
};

INSTANTIATE_TEST_SUITE_P(MergeForms, ByteLevelBpeTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Arrays" : "Strings"; });

TEST_P(ByteLevelBpeTest, HandWorkedEncodings) {
  struct Case {
    std::string text;
    std::vector<int32_t> expected;
  };
  const std::vector<Case> cases = {
      {"", {}},
      // "Hello": ll (rank 3), llo (4), He (10), Hello (11).
      {"Hello world", {Id("Hello"), Id(" world")}},
      {" the", {Id(" the")}},
      {"the", {Id("t"), Id("he")}},
      // Equal ranks merge leftmost first: "lllo" -> ll l o, never l llo.
      {"lllo", {Id("ll"), Id("l"), Id("o")}},
      // The GPT-2 regex: a space before a word goes with the word; "\s+(?!\S)" keeps the last
      // space of a run for the next word, so "  " never merges across that boundary.
      {"a  b", {Id("a"), Id(" "), Id(" "), Id("b")}},
      {"a   ", {Id("a"), Id("  "), Id(" ")}},
      {"I'm 42!", {Id("I"), Id("'"), Id("m"), Id(" "), Id("4"), Id("2"), Id("!")}},
      {"é", {0xC3, 0xA9}},
      {kSmile, {Id("\xF0\x9F"), Id("\x99\x82")}},
      {kGrin, {Id("\xF0\x9F"), 0x98, 0x80}},
      {"Hello<|endoftext|> world", {Id("Hello"), 300, Id(" world")}},
      {"<|endoftext|><|日本|>", {300, 301}},
      {"<|endoftext",
       {Id("<"), Id("|"), Id("e"), Id("n"), Id("d"), Id("o"), Id("f"), Id("t"), Id("e"), Id("x"),
        Id("t")}},
  };
  for (const Case& c : cases) EXPECT_EQ(Encode(c.text), c.expected) << "text: \"" << c.text << "\"";
}

TEST_P(ByteLevelBpeTest, EveryByteValueRoundTrips) {
  // U+0000..U+00FF: ASCII bytes alone, the rest as two-byte UTF-8 (bytes C2/C3 + 80..BF).
  std::string all;
  for (char32_t cp = 0; cp < 256; ++cp) all += Utf8(cp);
  EXPECT_EQ(tokenizer_->Decode(Encode(all), false), all);
  // Each of the 256 byte tokens decodes to its byte, or to U+FFFD where that byte alone is not
  // UTF-8 (the decoder repairs the bytes as String::from_utf8_lossy).
  for (int b = 0; b < 256; ++b) {
    const std::vector<int32_t> ids = {b};
    EXPECT_EQ(tokenizer_->Decode(ids, false),
              b < 0x80 ? std::string(1, static_cast<char>(b)) : std::string("\xEF\xBF\xBD"))
        << b;
  }
  // Byte tokens of a multi-byte character decode together.
  const std::vector<int32_t> euro = {0xE2, 0x82, 0xAC};
  EXPECT_EQ(tokenizer_->Decode(euro, false), "€");
}

TEST_P(ByteLevelBpeTest, RandomTextRoundTrips) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> plane(0, 3);
  for (int i = 0; i < 300; ++i) {
    std::string text;
    const int length = static_cast<int>(rng() % 40);
    for (int j = 0; j < length; ++j) {
      char32_t cp;
      switch (plane(rng)) {
        case 0:
          cp = rng() % 0x80;
          break;
        case 1:
          cp = 0x80 + rng() % 0x780;
          break;
        case 2:
          cp = 0x800 + rng() % 0xD000;
          break;  // below the surrogates
        default:
          cp = 0x10000 + rng() % 0xFFFF;
          break;
      }
      text += Utf8(cp);
    }
    EXPECT_EQ(tokenizer_->Decode(Encode(text), false), text);
  }
}

// Invalid UTF-8 input is repaired first: each maximal ill-formed subpart becomes one U+FFFD.
TEST_P(ByteLevelBpeTest, InvalidUtf8IsRepaired) {
  const std::string fffd = "\xEF\xBF\xBD";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\xFF", fffd},
      {"a\xC3", "a" + fffd},
      {"\xE2\x82", fffd},
      {"\xF0\x9F\x99", fffd},
      {"\xC0\xAF", fffd + fffd},
      {"\xED\xA0\x80", fffd + fffd + fffd},
      {"ok\x80\x80ok", "ok" + fffd + fffd + "ok"},
      {std::string("nul\0byte", 8), std::string("nul\0byte", 8)},
  };
  for (const auto& [input, repaired] : cases) {
    EXPECT_EQ(Encode(input), Encode(repaired));
    EXPECT_EQ(tokenizer_->Decode(Encode(input), false), repaired);
  }
}

TEST_P(ByteLevelBpeTest, AddedTokensDecode) {
  const std::vector<int32_t> ids = {Id("Hello"), 300, 301, Id(" world")};
  EXPECT_EQ(tokenizer_->Decode(ids, /*skip_special_tokens=*/false),
            "Hello<|endoftext|><|日本|> world");
  // Only special tokens are skipped.
  EXPECT_EQ(tokenizer_->Decode(ids, /*skip_special_tokens=*/true), "Hello<|日本|> world");
  EXPECT_TRUE(tokenizer_->IsSpecial(300));
  EXPECT_FALSE(tokenizer_->IsSpecial(301));
  EXPECT_EQ(tokenizer_->TokenToId("<|endoftext|>"), 300);
  EXPECT_EQ(tokenizer_->VocabSize(), 302);
  EXPECT_FALSE(tokenizer_->add_bos_token());
  // Unknown ids are skipped.
  const std::vector<int32_t> unknown = {290, Id("Hello"), -5};
  EXPECT_EQ(tokenizer_->Decode(unknown, false), "Hello");
}

// Streams `ids` one at a time from an empty prompt as TGI does; every step must be whole
// characters, and the steps concatenate to the full decode.
std::vector<std::string> Stream(const Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  std::vector<std::string> steps;
  std::vector<int32_t> seen;
  size_t prefix_offset = 0;
  size_t read_offset = 0;
  for (int32_t id : ids) {
    seen.push_back(id);
    Tokenizer::DecodeStep step = tokenizer.DecodeToken(seen, prefix_offset, read_offset);
    steps.push_back(step.text);
    prefix_offset = step.prefix_offset;
    read_offset = step.read_offset;
  }
  return steps;
}

TEST_P(ByteLevelBpeTest, StreamingNeverSplitsACharacter) {
  const std::string text = "Hi " + kSmile + kGrin + "!";
  const std::vector<int32_t> ids = Encode(text);
  // " " + smile + grin + "!" is one pre-token: Ġ, F09F, 9982, F09F, 98, 80, !
  ASSERT_EQ(ids, (std::vector<int32_t>{Id("H"), Id("i"), Id(" "), Id("\xF0\x9F"), Id("\x99\x82"),
                                       Id("\xF0\x9F"), 0x98, 0x80, Id("!")}));
  const std::vector<std::string> steps = Stream(*tokenizer_, ids);
  EXPECT_EQ(steps, (std::vector<std::string>{"H", "i", " ", "", kSmile, "", "", kGrin, "!"}));
}

TEST_P(ByteLevelBpeTest, DecodeTokenOffsets) {
  const std::vector<int32_t> ids = {Id("Hello"), Id("\xF0\x9F")};
  // The new token is half a character: nothing yet, offsets unchanged.
  Tokenizer::DecodeStep step = tokenizer_->DecodeToken(ids, 0, 1);
  EXPECT_EQ(step.text, "");
  EXPECT_EQ(step.prefix_offset, 0u);
  EXPECT_EQ(step.read_offset, 1u);
  const std::vector<int32_t> more = {Id("Hello"), Id("\xF0\x9F"), Id("\x99\x82")};
  step = tokenizer_->DecodeToken(more, 0, 1);
  EXPECT_EQ(step.text, kSmile);
  EXPECT_EQ(step.prefix_offset, 1u);
  EXPECT_EQ(step.read_offset, 3u);
  // Offsets past the end are clamped.
  step = tokenizer_->DecodeToken(more, 7, 9);
  EXPECT_EQ(step.text, "");
  EXPECT_EQ(step.read_offset, 3u);
}

using Offsets = std::vector<std::tuple<int32_t, size_t, size_t>>;

Offsets EncodeOffsets(const Tokenizer& tokenizer, const std::string& text) {
  auto tokens = tokenizer.EncodeWithOffsets(text, /*add_special_tokens=*/true);
  EXPECT_TRUE(tokens.ok()) << tokens.status();
  Offsets out;
  if (tokens.ok()) {
    for (const TokenWithOffsets& token : *tokens)
      out.emplace_back(token.id, token.start, token.stop);
  }
  return out;
}

// This tokenizer's ByteLevel post-processor has trim_offsets: a token's leading and trailing
// spaces are cut from its range (one byte per space symbol), as tokenizers' process_offsets.
TEST_P(ByteLevelBpeTest, OffsetsAreTrimmed) {
  const int32_t space = Id(" ");
  EXPECT_EQ(EncodeOffsets(*tokenizer_, "Hello world"),
            (Offsets{{Id("Hello"), 0, 5}, {Id(" world"), 6, 11}}));
  EXPECT_EQ(EncodeOffsets(*tokenizer_, " the world"),
            (Offsets{{Id(" the"), 1, 4}, {Id(" world"), 5, 10}}));
  EXPECT_EQ(EncodeOffsets(*tokenizer_, "Hello  world"),
            (Offsets{{Id("Hello"), 0, 5}, {space, 6, 6}, {Id(" world"), 7, 12}}));
  // Both tokens of a 4-byte character have its whole range.
  EXPECT_EQ(EncodeOffsets(*tokenizer_, "x " + kSmile + "y"), (Offsets{{Id("x"), 0, 1},
                                                                      {space, 2, 2},
                                                                      {Id("\xF0\x9F"), 2, 6},
                                                                      {Id("\x99\x82"), 2, 6},
                                                                      {Id("y"), 6, 7}}));
  EXPECT_EQ(EncodeOffsets(*tokenizer_, "a<|endoftext|> b"),
            (Offsets{{Id("a"), 0, 1}, {300, 1, 14}, {space, 15, 15}, {Id("b"), 15, 16}}));
}

TEST_P(ByteLevelBpeTest, OffsetsInvariantsOnRandomText) {
  std::mt19937 rng(99);
  const std::vector<std::string> atoms = {
      "a",    "Hello", " world", " the",          " ",        "  ",  "\n", "!", "é",
      kSmile, kGrin,   "日本",   "<|endoftext|>", "<|日本|>", "\xFF"};
  for (int i = 0; i < 300; ++i) {
    std::string text;
    for (size_t n = rng() % 12; n > 0; --n) text += atoms[rng() % atoms.size()];
    auto ids = tokenizer_->Encode(text, true);
    auto tokens = tokenizer_->EncodeWithOffsets(text, true);
    ASSERT_TRUE(ids.ok() && tokens.ok());
    ASSERT_EQ(tokens->size(), ids->size());
    size_t last_start = 0;
    for (size_t t = 0; t < ids->size(); ++t) {
      EXPECT_EQ((*tokens)[t].id, (*ids)[t]) << text;
      EXPECT_LE((*tokens)[t].start, (*tokens)[t].stop) << text;
      EXPECT_LE((*tokens)[t].stop, text.size()) << text;
      EXPECT_GE((*tokens)[t].start, last_start) << text;
      last_start = (*tokens)[t].start;
    }
  }
}

// Without trim_offsets a word's range includes its leading space; byte tokens of one character
// all have the character's range.
TEST(ByteLevelOffsetsTest, UntrimmedOffsets) {
  auto tokenizer = Tokenizer::FromJson(TokenizerJson(false, false, /*trim_offsets=*/false));
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  const Tokenizer& t = **tokenizer;
  EXPECT_EQ(EncodeOffsets(t, "Hello world"), (Offsets{{Id("Hello"), 0, 5}, {Id(" world"), 5, 11}}));
  EXPECT_EQ(EncodeOffsets(t, " the world"), (Offsets{{Id(" the"), 0, 4}, {Id(" world"), 4, 10}}));
  EXPECT_EQ(EncodeOffsets(t, "Hello  world"),
            (Offsets{{Id("Hello"), 0, 5}, {Id(" "), 5, 6}, {Id(" world"), 6, 12}}));
  EXPECT_EQ(EncodeOffsets(t, "é!"), (Offsets{{0xC3, 0, 2}, {0xA9, 0, 2}, {Id("!"), 2, 3}}));
  EXPECT_EQ(EncodeOffsets(t, kGrin), (Offsets{{Id("\xF0\x9F"), 0, 4}, {0x98, 0, 4}, {0x80, 0, 4}}));
}

// add_prefix_space: the added space shares the first character's range; with trim_offsets the
// first token keeps its single prefix space, so a lone "Ġ" is trimmed to nothing.
TEST(ByteLevelOffsetsTest, PrefixSpace) {
  auto untrimmed = Tokenizer::FromJson(TokenizerJson(false, true, /*trim_offsets=*/false));
  auto trimmed = Tokenizer::FromJson(TokenizerJson(false, true, /*trim_offsets=*/true));
  ASSERT_TRUE(untrimmed.ok() && trimmed.ok());
  EXPECT_EQ(EncodeOffsets(**untrimmed, "Hello world"),
            (Offsets{{Id(" "), 0, 1}, {Id("Hello"), 0, 5}, {Id(" world"), 5, 11}}));
  EXPECT_EQ(EncodeOffsets(**trimmed, "Hello world"),
            (Offsets{{Id(" "), 0, 0}, {Id("Hello"), 0, 5}, {Id(" world"), 6, 11}}));
  EXPECT_EQ(EncodeOffsets(**trimmed, "the"), (Offsets{{Id(" the"), 0, 3}}));
}

TEST(ByteLevelPrefixSpaceTest, AddPrefixSpace) {
  auto tokenizer = Tokenizer::FromJson(TokenizerJson(false, /*add_prefix_space=*/true));
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  auto ids = (*tokenizer)->Encode("the", true);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{Id(" the")}));
  // Each piece between added tokens gets its own prefix space.
  ids = (*tokenizer)->Encode("the<|endoftext|>the", true);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{Id(" the"), 300, Id(" the")}));
}

}  // namespace
}  // namespace tgi::common
