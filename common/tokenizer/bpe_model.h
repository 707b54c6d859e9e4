// The BPE model of tokenizer.json: vocabulary, ranked merges (both the "a b" and ["a", "b"]
// forms), byte_fallback, unk_token/fuse_unk, ignore_merges, continuing_subword_prefix and
// end_of_word_suffix. Turns one pre-tokenized word into ids with a priority queue over merge
// ranks, and caches short words. Thread-safe for concurrent const use (the cache locks itself).
// Must not know about added tokens, normalizers or pre-tokenizers.
#pragma once

#include <array>
#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tgi::common::tokenizer_impl {

class BpeModel {
 public:
  // From the "model" object of tokenizer.json; only "type": "BPE" (or no type) is accepted.
  static absl::StatusOr<std::unique_ptr<BpeModel>> FromJson(const boost::json::value& json);

  // Appends the ids of one word (valid UTF-8) to `ids`. When `lengths` is not null, also appends
  // the number of bytes of `word` each token stands for, in order (tokenizers' Word symbol
  // lengths: a byte-fallback token counts 1, a fused unk every character it covers).
  absl::Status Tokenize(std::string_view word, std::vector<int32_t>& ids,
                        std::vector<uint32_t>* lengths = nullptr) const;

  std::optional<int32_t> TokenToId(std::string_view token) const;
  // nullptr for an id outside the vocabulary.
  const std::string* IdToToken(int32_t id) const;
  // One more than the largest id of the vocabulary.
  int32_t VocabSize() const { return static_cast<int32_t>(id_to_token_.size()); }

 private:
  struct MergeRule {
    int32_t rank;
    int32_t new_id;
  };

  BpeModel() = default;

  // The symbols of a word and, when tracked, the byte length of each (else `lengths` is empty).
  struct Symbols {
    std::vector<int32_t> ids;
    std::vector<uint32_t> lengths;
  };

  // The symbols of `word` before merging (one per character, byte fallback, unk handling).
  absl::Status InitialSymbols(std::string_view word, bool with_lengths, Symbols& symbols) const;
  // Applies the merges to `symbols` in rank order, as tokenizers' Word::merge_all.
  void MergeAll(Symbols& symbols) const;
  const MergeRule* FindMerge(int32_t left, int32_t right) const;

  // Sharded cache of word -> ids for short words.
  class WordCache {
   public:
    // Appends the cached ids (and lengths, when not null) of `word`, if cached.
    bool Get(std::string_view word, std::vector<int32_t>& ids,
             std::vector<uint32_t>* lengths) const;
    void Put(std::string_view word, const Symbols& symbols) const;

   private:
    static constexpr size_t kShards = 16;
    static constexpr size_t kEntriesPerShard = 1024;
    struct Shard {
      mutable std::mutex mutex;
      absl::flat_hash_map<std::string, Symbols> entries;
    };
    mutable std::array<Shard, kShards> shards_;
  };

  absl::flat_hash_map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_token_;
  absl::flat_hash_map<uint64_t, MergeRule> merges_;
  std::array<int32_t, 256> byte_ids_{};  // ids of "<0xAB>" tokens, -1 when absent
  bool byte_fallback_ = false;
  std::optional<std::string> unk_token_;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  WordCache cache_;
};

}  // namespace tgi::common::tokenizer_impl
