// tokenizer.json decoders (ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace, BPEDecoder,
// Sequence): the chain that turns token strings back into text, with Hugging Face's decode_chain
// semantics (each step maps a list of strings to a list of strings; the results are joined).
// Must not look up ids or skip special tokens (the Tokenizer does that before).
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::common::tokenizer_impl {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Rewrites `tokens` in place (valid UTF-8 in, valid UTF-8 out).
  virtual void DecodeChain(std::vector<std::string>& tokens) const = 0;
};

// A decoder from its tokenizer.json object; an error names an unsupported "type".
absl::StatusOr<std::unique_ptr<Decoder>> ParseDecoder(const boost::json::value& json);

}  // namespace tgi::common::tokenizer_impl
