// tokenizer.json pre-tokenizers (ByteLevel, Metaspace, Split, Digits, Whitespace,
// WhitespaceSplit, Sequence): cut a normalized piece into the words the model tokenizes one by
// one, with Hugging Face's split behaviours, carrying each piece's offset alignments when they are
// tracked. Owns only the splitting rules; must not look up vocabularies or know which piece came
// from which added token.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/tokenizer/alignments.h"

namespace tgi::common::tokenizer_impl {

// A piece of input text on its way to the model.
struct Piece {
  std::string text;
  // True when the piece starts at offset 0 of the original input (Metaspace "first").
  bool at_origin = false;
  // When offsets are tracked, the original range of each byte of `text`; otherwise empty.
  std::vector<Alignment> alignments;

  bool tracked() const { return !alignments.empty(); }
};

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// A byte range of a piece and whether the split pattern matched it.
struct Span {
  size_t begin;
  size_t end;
  bool is_match;
};

// Covers [0, size) with the sorted, non-overlapping `matches` and the gaps between them.
std::vector<Span> CoverWithGaps(const std::vector<std::pair<size_t, size_t>>& matches, size_t size);

// Hugging Face's NormalizedString::split: applies `behavior` to the covering `spans` of `piece`
// and appends the non-empty results to `out`.
void SplitPiece(const Piece& piece, const std::vector<Span>& spans, SplitBehavior behavior,
                std::vector<Piece>& out);

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` by their splits; empty pieces are dropped.
  virtual absl::Status PreTokenize(std::vector<Piece>& pieces) const = 0;
};

// A pre-tokenizer from its tokenizer.json object; an error names an unsupported "type".
absl::StatusOr<std::unique_ptr<PreTokenizer>> ParsePreTokenizer(const boost::json::value& json);

}  // namespace tgi::common::tokenizer_impl
