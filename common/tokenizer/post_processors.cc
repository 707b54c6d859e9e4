#include "common/tokenizer/post_processors.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/tokenizer/tokenizer_json.h"

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

}  // namespace

void PostProcessor::AddSpecialTokens(std::vector<int32_t>& ids) const {
  if (!prefix_.empty()) ids.insert(ids.begin(), prefix_.begin(), prefix_.end());
  ids.insert(ids.end(), suffix_.begin(), suffix_.end());
}

absl::StatusOr<PostProcessor> ParsePostProcessor(const boost::json::value& json) {
  auto type = ComponentType(json, "post_processor");
  if (!type.ok()) return type.status();
  const boost::json::object& object = json.get_object();
  if (*type == "TemplateProcessing") return ParseTemplate(object);
  if (*type == "RobertaProcessing" || *type == "BertProcessing") return ParseClsSep(object);
  if (*type == "ByteLevel") return PostProcessor({}, {});
  if (*type == "Sequence") {
    const boost::json::value* list = FindField(object, "processors");
    if (list == nullptr || !list->is_array()) {
      return absl::InvalidArgumentError("Sequence post_processor has no \"processors\" array");
    }
    std::vector<int32_t> prefix;
    std::vector<int32_t> suffix;
    for (const boost::json::value& item : list->get_array()) {
      auto step = ParsePostProcessor(item);
      if (!step.ok()) return step.status();
      prefix.insert(prefix.begin(), step->prefix().begin(), step->prefix().end());
      suffix.insert(suffix.end(), step->suffix().begin(), step->suffix().end());
    }
    return PostProcessor(std::move(prefix), std::move(suffix));
  }
  return absl::UnimplementedError(absl::StrCat("unsupported post_processor type \"", *type, "\""));
}

}  // namespace tgi::common::tokenizer_impl
