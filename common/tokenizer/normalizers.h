// tokenizer.json normalizers (Sequence, Prepend, Append, Replace, NFC/NFD/NFKC/NFKD, Lowercase,
// Strip, StripAccents): text -> text, applied to each piece of input between added tokens, with
// the alignment bookkeeping of Hugging Face's NormalizedString when offsets are tracked.
// Must not know about added tokens, pre-tokenizers or the model.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/tokenizer/alignments.h"

namespace tgi::common::tokenizer_impl {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // `text` is valid UTF-8 and stays so. `alignments` is null when offsets are not tracked, else
  // one original range per byte of `text`, updated along with it.
  virtual absl::Status Normalize(std::string& text, std::vector<Alignment>* alignments) const = 0;
};

// A normalizer from its tokenizer.json object; an error names an unsupported "type".
absl::StatusOr<std::unique_ptr<Normalizer>> ParseNormalizer(const boost::json::value& json);

}  // namespace tgi::common::tokenizer_impl
