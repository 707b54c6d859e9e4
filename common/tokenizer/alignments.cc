#include "common/tokenizer/alignments.h"

#include "common/tokenizer/unicode_text.h"

namespace tgi::common::tokenizer_impl {

void AppendCharAlignments(std::string_view text, size_t base, std::vector<Alignment>& out) {
  out.reserve(out.size() + text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    size_t len = DecodeUtf8(text, pos, &cp);
    if (len == 0) len = 1;
    out.insert(out.end(), len, Alignment{base + pos, base + pos + len});
    pos += len;
  }
}

TextEditor::TextEditor(std::string_view source, const std::vector<Alignment>* source_alignments)
    : source_(source), source_alignments_(source_alignments) {
  text_.reserve(source.size() + 8);
  if (tracked()) alignments_.reserve(source.size() + 8);
}

void TextEditor::Keep(size_t n) {
  text_.append(source_.substr(cursor_, n));
  if (tracked()) {
    const auto first = source_alignments_->begin() + static_cast<std::ptrdiff_t>(cursor_);
    alignments_.insert(alignments_.end(), first, first + static_cast<std::ptrdiff_t>(n));
  }
  cursor_ += n;
}

void TextEditor::Drop(size_t n) { cursor_ += n; }

void TextEditor::Replace(size_t n, std::string_view out) {
  Emit(out, tracked() ? (*source_alignments_)[cursor_] : Alignment{0, 0});
  cursor_ += n;
}

void TextEditor::Insert(std::string_view out) {
  Emit(out, tracked() && cursor_ > 0 ? (*source_alignments_)[cursor_ - 1] : Alignment{0, 0});
}

void TextEditor::InsertAfterOutput(std::string_view out) {
  Emit(out, alignments_.empty() ? Alignment{0, 0} : alignments_.back());
}

void TextEditor::Emit(std::string_view out, Alignment alignment) {
  text_.append(out);
  if (tracked()) alignments_.insert(alignments_.end(), out.size(), alignment);
}

void TextEditor::Finish(std::string& text, std::vector<Alignment>* alignments) {
  text = std::move(text_);
  if (tracked() && alignments != nullptr) *alignments = std::move(alignments_);
}

}  // namespace tgi::common::tokenizer_impl
