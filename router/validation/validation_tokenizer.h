// What validation needs from a tokenizer: the prompt's token count and, for /tokenize, the tokens
// with byte offsets. common::Tokenizer sits behind it in the server; tests use fakes. Must be
// callable from several threads at once (const, no shared mutable state).
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/tokenizer.h"
#include "router/api/responses.h"

namespace tgi::router {

class ValidationTokenizer {
 public:
  virtual ~ValidationTokenizer() = default;
  // Tokens of `text` encoded with special tokens (what the prompt costs).
  virtual absl::StatusOr<size_t> CountTokens(std::string_view text) const = 0;
  // The same tokens with byte offsets into `text` (special tokens included).
  virtual absl::StatusOr<std::vector<TokenOffsets>> EncodeWithOffsets(
      std::string_view text) const = 0;
};

// A loaded Hugging Face tokenizer behind the interface.
std::shared_ptr<const ValidationTokenizer> WrapTokenizer(
    std::shared_ptr<const common::Tokenizer> tokenizer);

}  // namespace tgi::router
