#include "common/tokenizer/pre_tokenizers.h"

#include <utf8proc.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/tokenizer/byte_level.h"
#include "common/tokenizer/pcre_regex.h"
#include "common/tokenizer/tokenizer_json.h"
#include "common/tokenizer/unicode_text.h"

namespace tgi::common::tokenizer_impl {

std::vector<Span> CoverWithGaps(const std::vector<std::pair<size_t, size_t>>& matches,
                                size_t size) {
  std::vector<Span> spans;
  spans.reserve(matches.size() * 2 + 1);
  size_t previous = 0;
  for (const auto& [begin, end] : matches) {
    if (previous != begin) spans.push_back({previous, begin, false});
    spans.push_back({begin, end, true});
    previous = end;
  }
  if (previous != size) spans.push_back({previous, size, false});
  return spans;
}

void SplitPiece(const Piece& piece, const std::vector<Span>& spans, SplitBehavior behavior,
                std::vector<Piece>& out) {
  // (begin, end, removed) after applying the behavior, as NormalizedString::split.
  std::vector<Span> kept;
  kept.reserve(spans.size());
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Span& span : spans) kept.push_back({span.begin, span.end, false});
      break;
    case SplitBehavior::kRemoved:
      kept = spans;
      break;
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      for (const Span& span : spans) {
        if (span.is_match == previous_match && !kept.empty()) {
          kept.back().end = span.end;
        } else {
          kept.push_back({span.begin, span.end, false});
        }
        previous_match = span.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Span& span : spans) {
        if (span.is_match && !previous_match && !kept.empty()) {
          kept.back().end = span.end;
        } else {
          kept.push_back({span.begin, span.end, false});
        }
        previous_match = span.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !kept.empty()) {
          kept.back().begin = it->begin;
        } else {
          kept.push_back({it->begin, it->end, false});
        }
        previous_match = it->is_match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
  }
  if (out.capacity() < out.size() + kept.size()) {
    out.reserve(std::max(2 * out.capacity(), out.size() + kept.size()));
  }
  for (const Span& span : kept) {
    // In kept, is_match means "removed".
    if (span.is_match || span.end <= span.begin) continue;
    Piece& split = out.emplace_back();
    split.text = piece.text.substr(span.begin, span.end - span.begin);
    split.at_origin = piece.at_origin && span.begin == 0;
    if (piece.tracked()) {
      split.alignments.assign(piece.alignments.begin() + static_cast<std::ptrdiff_t>(span.begin),
                              piece.alignments.begin() + static_cast<std::ptrdiff_t>(span.end));
    }
  }
}

namespace {

using CharPredicate = std::function<bool(char32_t)>;

// Every character satisfying `predicate` is its own match, as Hugging Face's char patterns.
std::vector<Span> CharSpans(std::string_view text, const CharPredicate& predicate) {
  std::vector<std::pair<size_t, size_t>> matches;
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = kReplacementChar;
    size_t len = DecodeUtf8(text, pos, &cp);
    if (len == 0) len = 1;
    if (predicate(cp)) matches.emplace_back(pos, pos + len);
    pos += len;
  }
  return CoverWithGaps(matches, text.size());
}

size_t FirstCharLength(std::string_view text) {
  char32_t cp;
  const size_t len = DecodeUtf8(text, 0, &cp);
  return len == 0 ? 1 : len;
}

bool IsPunctuation(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= '!' && cp <= '/') || (cp >= ':' && cp <= '@') || (cp >= '[' && cp <= '`') ||
           (cp >= '{' && cp <= '~');
  }
  const utf8proc_category_t category = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return category >= UTF8PROC_CATEGORY_PC && category <= UTF8PROC_CATEGORY_PO;
}

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  absl::Status PreTokenize(std::vector<Piece>& pieces) const override {
    for (const auto& step : steps_) {
      if (absl::Status status = step->PreTokenize(pieces); !status.ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

// Split on a regex (or a literal) with a behavior; `invert` splits on what does not match.
class RegexSplitPreTokenizer : public PreTokenizer {
 public:
  RegexSplitPreTokenizer(Regex regex, SplitBehavior behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}
  absl::Status PreTokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (const Piece& piece : pieces) {
      auto matches = regex_.FindAll(piece.text);
      if (!matches.ok()) return matches.status();
      std::vector<Span> spans = CoverWithGaps(*matches, piece.text.size());
      if (invert_) {
        for (Span& span : spans) span.is_match = !span.is_match;
      }
      SplitPiece(piece, spans, behavior_, out);
    }
    pieces = std::move(out);
    return absl::OkStatus();
  }

 private:
  Regex regex_;
  SplitBehavior behavior_;
  bool invert_;
};

// Split on every character of a class (Digits, WhitespaceSplit, Punctuation).
class CharSplitPreTokenizer : public PreTokenizer {
 public:
  CharSplitPreTokenizer(CharPredicate predicate, SplitBehavior behavior)
      : predicate_(std::move(predicate)), behavior_(behavior) {}
  absl::Status PreTokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (const Piece& piece : pieces) {
      SplitPiece(piece, CharSpans(piece.text, predicate_), behavior_, out);
    }
    pieces = std::move(out);
    return absl::OkStatus();
  }

 private:
  CharPredicate predicate_;
  SplitBehavior behavior_;
};

constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::optional<Regex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}
  absl::Status PreTokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> split;
    for (Piece& piece : pieces) {
      if (add_prefix_space_ && !piece.text.empty() && piece.text[0] != ' ') {
        // The space shares the range of the first character (NormalizedString::prepend).
        TextEditor editor(piece.text, piece.tracked() ? &piece.alignments : nullptr);
        const size_t first = FirstCharLength(piece.text);
        std::string spaced(" ");
        spaced.append(piece.text, 0, first);
        editor.Replace(first, spaced);
        editor.Keep(piece.text.size() - first);
        editor.Finish(piece.text, &piece.alignments);
      }
      if (!regex_.has_value()) {
        if (!piece.text.empty()) split.push_back(std::move(piece));
        continue;
      }
      auto matches = regex_->FindAll(piece.text);
      if (!matches.ok()) return matches.status();
      SplitPiece(piece, CoverWithGaps(*matches, piece.text.size()), SplitBehavior::kIsolated,
                 split);
    }
    for (Piece& piece : split) {
      std::string symbols;
      symbols.reserve(piece.text.size() * 2);
      if (piece.tracked()) {
        // Every symbol of a character's bytes keeps the character's range.
        std::vector<Alignment> alignments;
        alignments.reserve(piece.text.size() * 2);
        for (size_t i = 0; i < piece.text.size(); ++i) {
          const std::string& symbol = ByteToSymbol(static_cast<unsigned char>(piece.text[i]));
          symbols.append(symbol);
          alignments.insert(alignments.end(), symbol.size(), piece.alignments[i]);
        }
        piece.alignments = std::move(alignments);
      } else {
        BytesToSymbols(piece.text, symbols);
      }
      piece.text = std::move(symbols);
    }
    pieces = std::move(split);
    return absl::OkStatus();
  }

 private:
  bool add_prefix_space_;
  std::optional<Regex> regex_;
};

enum class PrependScheme { kFirst, kAlways, kNever };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : replacement_(replacement), scheme_(scheme), split_(split) {
    AppendUtf8(replacement, replacement_utf8_);
  }
  absl::Status PreTokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (Piece& piece : pieces) {
      // Spaces become the replacement (with the space's range); then, when the scheme asks, the
      // replacement is prepended with the range of the first character.
      const std::string_view text = piece.text;
      TextEditor editor(text, piece.tracked() ? &piece.alignments : nullptr);
      const bool starts_with_replacement =
          text.starts_with(' ') || text.starts_with(replacement_utf8_);
      const bool prepend = scheme_ == PrependScheme::kAlways ||
                           (scheme_ == PrependScheme::kFirst && piece.at_origin);
      if (prepend && !starts_with_replacement && !text.empty()) {
        const size_t first = FirstCharLength(text);
        editor.Replace(first, replacement_utf8_ + std::string(text.substr(0, first)));
      }
      for (size_t space = text.find(' ', editor.cursor()); space != std::string_view::npos;
           space = text.find(' ', editor.cursor())) {
        editor.Keep(space - editor.cursor());
        editor.Drop(1);
        editor.Insert(replacement_utf8_);
      }
      editor.Keep(text.size() - editor.cursor());
      Piece replaced;
      replaced.at_origin = piece.at_origin;
      editor.Finish(replaced.text, &replaced.alignments);
      if (!split_) {
        if (!replaced.text.empty()) out.push_back(std::move(replaced));
        continue;
      }
      const char32_t replacement = replacement_;
      const auto is_replacement = [replacement](char32_t c) { return c == replacement; };
      SplitPiece(replaced, CharSpans(replaced.text, is_replacement), SplitBehavior::kMergedWithNext,
                 out);
    }
    pieces = std::move(out);
    return absl::OkStatus();
  }

 private:
  char32_t replacement_;
  std::string replacement_utf8_;
  PrependScheme scheme_;
  bool split_;
};

absl::StatusOr<SplitBehavior> ParseBehavior(const boost::json::object& object,
                                            SplitBehavior default_value) {
  auto name = GetOptionalString(object, "behavior");
  if (!name.ok()) return name.status();
  if (!name->has_value()) return default_value;
  const std::string& value = **name;
  if (value == "Removed") return SplitBehavior::kRemoved;
  if (value == "Isolated") return SplitBehavior::kIsolated;
  if (value == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (value == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (value == "Contiguous") return SplitBehavior::kContiguous;
  return absl::UnimplementedError(absl::StrCat("unsupported split behavior \"", value, "\""));
}

absl::StatusOr<std::unique_ptr<PreTokenizer>> ParseSplit(const boost::json::object& object) {
  auto pattern = GetPattern(object, "pattern");
  if (!pattern.ok()) return pattern.status();
  auto behavior = ParseBehavior(object, SplitBehavior::kRemoved);
  if (!behavior.ok()) return behavior.status();
  auto invert = GetBool(object, "invert", false);
  if (!invert.ok()) return invert.status();
  auto regex = Regex::Compile(pattern->text, !pattern->is_regex);
  if (!regex.ok()) return regex.status();
  return std::make_unique<RegexSplitPreTokenizer>(std::move(*regex), *behavior, *invert);
}

absl::StatusOr<std::unique_ptr<PreTokenizer>> ParseMetaspace(const boost::json::object& object) {
  auto replacement = GetString(object, "replacement");
  if (!replacement.ok()) return replacement.status();
  char32_t cp = 0;
  if (replacement->empty() || DecodeUtf8(*replacement, 0, &cp) != replacement->size()) {
    return absl::InvalidArgumentError("Metaspace replacement must be exactly one character");
  }
  auto scheme_name = GetOptionalString(object, "prepend_scheme");
  if (!scheme_name.ok()) return scheme_name.status();
  auto add_prefix_space = GetBool(object, "add_prefix_space", true);
  if (!add_prefix_space.ok()) return add_prefix_space.status();
  PrependScheme scheme = PrependScheme::kAlways;
  if (scheme_name->has_value()) {
    if (**scheme_name == "first") {
      scheme = PrependScheme::kFirst;
    } else if (**scheme_name == "never") {
      scheme = PrependScheme::kNever;
    } else if (**scheme_name != "always") {
      return absl::UnimplementedError(
          absl::StrCat("unsupported Metaspace prepend_scheme \"", **scheme_name, "\""));
    }
  }
  if (!*add_prefix_space) scheme = PrependScheme::kNever;
  auto split = GetBool(object, "split", true);
  if (!split.ok()) return split.status();
  return std::make_unique<MetaspacePreTokenizer>(cp, scheme, *split);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PreTokenizer>> ParsePreTokenizer(const boost::json::value& json) {
  auto type = ComponentType(json, "pre_tokenizer");
  if (!type.ok()) return type.status();
  const boost::json::object& object = json.get_object();
  if (*type == "Sequence") {
    const boost::json::value* list = FindField(object, "pretokenizers");
    if (list == nullptr || !list->is_array()) {
      return absl::InvalidArgumentError("Sequence pre_tokenizer has no \"pretokenizers\" array");
    }
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const boost::json::value& item : list->get_array()) {
      auto step = ParsePreTokenizer(item);
      if (!step.ok()) return step.status();
      steps.push_back(std::move(*step));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (*type == "ByteLevel") {
    auto add_prefix_space = GetBool(object, "add_prefix_space", true);
    if (!add_prefix_space.ok()) return add_prefix_space.status();
    auto use_regex = GetBool(object, "use_regex", true);
    if (!use_regex.ok()) return use_regex.status();
    std::optional<Regex> regex;
    if (*use_regex) {
      auto compiled = Regex::Compile(kGpt2Pattern);
      if (!compiled.ok()) return compiled.status();
      regex.emplace(std::move(*compiled));
    }
    return std::make_unique<ByteLevelPreTokenizer>(*add_prefix_space, std::move(regex));
  }
  if (*type == "Metaspace") return ParseMetaspace(object);
  if (*type == "Split") return ParseSplit(object);
  if (*type == "Digits") {
    auto individual = GetBool(object, "individual_digits", false);
    if (!individual.ok()) return individual.status();
    return std::make_unique<CharSplitPreTokenizer>(
        IsNumeric, *individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
  }
  if (*type == "WhitespaceSplit") {
    return std::make_unique<CharSplitPreTokenizer>(IsWhitespace, SplitBehavior::kRemoved);
  }
  if (*type == "Punctuation") {
    auto behavior = ParseBehavior(object, SplitBehavior::kIsolated);
    if (!behavior.ok()) return behavior.status();
    return std::make_unique<CharSplitPreTokenizer>(IsPunctuation, *behavior);
  }
  if (*type == "Whitespace") {
    auto regex = Regex::Compile(R"(\w+|[^\w\s]+)");
    if (!regex.ok()) return regex.status();
    return std::make_unique<RegexSplitPreTokenizer>(std::move(*regex), SplitBehavior::kRemoved,
                                                    true);
  }
  return absl::UnimplementedError(absl::StrCat("unsupported pre_tokenizer type \"", *type, "\""));
}

}  // namespace tgi::common::tokenizer_impl
