// tokenizer.json post-processors for single sequences: TemplateProcessing (the "single"
// template), RobertaProcessing, BertProcessing, ByteLevel (ids unchanged) and Sequence. They add
// special-token ids around the encoded sequence when add_special_tokens is set. Pair templates
// are not used by a text-generation server and are ignored.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::common::tokenizer_impl {

class PostProcessor {
 public:
  // `prefix` ids go before the sequence, `suffix` ids after it.
  PostProcessor(std::vector<int32_t> prefix, std::vector<int32_t> suffix)
      : prefix_(std::move(prefix)), suffix_(std::move(suffix)) {}

  void AddSpecialTokens(std::vector<int32_t>& ids) const;
  const std::vector<int32_t>& prefix() const { return prefix_; }
  const std::vector<int32_t>& suffix() const { return suffix_; }

 private:
  std::vector<int32_t> prefix_;
  std::vector<int32_t> suffix_;
};

// A post-processor from its tokenizer.json object; an error names an unsupported "type".
absl::StatusOr<PostProcessor> ParsePostProcessor(const boost::json::value& json);

}  // namespace tgi::common::tokenizer_impl
