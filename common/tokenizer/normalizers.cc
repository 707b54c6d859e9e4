#include "common/tokenizer/normalizers.h"

#include <utf8proc.h>

#include <cstdlib>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/tokenizer/pcre_regex.h"
#include "common/tokenizer/tokenizer_json.h"
#include "common/tokenizer/unicode_text.h"

namespace tgi::common::tokenizer_impl {
namespace {

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}
  absl::Status Normalize(std::string& text) const override {
    for (const auto& step : steps_) {
      if (absl::Status status = step->Normalize(text); !status.ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

// Prepend / Append: add a fixed string to any non-empty text.
class AffixNormalizer : public Normalizer {
 public:
  AffixNormalizer(std::string affix, bool prepend) : affix_(std::move(affix)), prepend_(prepend) {}
  absl::Status Normalize(std::string& text) const override {
    if (text.empty()) return absl::OkStatus();
    if (prepend_) {
      text.insert(0, affix_);
    } else {
      text.append(affix_);
    }
    return absl::OkStatus();
  }

 private:
  std::string affix_;
  bool prepend_;
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(std::string literal, std::optional<Regex> regex, std::string content)
      : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}
  absl::Status Normalize(std::string& text) const override {
    if (!regex_.has_value()) {
      if (literal_.empty() || text.find(literal_) == std::string::npos) return absl::OkStatus();
      std::string out;
      out.reserve(text.size());
      size_t pos = 0;
      for (size_t hit = text.find(literal_); hit != std::string::npos;
           hit = text.find(literal_, pos)) {
        out.append(text, pos, hit - pos);
        out.append(content_);
        pos = hit + literal_.size();
      }
      out.append(text, pos, std::string::npos);
      text = std::move(out);
      return absl::OkStatus();
    }
    auto replaced = regex_->ReplaceAll(text, content_);
    if (!replaced.ok()) return replaced.status();
    text = std::move(*replaced);
    return absl::OkStatus();
  }

 private:
  std::string literal_;
  std::optional<Regex> regex_;
  std::string content_;
};

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(int options) : options_(options) {}
  absl::Status Normalize(std::string& text) const override {
    if (text.empty()) return absl::OkStatus();
    utf8proc_uint8_t* result = nullptr;
    const utf8proc_ssize_t length =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                     static_cast<utf8proc_ssize_t>(text.size()), &result,
                     static_cast<utf8proc_option_t>(options_));
    if (length < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("Unicode normalization failed: ", utf8proc_errmsg(length)));
    }
    text.assign(reinterpret_cast<const char*>(result), static_cast<size_t>(length));
    std::free(result);
    return absl::OkStatus();
  }

 private:
  int options_;
};

// Rust's char::to_lowercase: simple lowercase mappings plus U+0130, whose full lowercase is two
// code points.
class LowercaseNormalizer : public Normalizer {
 public:
  absl::Status Normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) {
      char32_t cp;
      const size_t len = DecodeUtf8(text, pos, &cp);
      if (len == 0) return absl::InvalidArgumentError("Lowercase: invalid UTF-8");
      pos += len;
      if (cp < 0x80) {
        out.push_back(cp >= 'A' && cp <= 'Z' ? static_cast<char>(cp + 32) : static_cast<char>(cp));
      } else if (cp == 0x130) {
        out.append("i\xCC\x87");
      } else {
        AppendUtf8(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))), out);
      }
    }
    text = std::move(out);
    return absl::OkStatus();
  }
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  absl::Status Normalize(std::string& text) const override {
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
    text = text.substr(begin, end - begin);
    return absl::OkStatus();
  }

 private:
  bool left_;
  bool right_;
};

class StripAccentsNormalizer : public Normalizer {
 public:
  absl::Status Normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) {
      char32_t cp;
      const size_t len = DecodeUtf8(text, pos, &cp);
      if (len == 0) return absl::InvalidArgumentError("StripAccents: invalid UTF-8");
      if (!IsNonSpacingMark(cp)) out.append(text, pos, len);
      pos += len;
    }
    text = std::move(out);
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
