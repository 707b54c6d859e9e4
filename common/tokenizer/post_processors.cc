#include "common/tokenizer/post_processors.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/tokenizer/tokenizer_json.h"
#include "common/tokenizer/unicode_text.h"

namespace tgi::common::tokenizer_impl {
namespace {

// One element of a "single" template: a special token name, or the sequence itself (nullopt).
using TemplateItem = std::optional<std::string>;

absl::StatusOr<std::vector<TemplateItem>> ParseSingleTemplate(const boost::json::value& single) {
  std::vector<TemplateItem> items;
  if (const boost::json::string* text = single.if_string()) {
    for (absl::string_view word :
         absl::StrSplit(absl::string_view(text->data(), text->size()), ' ', absl::SkipEmpty())) {
      const absl::string_view name = word.substr(0, word.find(':'));
      if (name.empty() || name[0] == '$') {
        items.emplace_back(std::nullopt);
      } else {
        items.emplace_back(std::string(name));
      }
    }
    return items;
  }
  const boost::json::array* list = single.if_array();
  if (list == nullptr)
    return absl::InvalidArgumentError("TemplateProcessing \"single\" is invalid");
  for (const boost::json::value& piece : *list) {
    const boost::json::object* object = piece.if_object();
    if (object == nullptr) {
      return absl::InvalidArgumentError("TemplateProcessing template piece is not an object");
    }
    if (FindField(*object, "Sequence") != nullptr) {
      items.emplace_back(std::nullopt);
      continue;
    }
    const boost::json::value* special = FindField(*object, "SpecialToken");
    if (special == nullptr || !special->is_object()) {
      return absl::InvalidArgumentError(
          "TemplateProcessing piece is neither \"Sequence\" nor \"SpecialToken\"");
    }
    auto id = GetString(special->get_object(), "id");
    if (!id.ok()) return id.status();
    items.emplace_back(*id);
  }
  return items;
}

absl::StatusOr<PostProcessor> ParseTemplate(const boost::json::object& object) {
  const boost::json::value* single = FindField(object, "single");
  if (single == nullptr) return absl::InvalidArgumentError("TemplateProcessing has no \"single\"");
  auto items = ParseSingleTemplate(*single);
  if (!items.ok()) return items.status();
  const boost::json::value* specials = FindField(object, "special_tokens");
  const boost::json::object* special_map = specials == nullptr ? nullptr : specials->if_object();
  std::vector<int32_t> prefix;
  std::vector<int32_t> suffix;
  bool seen_sequence = false;
  for (const TemplateItem& item : *items) {
    if (!item.has_value()) {
      if (seen_sequence) {
        return absl::InvalidArgumentError("TemplateProcessing \"single\" has two sequences");
      }
      seen_sequence = true;
      continue;
    }
    const boost::json::value* entry =
        special_map == nullptr ? nullptr : FindField(*special_map, *item);
    const boost::json::value* ids =
        entry != nullptr && entry->is_object() ? FindField(entry->get_object(), "ids") : nullptr;
    if (ids == nullptr || !ids->is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat("TemplateProcessing: missing special token \"", *item, "\""));
    }
    for (const boost::json::value& id : ids->get_array()) {
      auto number = ToInt(id, "special token id");
      if (!number.ok()) return number.status();
      (seen_sequence ? suffix : prefix).push_back(static_cast<int32_t>(*number));
    }
  }
  if (!seen_sequence) return absl::InvalidArgumentError("TemplateProcessing \"single\" has no $A");
  return PostProcessor(std::move(prefix), std::move(suffix));
}

// RobertaProcessing / BertProcessing: "cls": [token, id] before, "sep": [token, id] after.
absl::StatusOr<PostProcessor> ParseClsSep(const boost::json::object& object) {
  std::vector<int32_t> ids[2];
  const char* keys[2] = {"cls", "sep"};
  for (int i = 0; i < 2; ++i) {
    const boost::json::value* pair = FindField(object, keys[i]);
    if (pair == nullptr || !pair->is_array() || pair->get_array().size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("post_processor \"", keys[i], "\" must be [token, id]"));
    }
    auto id = ToInt(pair->get_array()[1], absl::StrCat(keys[i], " id"));
    if (!id.ok()) return id.status();
    ids[i].push_back(static_cast<int32_t>(*id));
  }
  return PostProcessor(std::move(ids[0]), std::move(ids[1]));
}

// trim_offsets and add_prefix_space of a ByteLevel or RobertaProcessing step (both default true).
absl::Status ParseTrimOffsets(const boost::json::object& object, PostProcessor& processor) {
  auto trim = GetBool(object, "trim_offsets", true);
  if (!trim.ok()) return trim.status();
  auto add_prefix_space = GetBool(object, "add_prefix_space", true);
  if (!add_prefix_space.ok()) return add_prefix_space.status();
  if (*trim) processor.SetTrimOffsets(*add_prefix_space);
  return absl::OkStatus();
}

// Whether tokenizers' process_offsets counts `cp` as space: whitespace or the byte-level symbol
// of ' ' (U+0120).
bool IsTrimmedChar(char32_t cp) { return cp == 0x120 || IsWhitespace(cp); }

}  // namespace

void PostProcessor::AddSpecialTokens(std::vector<int32_t>& ids,
                                     std::vector<Alignment>* offsets) const {
  if (!prefix_.empty()) ids.insert(ids.begin(), prefix_.begin(), prefix_.end());
  ids.insert(ids.end(), suffix_.begin(), suffix_.end());
  if (offsets != nullptr) {
    offsets->insert(offsets->begin(), prefix_.size(), Alignment{0, 0});
    offsets->insert(offsets->end(), suffix_.size(), Alignment{0, 0});
  }
}

Alignment PostProcessor::TrimOffsets(std::string_view token, Alignment offsets,
                                     size_t index) const {
  size_t leading = 0;
  size_t pos = 0;
  char32_t cp;
  while (pos < token.size()) {
    const size_t len = DecodeUtf8(token, pos, &cp);
    if (len == 0 || !IsTrimmedChar(cp)) break;
    ++leading;
    pos += len;
  }
  size_t trailing = 0;
  size_t end = token.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(token[start]) & 0xC0) == 0x80) --start;
    if (DecodeUtf8(token, start, &cp) == 0 || !IsTrimmedChar(cp)) break;
    ++trailing;
    end = start;
  }
  if (leading > 0) {
    const bool is_first = index == 0 || offsets.begin == 0;
    if (is_first && trim_add_prefix_space_ && leading == 1) leading = 0;
    offsets.begin = std::min(offsets.begin + leading, offsets.end);
  }
  if (trailing > 0 && offsets.end >= trailing) {
    offsets.end = std::max(offsets.end - trailing, offsets.begin);
  }
  return offsets;
}

absl::StatusOr<PostProcessor> ParsePostProcessor(const boost::json::value& json) {
  auto type = ComponentType(json, "post_processor");
  if (!type.ok()) return type.status();
  const boost::json::object& object = json.get_object();
  if (*type == "TemplateProcessing") return ParseTemplate(object);
  if (*type == "BertProcessing") return ParseClsSep(object);
  if (*type == "RobertaProcessing" || *type == "ByteLevel") {
    absl::StatusOr<PostProcessor> processor =
        *type == "ByteLevel" ? PostProcessor({}, {}) : ParseClsSep(object);
    if (!processor.ok()) return processor.status();
    if (absl::Status status = ParseTrimOffsets(object, *processor); !status.ok()) return status;
    return processor;
  }
  if (*type == "Sequence") {
    const boost::json::value* list = FindField(object, "processors");
    if (list == nullptr || !list->is_array()) {
      return absl::InvalidArgumentError("Sequence post_processor has no \"processors\" array");
    }
    std::vector<int32_t> prefix;
    std::vector<int32_t> suffix;
    std::optional<bool> trim_add_prefix_space;
    for (const boost::json::value& item : list->get_array()) {
      auto step = ParsePostProcessor(item);
      if (!step.ok()) return step.status();
      prefix.insert(prefix.begin(), step->prefix().begin(), step->prefix().end());
      suffix.insert(suffix.end(), step->suffix().begin(), step->suffix().end());
      if (step->trim_offsets()) trim_add_prefix_space = step->trim_add_prefix_space();
    }
    PostProcessor processor(std::move(prefix), std::move(suffix));
    if (trim_add_prefix_space.has_value()) processor.SetTrimOffsets(*trim_add_prefix_space);
    return processor;
  }
  return absl::UnimplementedError(absl::StrCat("unsupported post_processor type \"", *type, "\""));
}

}  // namespace tgi::common::tokenizer_impl
