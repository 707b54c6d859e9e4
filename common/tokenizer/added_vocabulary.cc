#include "common/tokenizer/added_vocabulary.h"

#include <algorithm>
#include <utility>

#include "common/tokenizer/unicode_text.h"

namespace tgi::common::tokenizer_impl {
namespace {

bool EndsWithWordChar(std::string_view text) {
  char32_t cp;
  return LastCodePoint(text, &cp) && IsWordChar(cp);
}

bool StartsWithWordChar(std::string_view text) {
  char32_t cp;
  return FirstCodePoint(text, &cp) && IsWordChar(cp);
}

// Start of the whitespace run that ends `text` (text.size() when there is none).
size_t TrailingWhitespaceStart(std::string_view text) {
  size_t start = text.size();
  while (start > 0) {
    size_t begin = start - 1;
    while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
    char32_t cp;
    if (DecodeUtf8(text, begin, &cp) == 0 || !IsWhitespace(cp)) break;
    start = begin;
  }
  return start;
}

// Length of the whitespace run that starts `text`.
size_t LeadingWhitespaceLength(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    const size_t len = DecodeUtf8(text, pos, &cp);
    if (len == 0 || !IsWhitespace(cp)) break;
    pos += len;
  }
  return pos;
}

}  // namespace

void AddedVocabulary::Matcher::Add(std::string_view pattern, int32_t token_index) {
  if (pattern.empty()) return;
  first_bytes[static_cast<unsigned char>(pattern[0])] = true;
  int32_t node = 0;
  for (char c : pattern) {
    const auto byte = static_cast<unsigned char>(c);
    auto it = nodes[node].children.find(byte);
    if (it == nodes[node].children.end()) {
      nodes.push_back(Node{});
      const auto child = static_cast<int32_t>(nodes.size() - 1);
      nodes[node].children.emplace(byte, child);
      node = child;
    } else {
      node = it->second;
    }
  }
  nodes[node].token_index = token_index;
}

std::optional<std::pair<int32_t, size_t>> AddedVocabulary::Matcher::LongestAt(std::string_view text,
                                                                              size_t pos) const {
  std::optional<std::pair<int32_t, size_t>> best;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    auto it = nodes[node].children.find(static_cast<unsigned char>(text[i]));
    if (it == nodes[node].children.end()) break;
    node = it->second;
    if (nodes[node].token_index >= 0) best = std::make_pair(nodes[node].token_index, i + 1);
  }
  return best;
}

absl::StatusOr<AddedVocabulary> AddedVocabulary::Create(std::vector<AddedToken> tokens,
                                                        const Normalizer* normalizer) {
  AddedVocabulary vocabulary;
  for (AddedToken& token : tokens) {
    if (token.content.empty()) continue;
    const auto index = static_cast<int32_t>(vocabulary.tokens_.size());
    vocabulary.index_by_id_[token.id] = vocabulary.tokens_.size();
    vocabulary.id_by_content_[token.content] = token.id;
    if (token.special) vocabulary.special_contents_.insert(token.content);
    if (token.normalized) {
      std::string pattern = token.content;
      if (normalizer != nullptr) {
        absl::Status status = normalizer->Normalize(pattern, nullptr);
        if (!status.ok()) return status;
      }
      vocabulary.normalized_.Add(pattern, index);
    } else {
      vocabulary.raw_.Add(token.content, index);
    }
    vocabulary.tokens_.push_back(std::move(token));
  }
  return vocabulary;
}

const AddedToken* AddedVocabulary::FindById(int32_t id) const {
  auto it = index_by_id_.find(id);
  return it == index_by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<int32_t> AddedVocabulary::TokenToId(std::string_view content) const {
  auto it = id_by_content_.find(AbslView(content));
  if (it == id_by_content_.end()) return std::nullopt;
  return it->second;
}

std::vector<Segment> AddedVocabulary::Split(std::string_view text, const Matcher& matcher) const {
  std::vector<Segment> segments;
  if (text.empty()) return segments;
  size_t start_offset = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    if (!matcher.first_bytes[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    const auto match = matcher.LongestAt(text, pos);
    if (!match) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[match->first];
    size_t start = pos;
    size_t stop = match->second;
    // Matching resumes after this match whether or not it is kept (non-overlapping matches),
    // and never inside whitespace an rstrip token has taken.
    pos = stop;
    if (token.single_word) {
      const bool start_space = start == 0 || !EndsWithWordChar(text.substr(0, start));
      const bool stop_space = stop == text.size() || !StartsWithWordChar(text.substr(stop));
      if (!start_space || !stop_space) continue;
    }
    if (token.lstrip)
      start = std::max(TrailingWhitespaceStart(text.substr(0, start)), start_offset);
    if (token.rstrip) stop += LeadingWhitespaceLength(text.substr(stop));
    start = std::max(start, start_offset);
    if (start_offset < start) segments.push_back({start_offset, start, std::nullopt});
    segments.push_back({start, stop, token.id});
    start_offset = stop;
    pos = std::max(pos, stop);
  }
  if (start_offset < text.size()) segments.push_back({start_offset, text.size(), std::nullopt});
  return segments;
}

}  // namespace tgi::common::tokenizer_impl
