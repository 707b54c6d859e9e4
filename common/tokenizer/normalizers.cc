#include "common/tokenizer/normalizers.h"

#include <utf8proc.h>

#include <cstdlib>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/tokenizer/normalization_changes.h"
#include "common/tokenizer/pcre_regex.h"
#include "common/tokenizer/tokenizer_json.h"
#include "common/tokenizer/unicode_text.h"

namespace tgi::common::tokenizer_impl {
namespace {

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}
  absl::Status Normalize(std::string& text, std::vector<Alignment>* alignments) const override {
    for (const auto& step : steps_) {
      if (absl::Status status = step->Normalize(text, alignments); !status.ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

// Byte length of the character that starts at `pos` (1 for a stray byte).
size_t CharLength(std::string_view text, size_t pos) {
  char32_t cp;
  const size_t len = DecodeUtf8(text, pos, &cp);
  return len == 0 ? 1 : len;
}

// Start of the last character of non-empty valid UTF-8 text.
size_t LastCharStart(std::string_view text) {
  size_t start = text.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return start;
}

// Prepend / Append: add a fixed string to any non-empty text. It shares the range of the first
// (last) character.
class AffixNormalizer : public Normalizer {
 public:
  AffixNormalizer(std::string affix, bool prepend) : affix_(std::move(affix)), prepend_(prepend) {}
  absl::Status Normalize(std::string& text, std::vector<Alignment>* alignments) const override {
    if (text.empty()) return absl::OkStatus();
    TextEditor editor(text, alignments);
    if (prepend_) {
      const size_t first = CharLength(text, 0);
      editor.Replace(first, affix_ + text.substr(0, first));
      editor.Keep(text.size() - first);
    } else {
      const size_t last = LastCharStart(text);
      editor.Keep(last);
      editor.Replace(text.size() - last, text.substr(last) + affix_);
    }
    editor.Finish(text, alignments);
    return absl::OkStatus();
  }

 private:
  std::string affix_;
  bool prepend_;
};

// The content replacing a match shares the range of the match's last character.
class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(std::string literal, std::optional<Regex> regex, std::string content)
      : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}
  absl::Status Normalize(std::string& text, std::vector<Alignment>* alignments) const override {
    if (!regex_.has_value()) {
      if (literal_.empty()) return absl::OkStatus();
      size_t hit = text.find(literal_);
      if (hit == std::string::npos) return absl::OkStatus();
      TextEditor editor(text, alignments);
      for (; hit != std::string::npos; hit = text.find(literal_, hit + literal_.size())) {
        ReplaceMatch(hit, hit + literal_.size(), editor);
      }
      editor.Keep(text.size() - editor.cursor());
      editor.Finish(text, alignments);
      return absl::OkStatus();
    }
    auto matches = regex_->FindAll(text);
    if (!matches.ok()) return matches.status();
    if (matches->empty()) return absl::OkStatus();
    TextEditor editor(text, alignments);
    for (const auto& [begin, end] : *matches) ReplaceMatch(begin, end, editor);
    editor.Keep(text.size() - editor.cursor());
    editor.Finish(text, alignments);
    return absl::OkStatus();
  }

 private:
  void ReplaceMatch(size_t begin, size_t end, TextEditor& editor) const {
    editor.Keep(begin - editor.cursor());
    if (end > begin) {
      editor.Drop(end - begin);
      editor.Insert(content_);
    } else {
      editor.InsertAfterOutput(content_);
    }
  }

  std::string literal_;
  std::optional<Regex> regex_;
  std::string content_;
};

// Replays `changes` (see normalization_changes.h) over `editor`'s source.
void ApplyChanges(const std::vector<CharChange>& changes, std::string_view source,
                  TextEditor& editor) {
  std::string out;
  for (const CharChange& change : changes) {
    out.clear();
    AppendUtf8(change.cp, out);
    if (change.change > 0) {
      editor.Insert(out);
      continue;
    }
    size_t end = editor.cursor();
    for (int i = 0; i <= -change.change && end < source.size(); ++i) {
      end += CharLength(source, end);
    }
    if (end == editor.cursor()) {
      editor.Insert(out);
    } else {
      editor.Replace(end - editor.cursor(), out);
    }
  }
}

// Changes pairing output and input characters one to one (the last output character absorbing
// any input left), for a result the emulation of normalization_changes.cc does not reproduce.
std::vector<CharChange> PositionalChanges(std::string_view source, std::string_view result) {
  const size_t source_chars = CountCodePoints(source);
  std::vector<CharChange> changes;
  for (size_t pos = 0; pos < result.size(); pos += CharLength(result, pos)) {
    char32_t cp = kReplacementChar;
    DecodeUtf8(result, pos, &cp);
    changes.push_back({cp, changes.size() < source_chars ? 0 : 1});
  }
  if (!changes.empty() && changes.size() < source_chars) {
    changes.back().change = -static_cast<int>(source_chars - changes.size());
  }
  return changes;
}

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(int options) : options_(options) {}
  absl::Status Normalize(std::string& text, std::vector<Alignment>* alignments) const override {
    if (text.empty()) return absl::OkStatus();
    utf8proc_uint8_t* mapped = nullptr;
    const utf8proc_ssize_t length =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                     static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                     static_cast<utf8proc_option_t>(options_));
    if (length < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("Unicode normalization failed: ", utf8proc_errmsg(length)));
    }
    std::string result(reinterpret_cast<const char*>(mapped), static_cast<size_t>(length));
    std::free(mapped);
    if (alignments != nullptr && result != text) {
      std::vector<CharChange> changes = NormalizationChanges(
          text, (options_ & UTF8PROC_COMPOSE) != 0, (options_ & UTF8PROC_COMPAT) != 0);
      std::string emulated;
      for (const CharChange& change : changes) AppendUtf8(change.cp, emulated);
      if (emulated != result) changes = PositionalChanges(text, result);
      // The editor's text is `result` again: the changes spell it.
      TextEditor editor(text, alignments);
      ApplyChanges(changes, text, editor);
      editor.Finish(text, alignments);
      return absl::OkStatus();
    }
    text = std::move(result);
    return absl::OkStatus();
  }

 private:
  int options_;
};

// Rust's char::to_lowercase: simple lowercase mappings plus U+0130, whose full lowercase is two
// code points (both with the range of the original character).
class LowercaseNormalizer : public Normalizer {
 public:
  absl::Status Normalize(std::string& text, std::vector<Alignment>* alignments) const override {
    TextEditor editor(text, alignments);
    std::string lowered;
    while (editor.cursor() < text.size()) {
      const size_t pos = editor.cursor();
      char32_t cp;
      const size_t len = DecodeUtf8(text, pos, &cp);
      if (len == 0) return absl::InvalidArgumentError("Lowercase: invalid UTF-8");
      lowered.clear();
      if (cp < 0x80) {
        if (cp < 'A' || cp > 'Z') {
          editor.Keep(1);
          continue;
        }
        lowered.push_back(static_cast<char>(cp + 32));
      } else if (cp == 0x130) {
        lowered = "i\xCC\x87";
      } else {
        const auto lower =
            static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
        if (lower == cp) {
          editor.Keep(len);
          continue;
        }
        AppendUtf8(lower, lowered);
      }
      editor.Replace(len, lowered);
    }
    editor.Finish(text, alignments);
    return absl::OkStatus();
  }
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  absl::Status Normalize(std::string& text, std::vector<Alignment>* alignments) const override {
    size_t begin = 0;
    size_t end = text.size();
    char32_t cp;
    while (left_ && begin < end) {
      const size_t len = DecodeUtf8(text, begin, &cp);
      if (len == 0 || !IsWhitespace(cp)) break;
      begin += len;
    }
    while (right_ && end > begin) {
      size_t start = end - 1;
      while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
      if (DecodeUtf8(text, start, &cp) == 0 || !IsWhitespace(cp)) break;
      end = start;
    }
    if (begin == 0 && end == text.size()) return absl::OkStatus();
    TextEditor editor(text, alignments);
    editor.Drop(begin);
    editor.Keep(end - begin);
    editor.Finish(text, alignments);
    return absl::OkStatus();
  }

 private:
  bool left_;
  bool right_;
};

class StripAccentsNormalizer : public Normalizer {
 public:
  absl::Status Normalize(std::string& text, std::vector<Alignment>* alignments) const override {
    TextEditor editor(text, alignments);
    while (editor.cursor() < text.size()) {
      char32_t cp;
      const size_t len = DecodeUtf8(text, editor.cursor(), &cp);
      if (len == 0) return absl::InvalidArgumentError("StripAccents: invalid UTF-8");
      if (IsNonSpacingMark(cp)) {
        editor.Drop(len);
      } else {
        editor.Keep(len);
      }
    }
    editor.Finish(text, alignments);
    return absl::OkStatus();
  }
};

absl::StatusOr<std::unique_ptr<Normalizer>> ParseReplace(const boost::json::object& object) {
  auto pattern = GetPattern(object, "pattern");
  if (!pattern.ok()) return pattern.status();
  auto content = GetString(object, "content");
  if (!content.ok()) return content.status();
  std::optional<Regex> regex;
  if (pattern->is_regex) {
    auto compiled = Regex::Compile(pattern->text);
    if (!compiled.ok()) return compiled.status();
    regex.emplace(std::move(*compiled));
  }
  return std::make_unique<ReplaceNormalizer>(pattern->text, std::move(regex), *content);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Normalizer>> ParseNormalizer(const boost::json::value& json) {
  auto type = ComponentType(json, "normalizer");
  if (!type.ok()) return type.status();
  const boost::json::object& object = json.get_object();
  if (*type == "Sequence") {
    const boost::json::value* list = FindField(object, "normalizers");
    if (list == nullptr || !list->is_array()) {
      return absl::InvalidArgumentError("Sequence normalizer has no \"normalizers\" array");
    }
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const boost::json::value& item : list->get_array()) {
      auto step = ParseNormalizer(item);
      if (!step.ok()) return step.status();
      steps.push_back(std::move(*step));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  if (*type == "Prepend" || *type == "Append") {
    const bool prepend = *type == "Prepend";
    auto affix = GetString(object, prepend ? "prepend" : "append");
    if (!affix.ok()) return affix.status();
    return std::make_unique<AffixNormalizer>(*affix, prepend);
  }
  if (*type == "Replace") return ParseReplace(object);
  if (*type == "NFC")
    return std::make_unique<UnicodeNormalizer>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  if (*type == "NFD") {
    return std::make_unique<UnicodeNormalizer>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
  }
  if (*type == "NFKC") {
    return std::make_unique<UnicodeNormalizer>(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                               UTF8PROC_COMPAT);
  }
  if (*type == "NFKD") {
    return std::make_unique<UnicodeNormalizer>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE |
                                               UTF8PROC_COMPAT);
  }
  if (*type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (*type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (*type == "Strip") {
    auto left = GetBool(object, "strip_left", true);
    if (!left.ok()) return left.status();
    auto right = GetBool(object, "strip_right", true);
    if (!right.ok()) return right.status();
    return std::make_unique<StripNormalizer>(*left, *right);
  }
  return absl::UnimplementedError(absl::StrCat("unsupported normalizer type \"", *type, "\""));
}

}  // namespace tgi::common::tokenizer_impl
