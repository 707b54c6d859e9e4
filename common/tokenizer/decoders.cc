#include "common/tokenizer/decoders.h"

#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/tokenizer/byte_level.h"
#include "common/tokenizer/pcre_regex.h"
#include "common/tokenizer/tokenizer_json.h"
#include "common/tokenizer/unicode_text.h"

namespace tgi::common::tokenizer_impl {
namespace {

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (const auto& step : steps_) step->DecodeChain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

// Byte-level symbols back to bytes; a token with a character outside the 256 symbols (an added
// token, say) contributes its own UTF-8 bytes. The bytes become one lossy UTF-8 string.
class ByteLevelDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& token : tokens) {
      const size_t mark = bytes.size();
      bool all_symbols = true;
      size_t pos = 0;
      while (pos < token.size()) {
        char32_t cp;
        const size_t len = DecodeUtf8(token, pos, &cp);
        const std::optional<unsigned char> byte = len == 0 ? std::nullopt : SymbolToByte(cp);
        if (!byte) {
          all_symbols = false;
          break;
        }
        bytes.push_back(static_cast<char>(*byte));
        pos += len;
      }
      if (!all_symbols) {
        bytes.resize(mark);
        bytes.append(token);
      }
    }
    tokens.assign(1, LossyUtf8(bytes));
  }
};

// Runs of "<0xAB>" tokens become their bytes when those form valid UTF-8, else one U+FFFD each.
class ByteFallbackDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string pending;
    auto flush = [&]() {
      if (pending.empty()) return;
      if (IsValidUtf8(pending)) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < pending.size(); ++i) out.emplace_back(kReplacementUtf8);
      }
      pending.clear();
    };
    for (std::string& token : tokens) {
      if (auto byte = ParseByteToken(token)) {
        pending.push_back(static_cast<char>(*byte));
        continue;
      }
      flush();
      out.push_back(std::move(token));
    }
    flush();
    tokens = std::move(out);
  }

 private:
  static std::optional<unsigned char> ParseByteToken(std::string_view token) {
    if (token.size() != 6 || token.substr(0, 3) != "<0x" || token[5] != '>') return std::nullopt;
    int value = 0;
    for (char c : token.substr(3, 2)) {
      int digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return std::nullopt;
      }
      value = value * 16 + digit;
    }
    return static_cast<unsigned char>(value);
  }
};

class FuseDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>& tokens) const override {
    tokens.assign(1, absl::StrJoin(tokens, ""));
  }
};

// Removes up to `start` leading and `stop` trailing `content` characters from every token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop)
      : content_(content), start_(start), stop_(stop) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) {
      size_t begin = 0;
      char32_t cp;
      for (size_t i = 0; i < start_ && begin < token.size(); ++i) {
        const size_t len = DecodeUtf8(token, begin, &cp);
        if (len == 0 || cp != content_) break;
        begin += len;
      }
      size_t end = token.size();
      for (size_t i = 0; i < stop_ && end > begin; ++i) {
        size_t last = end - 1;
        while (last > begin && (static_cast<unsigned char>(token[last]) & 0xC0) == 0x80) --last;
        if (DecodeUtf8(token, last, &cp) == 0 || cp != content_) break;
        end = last;
      }
      token = token.substr(begin, end - begin);
    }
  }

 private:
  char32_t content_;
  size_t start_;
  size_t stop_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(Regex regex, std::string content)
      : regex_(std::move(regex)), content_(std::move(content)) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) {
      auto replaced = regex_.ReplaceAll(token, content_);
      if (replaced.ok()) token = std::move(*replaced);
    }
  }

 private:
  Regex regex_;
  std::string content_;
};

// Every `replacement` becomes a space, except in the first token when a prefix space was
// prepended at encoding (there every replacement character is dropped, as tokenizers does).
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool drop_in_first)
      : replacement_(std::move(replacement)), drop_in_first_(drop_in_first) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      tokens[i] =
          absl::StrReplaceAll(tokens[i], {{replacement_, i == 0 && drop_in_first_ ? "" : " "}});
    }
  }

 private:
  std::string replacement_;
  bool drop_in_first_;
};

// The end-of-word suffix becomes a space, except in the last token where it is removed.
class BpeSuffixDecoder : public Decoder {
 public:
  explicit BpeSuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    if (suffix_.empty()) return;
    for (size_t i = 0; i < tokens.size(); ++i) {
      tokens[i] = absl::StrReplaceAll(tokens[i], {{suffix_, i + 1 == tokens.size() ? "" : " "}});
    }
  }

 private:
  std::string suffix_;
};

absl::StatusOr<char32_t> SingleChar(const boost::json::object& object, std::string_view key) {
  auto text = GetString(object, key);
  if (!text.ok()) return text.status();
  char32_t cp = 0;
  if (text->empty() || DecodeUtf8(*text, 0, &cp) != text->size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", AbslView(key), "\" must be one character"));
  }
  return cp;
}

absl::StatusOr<std::unique_ptr<Decoder>> ParseStrip(const boost::json::object& object) {
  auto content = SingleChar(object, "content");
  if (!content.ok()) return content.status();
  auto start = GetOptionalInt(object, "start");
  if (!start.ok()) return start.status();
  auto stop = GetOptionalInt(object, "stop");
  if (!stop.ok()) return stop.status();
  if (start->value_or(0) < 0 || stop->value_or(0) < 0) {
    return absl::InvalidArgumentError("Strip decoder start/stop must not be negative");
  }
  return std::make_unique<StripDecoder>(*content, static_cast<size_t>(start->value_or(0)),
                                        static_cast<size_t>(stop->value_or(0)));
}

absl::StatusOr<std::unique_ptr<Decoder>> ParseMetaspace(const boost::json::object& object) {
  auto replacement = SingleChar(object, "replacement");
  if (!replacement.ok()) return replacement.status();
  auto scheme = GetOptionalString(object, "prepend_scheme");
  if (!scheme.ok()) return scheme.status();
  auto add_prefix_space = GetBool(object, "add_prefix_space", true);
  if (!add_prefix_space.ok()) return add_prefix_space.status();
  const bool never = !*add_prefix_space || (scheme->has_value() && **scheme == "never");
  std::string replacement_utf8;
  AppendUtf8(*replacement, replacement_utf8);
  return std::make_unique<MetaspaceDecoder>(std::move(replacement_utf8), !never);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Decoder>> ParseDecoder(const boost::json::value& json) {
  auto type = ComponentType(json, "decoder");
  if (!type.ok()) return type.status();
  const boost::json::object& object = json.get_object();
  if (*type == "Sequence") {
    const boost::json::value* list = FindField(object, "decoders");
    if (list == nullptr || !list->is_array()) {
      return absl::InvalidArgumentError("Sequence decoder has no \"decoders\" array");
    }
    std::vector<std::unique_ptr<Decoder>> steps;
    for (const boost::json::value& item : list->get_array()) {
      auto step = ParseDecoder(item);
      if (!step.ok()) return step.status();
      steps.push_back(std::move(*step));
    }
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  if (*type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (*type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (*type == "Fuse") return std::make_unique<FuseDecoder>();
  if (*type == "Strip") return ParseStrip(object);
  if (*type == "Metaspace") return ParseMetaspace(object);
  if (*type == "Replace") {
    auto pattern = GetPattern(object, "pattern");
    if (!pattern.ok()) return pattern.status();
    auto content = GetString(object, "content");
    if (!content.ok()) return content.status();
    auto regex = Regex::Compile(pattern->text, !pattern->is_regex);
    if (!regex.ok()) return regex.status();
    return std::make_unique<ReplaceDecoder>(std::move(*regex), *content);
  }
  if (*type == "BPEDecoder") {
    auto suffix = GetOptionalString(object, "suffix");
    if (!suffix.ok()) return suffix.status();
    return std::make_unique<BpeSuffixDecoder>(suffix->value_or("</w>"));
  }
  return absl::UnimplementedError(absl::StrCat("unsupported decoder type \"", *type, "\""));
}

}  // namespace tgi::common::tokenizer_impl
