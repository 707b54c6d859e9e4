#include "shard/batch/detokenize.h"

#include <algorithm>
#include <vector>

namespace tgi::shard {

namespace {

// Number of UTF-8 code points in `text` (continuation bytes are not counted).
size_t CodePoints(std::string_view text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

// The suffix of `text` after its first `count` code points.
std::string_view DropCodePoints(std::string_view text, size_t count) {
  size_t i = 0, seen = 0;
  for (; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (seen == count) break;
    ++seen;
  }
  return text.substr(i);
}

}  // namespace

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
                        const at::Tensor& logits) {
  const std::vector<int64_t> ids(prompt.begin(), prompt.end());
  const std::vector<float> logprobs = PrefillLogprobs(logits, ids);
  TokenList list;
  for (size_t i = 0; i < ids.size(); ++i) {
    list.Add(static_cast<uint32_t>(ids[i]), logprobs[i], TokenText(tokenizer, ids[i]),
             IsSpecial(tokenizer, ids[i]));
  }
  return list;
}

std::string GeneratedText(const common::Tokenizer* tokenizer, std::span<const int32_t> ids,
                          int64_t generated) {
  if (tokenizer == nullptr || generated <= 0) return "";
  const size_t read = ids.size() - static_cast<size_t>(generated);
  const size_t prefix = read > 0 ? read - 1 : 0;
  const std::string context =
      tokenizer->Decode(ids.subspan(prefix, read - prefix), /*skip_special_tokens=*/true);
  const std::string full = tokenizer->Decode(ids.subspan(prefix), /*skip_special_tokens=*/true);
  // TGI slices by characters; the decode of the context is normally a prefix of the full decode.
  return std::string(DropCodePoints(full, CodePoints(context)));
}

}  // namespace tgi::shard
