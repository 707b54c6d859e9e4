#include "common/tokenizer/sentencepiece_reference.h"

#include <sentencepiece_processor.h>

namespace tgi::common {

struct SentencepieceReference::Impl {
  sentencepiece::SentencePieceProcessor processor;
};

SentencepieceReference::SentencepieceReference() : impl_(std::make_unique<Impl>()) {}
SentencepieceReference::~SentencepieceReference() = default;

std::unique_ptr<SentencepieceReference> SentencepieceReference::Load(
    const std::string& model_path) {
  std::unique_ptr<SentencepieceReference> reference(new SentencepieceReference());
  if (!reference->impl_->processor.Load(model_path).ok()) return nullptr;
  return reference;
}

bool SentencepieceReference::Encode(const std::string& text, std::vector<int>& ids) const {
  return impl_->processor.Encode(text, &ids).ok();
}

bool SentencepieceReference::Decode(const std::vector<int>& ids, std::string& text) const {
  return impl_->processor.Decode(ids, &text).ok();
}

}  // namespace tgi::common
