// The added tokens of tokenizer.json ("added_tokens"): their ids and flags, and the splitting of
// input text around them (leftmost-longest matching with single_word, lstrip and rstrip), once on
// the raw text for normalized=false tokens and once on normalized pieces for normalized=true
// ones, as Hugging Face's AddedVocabulary. Must not run the normalizer or the model itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "common/tokenizer/normalizers.h"
#include "common/tokenizer/unicode_text.h"

namespace tgi::common::tokenizer_impl {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

// A byte range of the text being split, either an added token (id set) or text between tokens.
struct Segment {
  size_t begin;
  size_t end;
  std::optional<int32_t> id;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // `normalizer` (may be null) is applied to the content of normalized=true tokens to build the
  // patterns they are matched with, as Hugging Face does.
  static absl::StatusOr<AddedVocabulary> Create(std::vector<AddedToken> tokens,
                                                const Normalizer* normalizer);

  // Splits `text` around the normalized=false tokens (raw text) or the normalized=true ones.
  // Segments cover the text in order; empty text gives no segment.
  std::vector<Segment> SplitRaw(std::string_view text) const { return Split(text, raw_); }
  std::vector<Segment> SplitNormalized(std::string_view text) const {
    return Split(text, normalized_);
  }

  const AddedToken* FindById(int32_t id) const;
  std::optional<int32_t> TokenToId(std::string_view content) const;
  // Whether `content` is the content of a special added token (what skip_special_tokens drops).
  bool IsSpecialContent(std::string_view content) const {
    return special_contents_.contains(AbslView(content));
  }
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // A byte trie over token patterns, searched leftmost-longest.
  struct Matcher {
    struct Node {
      absl::flat_hash_map<unsigned char, int32_t> children;
      int32_t token_index = -1;  // index into tokens_ of the pattern ending here
    };
    std::vector<Node> nodes{Node{}};
    bool first_bytes[256] = {};
    void Add(std::string_view pattern, int32_t token_index);
    // The token index and end of the longest pattern starting at `pos`, if any.
    std::optional<std::pair<int32_t, size_t>> LongestAt(std::string_view text, size_t pos) const;
  };

  std::vector<Segment> Split(std::string_view text, const Matcher& matcher) const;

  std::vector<AddedToken> tokens_;
  absl::flat_hash_map<int32_t, size_t> index_by_id_;
  absl::flat_hash_map<std::string, int32_t> id_by_content_;
  absl::flat_hash_set<std::string> special_contents_;
  Matcher raw_;
  Matcher normalized_;
};

}  // namespace tgi::common::tokenizer_impl
