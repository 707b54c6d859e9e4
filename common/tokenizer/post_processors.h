// tokenizer.json post-processors for single sequences: TemplateProcessing (the "single"
// template), RobertaProcessing, BertProcessing, ByteLevel (ids unchanged) and Sequence. They add
// special-token ids around the encoded sequence when add_special_tokens is set (their offsets are
// empty), and say whether offsets are trimmed of whitespace (ByteLevel / RobertaProcessing
// trim_offsets). Pair templates are not used by a text-generation server and are ignored.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/alignments.h"

namespace tgi::common::tokenizer_impl {

class PostProcessor {
 public:
  // `prefix` ids go before the sequence, `suffix` ids after it.
  PostProcessor(std::vector<int32_t> prefix, std::vector<int32_t> suffix)
      : prefix_(std::move(prefix)), suffix_(std::move(suffix)) {}

  // Also gives every added token the empty offsets (0, 0) when `offsets` is not null.
  void AddSpecialTokens(std::vector<int32_t>& ids, std::vector<Alignment>* offsets) const;
  const std::vector<int32_t>& prefix() const { return prefix_; }
  const std::vector<int32_t>& suffix() const { return suffix_; }

  // trim_offsets of a ByteLevel or RobertaProcessing step, with that step's add_prefix_space.
  void SetTrimOffsets(bool add_prefix_space) {
    trim_offsets_ = true;
    trim_add_prefix_space_ = add_prefix_space;
  }
  bool trim_offsets() const { return trim_offsets_; }
  bool trim_add_prefix_space() const { return trim_add_prefix_space_; }
  // tokenizers' process_offsets for the token at `index` of the sequence: moves `offsets` past
  // the whitespace (or byte-level space symbol) characters that `token` starts and ends with,
  // one byte per character, keeping the single prefix space of the first token when
  // add_prefix_space is set.
  Alignment TrimOffsets(std::string_view token, Alignment offsets, size_t index) const;

 private:
  std::vector<int32_t> prefix_;
  std::vector<int32_t> suffix_;
  bool trim_offsets_ = false;
  bool trim_add_prefix_space_ = false;
};

// A post-processor from its tokenizer.json object; an error names an unsupported "type".
absl::StatusOr<PostProcessor> ParsePostProcessor(const boost::json::value& json);

}  // namespace tgi::common::tokenizer_impl
