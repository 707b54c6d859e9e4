#include "router/validation/validation_tokenizer.h"

#include <utility>

namespace tgi::router {
namespace {

class HfTokenizer : public ValidationTokenizer {
 public:
  explicit HfTokenizer(std::shared_ptr<const common::Tokenizer> tokenizer)
      : tokenizer_(std::move(tokenizer)) {}

  absl::StatusOr<size_t> CountTokens(std::string_view text) const override {
    absl::StatusOr<std::vector<int32_t>> ids = tokenizer_->Encode(text, true);
    if (!ids.ok()) return ids.status();
    return ids->size();
  }

  absl::StatusOr<std::vector<TokenOffsets>> EncodeWithOffsets(
      std::string_view text) const override {
    absl::StatusOr<std::vector<common::TokenWithOffsets>> encoded =
        tokenizer_->EncodeWithOffsets(text, true);
    if (!encoded.ok()) return encoded.status();
    std::vector<TokenOffsets> tokens;
    tokens.reserve(encoded->size());
    for (const common::TokenWithOffsets& token : *encoded) {
      tokens.push_back({static_cast<uint32_t>(token.id), token.start, token.stop});
    }
    return tokens;
  }

 private:
  std::shared_ptr<const common::Tokenizer> tokenizer_;
};

}  // namespace

std::shared_ptr<const ValidationTokenizer> WrapTokenizer(
    std::shared_ptr<const common::Tokenizer> tokenizer) {
  return std::make_shared<HfTokenizer>(std::move(tokenizer));
}

}  // namespace tgi::router
