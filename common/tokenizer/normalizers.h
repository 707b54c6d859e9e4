// tokenizer.json normalizers (Sequence, Prepend, Append, Replace, NFC/NFD/NFKC/NFKD, Lowercase,
// Strip, StripAccents): text -> text, applied to each piece of input between added tokens.
// Only the text matters here (ids, not offsets, are this library's output), so no alignment
// bookkeeping. Must not know about added tokens, pre-tokenizers or the model.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tgi::common::tokenizer_impl {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // `text` is valid UTF-8 and stays so.
  virtual absl::Status Normalize(std::string& text) const = 0;
};

// A normalizer from its tokenizer.json object; an error names an unsupported "type".
absl::StatusOr<std::unique_ptr<Normalizer>> ParseNormalizer(const boost::json::value& json);

}  // namespace tgi::common::tokenizer_impl
