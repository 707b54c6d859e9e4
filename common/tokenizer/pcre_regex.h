// RAII wrapper over a compiled PCRE2 pattern (UTF + UCP, JIT when available), used for the
// regexes of tokenizer.json (Split, Replace, the ByteLevel GPT-2 pattern). Owns the compiled
// code only; match data is per call, so one Regex is safe to use from many threads at once.
// It knows nothing of split behaviours: pre_tokenizers.cc turns matches into pieces.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::common::tokenizer_impl {

class Regex {
 public:
  // `literal`: the pattern is a plain string, matched as is.
  static absl::StatusOr<Regex> Compile(std::string_view pattern, bool literal = false);

  // Every non-overlapping match, left to right, as byte ranges [first, second). The text must be
  // valid UTF-8. After an empty match the search resumes one character further.
  absl::StatusOr<std::vector<std::pair<size_t, size_t>>> FindAll(std::string_view text) const;

  // `text` with every match replaced by `content`.
  absl::StatusOr<std::string> ReplaceAll(std::string_view text, std::string_view content) const;

 private:
  struct CodeDeleter {
    void operator()(void* code) const;
  };
  explicit Regex(void* code) : code_(code) {}

  std::unique_ptr<void, CodeDeleter> code_;  // pcre2_code_8
};

}  // namespace tgi::common::tokenizer_impl
