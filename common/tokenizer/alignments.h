// Offset tracking for EncodeWithOffsets, after Hugging Face's NormalizedString: while text is
// normalized and pre-tokenized, each of its bytes keeps the byte range of the original input it
// came from (all bytes of one character share one range). Bookkeeping only: the components decide
// what each character becomes. A null alignment vector means offsets are not tracked (Encode), and
// then TextEditor only edits the text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tgi::common::tokenizer_impl {

// A byte range [begin, end) of the original input.
struct Alignment {
  size_t begin;
  size_t end;
  bool operator==(const Alignment&) const = default;
};

// Appends one alignment per byte of valid UTF-8 `text`: the range of its character, shifted by
// `base` (Hugging Face's alignments of an unmodified string).
void AppendCharAlignments(std::string_view text, size_t base, std::vector<Alignment>& out);

// The original range covered by bytes [begin, end) of a tracked text (begin < end): from the first
// byte's start to the last byte's end, as Hugging Face's expand_alignments.
inline Alignment ExpandAlignments(const std::vector<Alignment>& alignments, size_t begin,
                                  size_t end) {
  return {alignments[begin].begin, alignments[end - 1].end};
}

// Builds the result of transforming `source` left to right, as Hugging Face's
// NormalizedString::transform: a character that replaces source characters takes the alignment of
// the first one; a character inserted after the cursor takes the alignment of the source byte
// before it (an empty range at the very start).
class TextEditor {
 public:
  // `source_alignments` is null when offsets are not tracked; otherwise one per source byte.
  TextEditor(std::string_view source, const std::vector<Alignment>* source_alignments);

  // Source bytes consumed so far.
  size_t cursor() const { return cursor_; }
  bool tracked() const { return source_alignments_ != nullptr; }

  // Copies the next `n` source bytes unchanged.
  void Keep(size_t n);
  // Consumes the next `n` source bytes without output.
  void Drop(size_t n);
  // Emits `out` in place of the next `n` source bytes (n > 0).
  void Replace(size_t n, std::string_view out);
  // Emits `out` as new characters at the cursor.
  void Insert(std::string_view out);
  // Emits `out` with the alignment of the last byte emitted so far (an empty range when none):
  // what Hugging Face's replace gives content inserted by an empty match.
  void InsertAfterOutput(std::string_view out);

  // Moves the result out; `alignments` is written only when tracked.
  void Finish(std::string& text, std::vector<Alignment>* alignments);

 private:
  void Emit(std::string_view out, Alignment alignment);

  std::string_view source_;
  const std::vector<Alignment>* source_alignments_;
  size_t cursor_ = 0;
  std::string text_;
  std::vector<Alignment> alignments_;
};

}  // namespace tgi::common::tokenizer_impl
