// A Hugging Face tokenizer loaded from a model directory (tokenizer.json plus
// tokenizer_config.json, special_tokens_map.json, generation_config.json, config.json): encode,
// decode and TGI's incremental decode, token-for-token with the `tokenizers` library as
// transformers configures it, and each token's byte offsets (TGI's /tokenize). Immutable after
// loading, so safe to share const across threads.
// Owns the pipeline components; must not know about requests, batching or models' weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::common {

namespace tokenizer_impl {
struct Alignment;
class AddedVocabulary;
class BpeModel;
class Decoder;
class Normalizer;
class PostProcessor;
class PreTokenizer;
}  // namespace tokenizer_impl

// A token and its byte offsets into the encoded text: text[start, stop).
struct TokenWithOffsets {
  int32_t id;
  size_t start;
  size_t stop;
};

class Tokenizer {
 public:
  // Loads `dir`/tokenizer.json and the optional config files around it. As transformers does
  // for Llama/CodeLlama/Gemma tokenizer classes, add_bos_token/add_eos_token then decide the
  // special tokens added by Encode.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromDirectory(const std::filesystem::path& dir);
  // From the text of a tokenizer.json alone (no config files): `tokenizers` semantics, no
  // clean-up of tokenization spaces; bos/eos are taken from the post-processor's template.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromJson(std::string_view tokenizer_json);

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Token ids of `text`. Invalid UTF-8 is first repaired (each ill-formed subsequence becomes
  // U+FFFD). Errors only on pathological input (e.g. a regex resource limit).
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text, bool add_special_tokens) const;

  // Encode's tokens with the offsets `tokenizers` gives them (Encoding::get_offsets, byte offsets):
  // tracked through normalization, pre-tokenization and the model; an added token found in the
  // text has the range it matched; tokens the post-processor adds (BOS/EOS) have (0, 0). The ids
  // are always Encode's. An ill-formed UTF-8 subsequence's U+FFFD stands for its bytes.
  absl::StatusOr<std::vector<TokenWithOffsets>> EncodeWithOffsets(std::string_view text,
                                                                  bool add_special_tokens) const;

  // Text of `ids` (always valid UTF-8); unknown ids are skipped, as `tokenizers` does.
  std::string Decode(std::span<const int32_t> ids, bool skip_special_tokens) const;

  // TGI's incremental decode (text_generation_server/models/model.py decode_token):
  // prefix = Decode(ids[prefix_offset:read_offset]), full = Decode(ids[prefix_offset:]); when full
  // has more characters than prefix and does not end in U+FFFD, returns full minus prefix's
  // characters and offsets (read_offset, ids.size()); otherwise "" and the offsets unchanged.
  // Offsets are clamped to ids.size(). Never emits part of a UTF-8 character.
  struct DecodeStep {
    std::string text;
    size_t prefix_offset;
    size_t read_offset;
  };
  DecodeStep DecodeToken(std::span<const int32_t> ids, size_t prefix_offset, size_t read_offset,
                         bool skip_special_tokens = false) const;

  std::optional<int32_t> TokenToId(std::string_view token) const;
  // The token string of `id`; "" when the id is unknown.
  std::string IdToToken(int32_t id) const;
  // Whether `id` is an added token marked special (what skip_special_tokens drops).
  bool IsSpecial(int32_t id) const;
  // One more than the largest id (model vocabulary and added tokens).
  int32_t VocabSize() const;

  std::optional<int32_t> bos_token_id() const { return bos_token_id_; }
  std::optional<int32_t> eos_token_id() const { return eos_token_id_; }
  std::optional<int32_t> pad_token_id() const { return pad_token_id_; }
  // Every id that ends generation: generation_config's eos_token_id (or config.json's), then the
  // tokenizer's eos token if not already listed.
  const std::vector<int32_t>& eos_token_ids() const { return eos_token_ids_; }
  // Whether Encode(..., add_special_tokens=true) starts with bos / ends with eos.
  bool add_bos_token() const { return add_bos_token_; }
  bool add_eos_token() const { return add_eos_token_; }

 private:
  Tokenizer();
  static absl::StatusOr<std::unique_ptr<Tokenizer>> Build(std::string_view tokenizer_json);
  // The pipeline of Encode and EncodeWithOffsets: fills `ids` (empty on entry) with the ids of
  // `text` and, when `offsets` is not null, `offsets` with theirs.
  absl::Status EncodeInto(std::string_view text, bool add_special_tokens, std::vector<int32_t>& ids,
                          std::vector<tokenizer_impl::Alignment>* offsets) const;
  // Normalizes, splits and tokenizes the text between two raw added tokens; `alignments` maps
  // its bytes to the input when offsets are tracked (else empty).
  absl::Status EncodePiece(std::string text, std::vector<tokenizer_impl::Alignment> alignments,
                           bool at_origin, std::vector<int32_t>& ids,
                           std::vector<tokenizer_impl::Alignment>* offsets) const;
  // Appends the offsets of the token at `index`, `token` being its text for offset trimming.
  void AddOffsets(std::string_view token, tokenizer_impl::Alignment offsets, size_t index,
                  std::vector<tokenizer_impl::Alignment>& out) const;
  void RefreshSpecialFlags();

  std::unique_ptr<tokenizer_impl::Normalizer> normalizer_;
  std::unique_ptr<tokenizer_impl::PreTokenizer> pre_tokenizer_;
  std::unique_ptr<tokenizer_impl::BpeModel> model_;
  std::unique_ptr<tokenizer_impl::PostProcessor> post_processor_;
  std::unique_ptr<tokenizer_impl::Decoder> decoder_;
  std::unique_ptr<tokenizer_impl::AddedVocabulary> added_;
  bool clean_up_tokenization_spaces_ = false;
  std::optional<int32_t> bos_token_id_;
  std::optional<int32_t> eos_token_id_;
  std::optional<int32_t> pad_token_id_;
  std::vector<int32_t> eos_token_ids_;
  bool add_bos_token_ = false;
  bool add_eos_token_ = false;
  int32_t vocab_size_ = 0;
};

}  // namespace tgi::common
