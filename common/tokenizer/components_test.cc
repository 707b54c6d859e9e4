// Table-driven tests of each normalizer, pre-tokenizer and decoder, built from small
// tokenizer.json snippets. Expected values follow the `tokenizers` library (several are its own
// unit-test vectors).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/tokenizer/alignments.h"
#include "common/tokenizer/decoders.h"
#include "common/tokenizer/normalizers.h"
#include "common/tokenizer/pre_tokenizers.h"

namespace tgi::common::tokenizer_impl {
namespace {

struct NormalizerCase {
  std::string json;
  std::string input;
  std::string expected;
};

TEST(NormalizersTest, Table) {
  const std::vector<NormalizerCase> cases = {
      {R"({"type":"NFC"})", "e\u0301te\u0301", "été"},
      {R"({"type":"NFD"})", "été", "e\u0301te\u0301"},
      {R"({"type":"NFKC"})", "ﬁ① ²㎏ＡＢ e\u0301", "fi1 2kgAB é"},
      {R"({"type":"NFKD"})", "ﬁé", "fie\u0301"},
      {R"({"type":"NFKC"})", std::string("nul\0ok", 6), std::string("nul\0ok", 6)},
      {R"({"type":"Lowercase"})", "HeLLo ÀÉ ΣΑΣ İ", "hello àé σασ i\u0307"},
      {R"({"type":"Strip","strip_left":true,"strip_right":true})", " \t a b \u3000\n", "a b"},
      {R"({"type":"Strip","strip_left":true,"strip_right":false})", "  a b  ", "a b  "},
      {R"({"type":"Strip","strip_left":false,"strip_right":true})", "  a b  ", "  a b"},
      {R"({"type":"StripAccents"})", "e\u0301a\u0300", "ea"},
      {R"({"type":"Prepend","prepend":"▁"})", "hi", "▁hi"},
      {R"({"type":"Prepend","prepend":"▁"})", "", ""},
      {R"({"type":"Append","append":"</w>"})", "hi", "hi</w>"},
      {R"({"type":"Replace","pattern":{"String":" "},"content":"▁"})", "a b  c", "a▁b▁▁c"},
      {R"({"type":"Replace","pattern":{"String":"."},"content":"!"})", "a.b", "a!b"},
      {R"({"type":"Replace","pattern":{"Regex":"\\s+"},"content":" "})", "a \t\n b", "a b"},
      {R"({"type":"Replace","pattern":{"Regex":"\\p{N}"},"content":"#"})", "a1٣b", "a##b"},
      {R"({"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},
          {"type":"Replace","pattern":{"String":" "},"content":"▁"}]})",
       "a b", "▁a▁b"},
      {R"({"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Lowercase"}]})", "ＡＢＣ",
       "abc"},
  };
  for (const NormalizerCase& c : cases) {
    auto normalizer = ParseNormalizer(boost::json::parse(c.json));
    ASSERT_TRUE(normalizer.ok()) << c.json << ": " << normalizer.status();
    std::string text = c.input;
    ASSERT_TRUE((*normalizer)->Normalize(text, nullptr).ok()) << c.json;
    EXPECT_EQ(text, c.expected) << c.json;
    // Tracking offsets changes nothing in the text.
    std::string tracked = c.input;
    std::vector<Alignment> alignments;
    AppendCharAlignments(tracked, 0, alignments);
    ASSERT_TRUE((*normalizer)->Normalize(tracked, &alignments).ok()) << c.json;
    EXPECT_EQ(tracked, c.expected) << c.json;
    EXPECT_EQ(alignments.size(), tracked.size()) << c.json;
  }
}

// The original range of each normalized character, as Hugging Face's NormalizedString keeps it:
// a replaced or inserted character takes the range of the character it comes from.
TEST(NormalizersTest, Alignments) {
  using Ranges = std::vector<std::pair<size_t, size_t>>;
  struct Case {
    std::string json;
    std::string input;
    Ranges expected;  // one per character of the normalized text
  };
  const std::vector<Case> cases = {
      // tokenizers' own nfd_adds_new_chars vector.
      {R"({"type":"NFD"})",
       "élégant",
       {{0, 2}, {0, 2}, {2, 3}, {3, 5}, {3, 5}, {5, 6}, {6, 7}, {7, 8}, {8, 9}}},
      // A composed character keeps the range of its first part only.
      {R"({"type":"NFC"})", "e\u0301x", {{0, 1}, {3, 4}}},
      {R"({"type":"NFKC"})", "ﬁ", {{0, 3}, {0, 3}}},
      {R"({"type":"Sequence","normalizers":[{"type":"NFD"},{"type":"StripAccents"}]})",
       "é",
       {{0, 2}}},
      {R"({"type":"Lowercase"})", "İA", {{0, 2}, {0, 2}, {2, 3}}},
      {R"({"type":"Strip","strip_left":true,"strip_right":true})", "  ab ", {{2, 3}, {3, 4}}},
      // The prepended character shares the first character's range.
      {R"({"type":"Prepend","prepend":"▁"})", "ab", {{0, 1}, {0, 1}, {1, 2}}},
      // The content replacing a match takes the range of the match's last character.
      {R"({"type":"Replace","pattern":{"String":" "},"content":"▁"})",
       "a b",
       {{0, 1}, {1, 2}, {2, 3}}},
      {R"({"type":"Replace","pattern":{"Regex":"\\s+"},"content":"_"})",
       "a \t b",
       {{0, 1}, {3, 4}, {4, 5}}},
  };
  for (const Case& c : cases) {
    auto normalizer = ParseNormalizer(boost::json::parse(c.json));
    ASSERT_TRUE(normalizer.ok()) << c.json << ": " << normalizer.status();
    std::string text = c.input;
    std::vector<Alignment> alignments;
    AppendCharAlignments(text, 0, alignments);
    ASSERT_TRUE((*normalizer)->Normalize(text, &alignments).ok()) << c.json;
    ASSERT_EQ(alignments.size(), text.size()) << c.json;
    Ranges ranges;
    for (size_t pos = 0; pos < text.size(); ++pos) {
      if ((static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) continue;
      ranges.emplace_back(alignments[pos].begin, alignments[pos].end);
    }
    EXPECT_EQ(ranges, c.expected) << c.json << " on \"" << c.input << "\"";
  }
}

struct PreTokenizerCase {
  std::string json;
  std::string input;
  std::vector<std::string> expected;
  bool at_origin = true;
};

std::vector<std::string> Texts(const std::vector<Piece>& pieces) {
  std::vector<std::string> texts;
  for (const Piece& piece : pieces) texts.push_back(piece.text);
  return texts;
}

TEST(PreTokenizersTest, Table) {
  const std::string split_dash = R"({"type":"Split","pattern":{"String":"-"},"invert":false,)";
  const std::vector<PreTokenizerCase> cases = {
      {R"({"type":"Split","pattern":{"Regex":" "},"behavior":"Removed","invert":false})",
       "a b  c",
       {"a", "b", "c"}},
      {split_dash + R"("behavior":"Isolated"})", "a-b--c", {"a", "-", "b", "-", "-", "c"}},
      {split_dash + R"("behavior":"Removed"})", "a-b--c", {"a", "b", "c"}},
      {split_dash + R"("behavior":"MergedWithPrevious"})", "a-b--c", {"a-", "b-", "-", "c"}},
      {split_dash + R"("behavior":"MergedWithNext"})", "a-b--c", {"a", "-b", "-", "-c"}},
      {split_dash + R"("behavior":"Contiguous"})", "a-b--c", {"a", "-", "b", "--", "c"}},
      {split_dash + R"("behavior":"Isolated"})", "-a-", {"-", "a", "-"}},
      // invert: the pattern's matches are kept and what lies between them is the delimiter.
      {R"({"type":"Split","pattern":{"Regex":"\\p{L}+"},"behavior":"Removed","invert":true})",
       "ab12cd",
       {"ab", "cd"}},
      {R"({"type":"Split","pattern":{"Regex":"\\p{N}{1,3}"},"behavior":"Isolated",
          "invert":false})",
       "x12345",
       {"x", "123", "45"}},
      {R"({"type":"Split","pattern":{"Regex":"(?i:'s|'t)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
          "behavior":"Isolated","invert":false})",
       "It'S 2024!!\n\n  ok",
       {"It", "'S", " ", "202", "4", "!!\n\n", " ", " ok"}},
      {R"({"type":"Digits","individual_digits":true})", "a123b", {"a", "1", "2", "3", "b"}},
      {R"({"type":"Digits","individual_digits":false})", "a123b4", {"a", "123", "b", "4"}},
      {R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true})",
       "Hey friend",
       {"▁Hey", "▁friend"}},
      {R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"never","split":true})",
       "Hey friend",
       {"Hey", "▁friend"}},
      {R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true})",
       "Hey friend",
       {"▁Hey", "▁friend"}},
      // "first" prepends only to a piece that starts the input (not one after an added token).
      {R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true})",
       "Hey friend",
       {"Hey", "▁friend"},
       /*at_origin=*/false},
      {R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":false})",
       "Hey friend",
       {"▁Hey▁friend"}},
      {R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true})",
       "Hey   friend!",
       {"▁Hey", "▁", "▁", "▁friend!"}},
      {R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true})",
       "   ",
       {"▁", "▁", "▁"}},
      {R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true})",
       "a▁b c",
       {"▁a", "▁b", "▁c"}},
      {R"({"type":"Metaspace","replacement":"▁","add_prefix_space":false})",
       "Hey friend",
       {"Hey", "▁friend"}},
      {R"({"type":"Metaspace","replacement":"_","add_prefix_space":true})",
       "one\ttab and",
       {"_one\ttab", "_and"}},
      {R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":true})",
       "Hello world",
       {"Hello", "Ġworld"}},
      {R"({"type":"ByteLevel","add_prefix_space":true,"use_regex":false})",
       "héllo\n",
       {"ĠhÃ©lloĊ"}},
      {R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":true})",
       "I've  9 \t",
       {"I", "'ve", "Ġ", "Ġ9", "Ġĉ"}},
      // Oniguruma's \s includes U+0085 (NEL), so " " stays apart from it.
      {R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":true})",
       "a \u0085b",
       {"a", "Ġ", "Âħ", "b"}},
      {R"({"type":"Whitespace"})", "Hey man!! How?", {"Hey", "man", "!!", "How", "?"}},
      // Rust's \w takes combining marks but not other numbers such as "²".
      {R"({"type":"Whitespace"})", "e\u0301té x²", {"e\u0301té", "x", "²"}},
      {R"({"type":"WhitespaceSplit"})", "a \t b\n", {"a", "b"}},
      {R"({"type":"Punctuation","behavior":"Isolated"})", "Hey, you!", {"Hey", ",", " you", "!"}},
      {R"({"type":"Sequence","pretokenizers":[
          {"type":"Split","pattern":{"String":" "},"behavior":"Removed","invert":false},
          {"type":"Digits","individual_digits":true}]})",
       "ab 12",
       {"ab", "1", "2"}},
  };
  for (const PreTokenizerCase& c : cases) {
    auto pre_tokenizer = ParsePreTokenizer(boost::json::parse(c.json));
    ASSERT_TRUE(pre_tokenizer.ok()) << c.json << ": " << pre_tokenizer.status();
    std::vector<Piece> pieces = {{c.input, c.at_origin, {}}};
    ASSERT_TRUE((*pre_tokenizer)->PreTokenize(pieces).ok()) << c.json;
    EXPECT_EQ(Texts(pieces), c.expected) << c.json << " on \"" << c.input << "\"";
  }
}

TEST(PreTokenizersTest, OnlyTheFirstSplitKeepsTheOrigin) {
  std::vector<Piece> out;
  SplitPiece({"a-b", true, {}}, {{0, 1, false}, {1, 2, true}, {2, 3, false}},
             SplitBehavior::kIsolated, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].at_origin);
  EXPECT_FALSE(out[1].at_origin);
  EXPECT_FALSE(out[2].at_origin);
}

struct DecoderCase {
  std::string json;
  std::vector<std::string> tokens;
  std::vector<std::string> expected;
};

TEST(DecodersTest, Table) {
  const std::string fffd = "\uFFFD";
  const std::string llama = R"({"type":"Sequence","decoders":[
      {"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},
      {"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]})";
  const std::vector<DecoderCase> cases = {
      {R"({"type":"ByteFallback"})",
       {"<0x61>", "b", "<0xE5>", "<0x8F>", "<0xAB>", "x"},
       {"a", "b", "叫", "x"}},
      // An incomplete run becomes one U+FFFD per byte.
      {R"({"type":"ByteFallback"})", {"<0xE5>", "<0x8F>", "a", "<0xE5>"}, {fffd, fffd, "a", fffd}},
      {R"({"type":"ByteFallback"})", {"<0x6g>", "<0x61"}, {"<0x6g>", "<0x61"}},
      {R"({"type":"Fuse"})", {"a", "b", " c"}, {"ab c"}},
      {R"({"type":"Strip","content":"H","start":1,"stop":0})",
       {"Hey", " friend!", "HHH"},
       {"ey", " friend!", "HH"}},
      {R"({"type":"Strip","content":"y","start":0,"stop":1})",
       {"Hey", " friend!"},
       {"He", " friend!"}},
      {R"({"type":"Strip","content":" ","start":2,"stop":2})", {"   a   ", " "}, {" a ", ""}},
      {R"({"type":"Replace","pattern":{"String":"▁"},"content":" "})",
       {"▁a", "▁▁b"},
       {" a", "  b"}},
      {R"({"type":"Replace","pattern":{"Regex":"▁+"},"content":" "})", {"▁a", "▁▁b"}, {" a", " b"}},
      {R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true})",
       {"▁Hey", "▁friend!"},
       {"Hey", " friend!"}},
      {R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"never","split":true})",
       {"▁Hey", "▁friend!"},
       {" Hey", " friend!"}},
      {R"({"type":"Metaspace","replacement":"▁","add_prefix_space":true})",
       {"▁▁x", "▁y▁"},
       {"x", " y "}},
      {R"({"type":"ByteLevel"})", {"Hello", "Ġw", "Ã©", "ðŁĻĤ"}, {"Hello wé🙂"}},
      {R"({"type":"ByteLevel"})", {"Ġ", "ðŁ"}, {" " + fffd}},
      {R"({"type":"ByteLevel"})", {"<|日本|>", "Ġx"}, {"<|日本|> x"}},
      {R"({"type":"BPEDecoder","suffix":"</w>"})",
       {"hel", "lo</w>", "wor", "ld</w>"},
       {"hel", "lo ", "wor", "ld"}},
      {llama, {"▁Hello", "<0xE2>", "<0x82>", "<0xAC>", "▁x"}, {"Hello€ x"}},
      {llama, {"<s>", "▁Hello"}, {"<s> Hello"}},
  };
  for (const DecoderCase& c : cases) {
    auto decoder = ParseDecoder(boost::json::parse(c.json));
    ASSERT_TRUE(decoder.ok()) << c.json << ": " << decoder.status();
    std::vector<std::string> tokens = c.tokens;
    (*decoder)->DecodeChain(tokens);
    EXPECT_EQ(tokens, c.expected) << c.json;
  }
}

TEST(ComponentsTest, UnknownTypesAreNamed) {
  const std::vector<std::pair<std::string, std::string>> normalizers = {
      {R"({"type":"Precompiled","precompiled_charsmap":""})", "Precompiled"},
      {R"({"type":"BertNormalizer"})", "BertNormalizer"},
      {R"({"normalizers":[]})", "type"},
      {R"({"type":"Replace","pattern":{"Regex":"("},"content":""})", "regex"},
      {R"({"type":"Sequence","normalizers":[{"type":"Nope"}]})", "Nope"}};
  for (const auto& [json, name] : normalizers) {
    auto parsed = ParseNormalizer(boost::json::parse(json));
    ASSERT_FALSE(parsed.ok()) << json;
    EXPECT_NE(std::string(parsed.status().message()).find(name), std::string::npos)
        << parsed.status();
  }
  const std::vector<std::pair<std::string, std::string>> pre_tokenizers = {
      {R"({"type":"UnicodeScripts"})", "UnicodeScripts"},
      {R"({"type":"Split","pattern":{"String":"-"},"behavior":"Sideways"})", "Sideways"},
      {R"({"type":"Metaspace","replacement":"ab"})", "one character"},
      {R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"sometimes"})", "sometimes"}};
  for (const auto& [json, name] : pre_tokenizers) {
    auto parsed = ParsePreTokenizer(boost::json::parse(json));
    ASSERT_FALSE(parsed.ok()) << json;
    EXPECT_NE(std::string(parsed.status().message()).find(name), std::string::npos)
        << parsed.status();
  }
  auto decoder = ParseDecoder(boost::json::parse(R"({"type":"CTC"})"));
  ASSERT_FALSE(decoder.ok());
  EXPECT_EQ(decoder.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(std::string(decoder.status().message()).find("CTC"), std::string::npos);
}

}  // namespace
}  // namespace tgi::common::tokenizer_impl
