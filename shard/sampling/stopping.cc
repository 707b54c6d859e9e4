#include "shard/sampling/stopping.h"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace tgi::shard {
namespace {

constexpr size_t kTrimAboveChars = 300;
constexpr size_t kKeepChars = 200;

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t CountChars(std::string_view text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !IsContinuationByte(c); }));
}

// Whether `stop` occurs in `text` ending after byte `new_from` (inside the newest token's text).
// TGI only matches a stop sequence at the very end of the text, so it misses one that ends inside
// a token ("a litt" in "...a little"); this finds it wherever it ends in the new text.
bool EndsInNewText(std::string_view text, size_t new_from, std::string_view stop) {
  if (stop.empty()) return false;
  const size_t from = new_from + 1 > stop.size() ? new_from + 1 - stop.size() : 0;
  return text.find(stop, from) != std::string_view::npos;
}

}  // namespace

std::string_view FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kLength:
      return "length";
    case FinishReason::kEosToken:
      return "eos_token";
    case FinishReason::kStopSequence:
      return "stop_sequence";
  }
  return "length";
}

StoppingCriteria::StoppingCriteria(StoppingParams params, std::vector<int64_t> eos_token_ids,
                                   bool force_ignore_eos)
    : params_(std::move(params)),
      eos_token_ids_(std::move(eos_token_ids)),
      ignore_eos_(params_.ignore_eos_token || force_ignore_eos) {}

std::optional<FinishReason> StoppingCriteria::Step(int64_t token_id, std::string_view token_text) {
  current_tokens_ += 1;
  if (current_tokens_ >= params_.max_new_tokens) return FinishReason::kLength;

  if (!ignore_eos_ &&
      std::find(eos_token_ids_.begin(), eos_token_ids_.end(), token_id) != eos_token_ids_.end()) {
    return FinishReason::kEosToken;
  }

  if (params_.stop_sequences.empty() || token_text.empty()) return std::nullopt;
  size_t new_from = output_.size();
  output_.append(token_text);
  output_chars_ += CountChars(token_text);
  if (output_chars_ > kTrimAboveChars) {
    // Drop whole characters from the front until kKeepChars remain.
    size_t drop = output_chars_ - kKeepChars;
    size_t cut = 0;
    while (cut < output_.size() && drop > 0) {
      ++cut;
      while (cut < output_.size() && IsContinuationByte(output_[cut])) ++cut;
      --drop;
    }
    output_.erase(0, cut);
    output_chars_ = kKeepChars;
    new_from = new_from > cut ? new_from - cut : 0;
  }
  for (const std::string& stop : params_.stop_sequences) {
    if (EndsInNewText(output_, new_from, stop)) return FinishReason::kStopSequence;
  }
  return std::nullopt;
}

}  // namespace tgi::shard
