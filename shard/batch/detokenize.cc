#include "shard/batch/detokenize.h"

#include <vector>

namespace tgi::shard {

bool IsSpecial(const common::Tokenizer* tokenizer, int64_t id) {
  return tokenizer != nullptr && tokenizer->IsSpecial(static_cast<int32_t>(id));
}

std::string TokenText(const common::Tokenizer* tokenizer, int64_t id) {
  if (tokenizer == nullptr) return "";
  const int32_t ids[] = {static_cast<int32_t>(id)};
  return tokenizer->Decode(ids, /*skip_special_tokens=*/false);
}

TokenList TopTokenList(const common::Tokenizer* tokenizer, const TopTokens& top) {
  TokenList list;
  for (size_t i = 0; i < top.ids.size(); ++i) {
    list.Add(static_cast<uint32_t>(top.ids[i]), top.logprobs[i], TokenText(tokenizer, top.ids[i]),
             IsSpecial(tokenizer, top.ids[i]));
  }
  return list;
}

TokenList PrefillTokens(const common::Tokenizer* tokenizer, std::span<const int32_t> prompt,
                        std::span<const float> logprobs) {
  TokenList list;
  for (size_t i = 0; i < prompt.size(); ++i) {
    list.Add(static_cast<uint32_t>(prompt[i]), logprobs[i], TokenText(tokenizer, prompt[i]),
             IsSpecial(tokenizer, prompt[i]));
  }
  return list;
}

std::string GeneratedText(const common::Tokenizer* tokenizer, std::span<const int32_t> ids,
                          int64_t generated) {
  if (tokenizer == nullptr || generated <= 0) return "";
  const size_t read = ids.size() - static_cast<size_t>(generated);
  common::Tokenizer::DecodeStep step =
      tokenizer->DecodeToken(ids, read > 0 ? read - 1 : 0, read, /*skip_special_tokens=*/true);
  // TGI would return "" when the text ends inside a character; the whole decode (ending in
  // U+FFFD) tells the client more.
  if (step.text.empty()) return tokenizer->Decode(ids.subspan(read), /*skip_special_tokens=*/true);
  return std::move(step.text);
}

}  // namespace tgi::shard
