#include "common/tokenizer/tokenizer.h"

#include <algorithm>
#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/tokenizer/added_vocabulary.h"
#include "common/tokenizer/alignments.h"
#include "common/tokenizer/bpe_model.h"
#include "common/tokenizer/decoders.h"
#include "common/tokenizer/normalizers.h"
#include "common/tokenizer/post_processors.h"
#include "common/tokenizer/pre_tokenizers.h"
#include "common/tokenizer/tokenizer_config.h"
#include "common/tokenizer/tokenizer_json.h"
#include "common/tokenizer/unicode_text.h"

namespace tgi::common {

using tokenizer_impl::AddedToken;
using tokenizer_impl::AddedVocabulary;
using tokenizer_impl::Alignment;
using tokenizer_impl::Piece;
using tokenizer_impl::Segment;

namespace {

absl::Status Annotate(const absl::Status& status, const std::string& where) {
  return absl::Status(status.code(), absl::StrCat(where, ": ", status.message()));
}

absl::StatusOr<std::vector<AddedToken>> ParseAddedTokens(const boost::json::object& root) {
  std::vector<AddedToken> tokens;
  const boost::json::value* list = tokenizer_impl::FindField(root, "added_tokens");
  if (list == nullptr) return tokens;
  if (!list->is_array()) return absl::InvalidArgumentError("\"added_tokens\" is not an array");
  for (const boost::json::value& item : list->get_array()) {
    const boost::json::object* object = item.if_object();
    if (object == nullptr) return absl::InvalidArgumentError("an added token is not an object");
    AddedToken token;
    auto id = tokenizer_impl::GetOptionalInt(*object, "id");
    auto content = tokenizer_impl::GetString(*object, "content");
    if (!id.ok()) return id.status();
    if (!content.ok()) return content.status();
    if (!id->has_value() || **id < 0 || **id > INT32_MAX) {
      return absl::InvalidArgumentError(absl::StrCat("added token \"", *content, "\" has no id"));
    }
    token.id = static_cast<int32_t>(**id);
    token.content = *content;
    for (auto [key, field, default_value] :
         {std::tuple<std::string_view, bool*, bool>{"single_word", &token.single_word, false},
          {"lstrip", &token.lstrip, false},
          {"rstrip", &token.rstrip, false},
          {"normalized", &token.normalized, true},
          {"special", &token.special, false}}) {
      auto flag = tokenizer_impl::GetBool(*object, key, default_value);
      if (!flag.ok()) return flag.status();
      *field = *flag;
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

// transformers' clean_up_tokenization (used when clean_up_tokenization_spaces is set).
std::string CleanUpTokenization(std::string text) {
  static constexpr std::pair<absl::string_view, absl::string_view> kRules[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) text = absl::StrReplaceAll(text, {{from, to}});
  return text;
}

}  // namespace

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Build(std::string_view tokenizer_json) {
  auto json = tokenizer_impl::ParseJson(tokenizer_json, "tokenizer.json");
  if (!json.ok()) return json.status();
  const boost::json::object* root = json->if_object();
  if (root == nullptr) return absl::InvalidArgumentError("tokenizer.json is not a JSON object");

  std::unique_ptr<Tokenizer> tokenizer(new Tokenizer());
  const boost::json::value* model = tokenizer_impl::FindField(*root, "model");
  if (model == nullptr) return absl::InvalidArgumentError("tokenizer.json has no \"model\"");
  auto bpe = tokenizer_impl::BpeModel::FromJson(*model);
  if (!bpe.ok()) return Annotate(bpe.status(), "tokenizer.json model");
  tokenizer->model_ = std::move(*bpe);

  if (const auto* value = tokenizer_impl::FindField(*root, "normalizer")) {
    auto normalizer = tokenizer_impl::ParseNormalizer(*value);
    if (!normalizer.ok()) return Annotate(normalizer.status(), "tokenizer.json normalizer");
    tokenizer->normalizer_ = std::move(*normalizer);
  }
  if (const auto* value = tokenizer_impl::FindField(*root, "pre_tokenizer")) {
    auto pre_tokenizer = tokenizer_impl::ParsePreTokenizer(*value);
    if (!pre_tokenizer.ok()) {
      return Annotate(pre_tokenizer.status(), "tokenizer.json pre_tokenizer");
    }
    tokenizer->pre_tokenizer_ = std::move(*pre_tokenizer);
  }
  if (const auto* value = tokenizer_impl::FindField(*root, "post_processor")) {
    auto post_processor = tokenizer_impl::ParsePostProcessor(*value);
    if (!post_processor.ok()) {
      return Annotate(post_processor.status(), "tokenizer.json post_processor");
    }
    tokenizer->post_processor_ =
        std::make_unique<tokenizer_impl::PostProcessor>(std::move(*post_processor));
  }
  if (const auto* value = tokenizer_impl::FindField(*root, "decoder")) {
    auto decoder = tokenizer_impl::ParseDecoder(*value);
    if (!decoder.ok()) return Annotate(decoder.status(), "tokenizer.json decoder");
    tokenizer->decoder_ = std::move(*decoder);
  }
  auto added_tokens = ParseAddedTokens(*root);
  if (!added_tokens.ok()) return Annotate(added_tokens.status(), "tokenizer.json");
  auto added = AddedVocabulary::Create(std::move(*added_tokens), tokenizer->normalizer_.get());
  if (!added.ok()) return Annotate(added.status(), "tokenizer.json added_tokens");
  tokenizer->added_ = std::make_unique<AddedVocabulary>(std::move(*added));
  tokenizer->vocab_size_ = tokenizer->model_->VocabSize();
  for (const AddedToken& token : tokenizer->added_->tokens()) {
    tokenizer->vocab_size_ = std::max(tokenizer->vocab_size_, token.id + 1);
  }
  return tokenizer;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJson(std::string_view tokenizer_json) {
  auto tokenizer = Build(tokenizer_json);
  if (!tokenizer.ok()) return tokenizer.status();
  Tokenizer& t = **tokenizer;
  if (t.post_processor_ != nullptr) {
    if (!t.post_processor_->prefix().empty()) t.bos_token_id_ = t.post_processor_->prefix().front();
    if (!t.post_processor_->suffix().empty()) t.eos_token_id_ = t.post_processor_->suffix().back();
  }
  if (t.eos_token_id_) t.eos_token_ids_ = {*t.eos_token_id_};
  t.RefreshSpecialFlags();
  return tokenizer;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromDirectory(
    const std::filesystem::path& dir) {
  auto json = tokenizer_impl::ReadTextFile(dir / "tokenizer.json");
  if (!json.ok()) return json.status();
  auto tokenizer = Build(*json);
  if (!tokenizer.ok()) return Annotate(tokenizer.status(), (dir / "tokenizer.json").string());
  auto config = tokenizer_impl::LoadTokenizerConfig(dir);
  if (!config.ok()) return config.status();
  Tokenizer& t = **tokenizer;

  // A token missing from the vocabulary is left undefined (transformers would append it as a
  // new token, which ids from the model's embedding could never reach anyway).
  auto resolve = [&t](const std::optional<std::string>& content) -> std::optional<int32_t> {
    return content.has_value() ? t.TokenToId(*content) : std::nullopt;
  };
  const std::optional<int32_t> bos = resolve(config->bos_token);
  const std::optional<int32_t> eos = resolve(config->eos_token);
  t.bos_token_id_ = bos.has_value() ? bos : config->bos_token_id;
  t.eos_token_id_ = eos;
  t.pad_token_id_ = resolve(config->pad_token);
  t.eos_token_ids_ = config->eos_token_ids;
  if (t.eos_token_id_ && std::find(t.eos_token_ids_.begin(), t.eos_token_ids_.end(),
                                   *t.eos_token_id_) == t.eos_token_ids_.end()) {
    t.eos_token_ids_.push_back(*t.eos_token_id_);
  }
  if (!t.eos_token_id_ && !t.eos_token_ids_.empty()) t.eos_token_id_ = t.eos_token_ids_.front();

  const bool rebuilds = tokenizer_impl::RebuildsPostProcessor(config->tokenizer_class);
  if (rebuilds) {
    // transformers' LlamaTokenizerFast.update_post_processor().
    const bool add_bos = config->add_bos_token.value_or(true);
    const bool add_eos = config->add_eos_token.value_or(false);
    if ((add_bos && !t.bos_token_id_) || (add_eos && !t.eos_token_id_)) {
      return absl::InvalidArgumentError(
          "tokenizer_config.json: add_bos_token/add_eos_token set but the token is undefined");
    }
    std::vector<int32_t> prefix;
    std::vector<int32_t> suffix;
    if (add_bos) prefix.push_back(*t.bos_token_id_);
    if (add_eos) suffix.push_back(*t.eos_token_id_);
    t.post_processor_ =
        std::make_unique<tokenizer_impl::PostProcessor>(std::move(prefix), std::move(suffix));
  }
  // transformers 4.40 (TGI 2.0.x) defaults to cleaning up, except for the Llama-family classes.
  t.clean_up_tokenization_spaces_ = config->clean_up_tokenization_spaces.value_or(!rebuilds);
  t.RefreshSpecialFlags();
  return tokenizer;
}

void Tokenizer::RefreshSpecialFlags() {
  add_bos_token_ = post_processor_ != nullptr && bos_token_id_.has_value() &&
                   !post_processor_->prefix().empty() &&
                   post_processor_->prefix().front() == *bos_token_id_;
  add_eos_token_ = post_processor_ != nullptr && eos_token_id_.has_value() &&
                   !post_processor_->suffix().empty() &&
                   post_processor_->suffix().back() == *eos_token_id_;
}

void Tokenizer::AddOffsets(std::string_view token, Alignment offsets, size_t index,
                           std::vector<Alignment>& out) const {
  if (post_processor_ != nullptr && post_processor_->trim_offsets()) {
    offsets = post_processor_->TrimOffsets(token, offsets, index);
  }
  out.push_back(offsets);
}

absl::Status Tokenizer::EncodePiece(std::string text, std::vector<Alignment> alignments,
                                    bool at_origin, std::vector<int32_t>& ids,
                                    std::vector<Alignment>* offsets) const {
  if (normalizer_ != nullptr) {
    absl::Status status = normalizer_->Normalize(text, offsets != nullptr ? &alignments : nullptr);
    if (!status.ok()) return status;
  }
  std::vector<uint32_t> lengths;
  for (const Segment& segment : added_->SplitNormalized(text)) {
    const size_t size = segment.end - segment.begin;
    if (segment.id.has_value()) {
      if (offsets != nullptr) {
        AddOffsets(std::string_view(text).substr(segment.begin, size),
                   tokenizer_impl::ExpandAlignments(alignments, segment.begin, segment.end),
                   ids.size(), *offsets);
      }
      ids.push_back(*segment.id);
      continue;
    }
    std::vector<Piece> pieces(1);
    pieces[0].text = text.substr(segment.begin, size);
    pieces[0].at_origin = at_origin && segment.begin == 0;
    if (offsets != nullptr) {
      const auto first = alignments.begin() + static_cast<std::ptrdiff_t>(segment.begin);
      pieces[0].alignments.assign(first, first + static_cast<std::ptrdiff_t>(size));
    }
    if (pre_tokenizer_ != nullptr) {
      if (absl::Status status = pre_tokenizer_->PreTokenize(pieces); !status.ok()) return status;
    }
    for (const Piece& piece : pieces) {
      const size_t first_token = ids.size();
      lengths.clear();
      absl::Status status =
          model_->Tokenize(piece.text, ids, offsets != nullptr ? &lengths : nullptr);
      if (!status.ok()) return status;
      if (offsets == nullptr) continue;
      // A token's bytes of the piece [begin, end) map back through the piece's alignments; a
      // range past the piece (byte fallback of a prefixed symbol) stays as is, as tokenizers.
      const bool trims = post_processor_ != nullptr && post_processor_->trim_offsets();
      size_t begin = 0;
      for (size_t i = 0; i < lengths.size(); ++i) {
        const size_t end = begin + lengths[i];
        const Alignment token_offsets =
            end <= piece.text.size() && begin < end
                ? tokenizer_impl::ExpandAlignments(piece.alignments, begin, end)
                : Alignment{begin, end};
        const std::string* token = trims ? model_->IdToToken(ids[first_token + i]) : nullptr;
        AddOffsets(token != nullptr ? std::string_view(*token) : std::string_view(), token_offsets,
                   first_token + i, *offsets);
        begin = end;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Tokenizer::EncodeInto(std::string_view text, bool add_special_tokens,
                                   std::vector<int32_t>& ids,
                                   std::vector<Alignment>* offsets) const {
  // `alignments`: the input range of each byte of `text` (after any UTF-8 repair), when tracked.
  std::vector<Alignment> alignments;
  std::string repaired;
  if (!tokenizer_impl::IsValidUtf8(text)) {
    repaired = tokenizer_impl::LossyUtf8(text, offsets != nullptr ? &alignments : nullptr);
    text = repaired;
  } else if (offsets != nullptr) {
    tokenizer_impl::AppendCharAlignments(text, 0, alignments);
  }
  ids.reserve(text.size() / 3 + 4);
  for (const Segment& segment : added_->SplitRaw(text)) {
    const size_t size = segment.end - segment.begin;
    if (segment.id.has_value()) {
      if (offsets != nullptr) {
        AddOffsets(text.substr(segment.begin, size),
                   tokenizer_impl::ExpandAlignments(alignments, segment.begin, segment.end),
                   ids.size(), *offsets);
      }
      ids.push_back(*segment.id);
      continue;
    }
    std::vector<Alignment> piece_alignments;
    if (offsets != nullptr) {
      const auto first = alignments.begin() + static_cast<std::ptrdiff_t>(segment.begin);
      piece_alignments.assign(first, first + static_cast<std::ptrdiff_t>(size));
    }
    absl::Status status =
        EncodePiece(std::string(text.substr(segment.begin, size)), std::move(piece_alignments),
                    segment.begin == 0, ids, offsets);
    if (!status.ok()) return status;
  }
  if (add_special_tokens && post_processor_ != nullptr) {
    post_processor_->AddSpecialTokens(ids, offsets);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> Tokenizer::Encode(std::string_view text,
                                                       bool add_special_tokens) const {
  std::vector<int32_t> ids;
  if (absl::Status status = EncodeInto(text, add_special_tokens, ids, nullptr); !status.ok()) {
    return status;
  }
  return ids;
}

absl::StatusOr<std::vector<TokenWithOffsets>> Tokenizer::EncodeWithOffsets(
    std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  std::vector<Alignment> offsets;
  if (absl::Status status = EncodeInto(text, add_special_tokens, ids, &offsets); !status.ok()) {
    return status;
  }
  std::vector<TokenWithOffsets> tokens;
  tokens.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    tokens.push_back({ids[i], offsets[i].begin, offsets[i].end});
  }
  return tokens;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    const AddedToken* added = added_->FindById(id);
    const std::string* token = added != nullptr ? &added->content : model_->IdToToken(id);
    if (token == nullptr) continue;
    if (skip_special_tokens && added_->IsSpecialContent(*token)) continue;
    tokens.push_back(*token);
  }
  std::string text;
  if (decoder_ != nullptr) {
    decoder_->DecodeChain(tokens);
    text = absl::StrJoin(tokens, "");
  } else {
    text = absl::StrJoin(tokens, " ");
  }
  if (!tokenizer_impl::IsValidUtf8(text)) text = tokenizer_impl::LossyUtf8(text);
  if (clean_up_tokenization_spaces_) text = CleanUpTokenization(std::move(text));
  return text;
}

Tokenizer::DecodeStep Tokenizer::DecodeToken(std::span<const int32_t> ids, size_t prefix_offset,
                                             size_t read_offset, bool skip_special_tokens) const {
  prefix_offset = std::min(prefix_offset, ids.size());
  read_offset = std::clamp(read_offset, prefix_offset, ids.size());
  const std::string prefix_text =
      Decode(ids.subspan(prefix_offset, read_offset - prefix_offset), skip_special_tokens);
  const std::string new_text = Decode(ids.subspan(prefix_offset), skip_special_tokens);
  const size_t prefix_chars = tokenizer_impl::CountCodePoints(prefix_text);
  const bool ends_in_replacement =
      absl::EndsWith(new_text, tokenizer_impl::AbslView(tokenizer_impl::kReplacementUtf8));
  if (tokenizer_impl::CountCodePoints(new_text) > prefix_chars && !ends_in_replacement) {
    return {new_text.substr(tokenizer_impl::CodePointPrefixBytes(new_text, prefix_chars)),
            read_offset, ids.size()};
  }
  return {"", prefix_offset, read_offset};
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  if (auto id = added_->TokenToId(token)) return id;
  return model_->TokenToId(token);
}

std::string Tokenizer::IdToToken(int32_t id) const {
  if (const AddedToken* added = added_->FindById(id)) return added->content;
  const std::string* token = model_->IdToToken(id);
  return token == nullptr ? std::string() : *token;
}

bool Tokenizer::IsSpecial(int32_t id) const {
  const AddedToken* added = added_->FindById(id);
  return added != nullptr && added->special;
}

int32_t Tokenizer::VocabSize() const { return vocab_size_; }

}  // namespace tgi::common
