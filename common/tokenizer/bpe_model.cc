#include "common/tokenizer/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <queue>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "common/tokenizer/tokenizer_json.h"
#include "common/tokenizer/unicode_text.h"

namespace tgi::common::tokenizer_impl {
namespace {

// Words at least this long are not cached (as tokenizers' cache MAX_LENGTH).
constexpr size_t kMaxCachedWordBytes = 256;

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

absl::StatusOr<std::pair<std::string, std::string>> ParseMerge(const boost::json::value& merge,
                                                               size_t rank) {
  if (const boost::json::string* line = merge.if_string()) {
    const std::string_view text(*line);
    const size_t space = text.find(' ');
    if (space == std::string_view::npos || text.find(' ', space + 1) != std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BPE merge ", rank, " is not of the form \"a b\": \"", AbslView(text), "\""));
    }
    return std::make_pair(std::string(text.substr(0, space)), std::string(text.substr(space + 1)));
  }
  if (const boost::json::array* pair = merge.if_array();
      pair != nullptr && pair->size() == 2 && (*pair)[0].is_string() && (*pair)[1].is_string()) {
    return std::make_pair(std::string((*pair)[0].get_string()),
                          std::string((*pair)[1].get_string()));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("BPE merge ", rank, " is neither \"a b\" nor [\"a\", \"b\"]"));
}

}  // namespace

bool BpeModel::WordCache::Get(std::string_view word, std::vector<int32_t>& ids,
                              std::vector<uint32_t>* lengths) const {
  Shard& shard = shards_[absl::Hash<absl::string_view>()(AbslView(word)) % kShards];
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto it = shard.entries.find(AbslView(word));
  // An entry cached by Encode has no lengths; EncodeWithOffsets then recomputes it.
  if (it == shard.entries.end() || (lengths != nullptr && it->second.lengths.empty())) {
    return false;
  }
  ids.insert(ids.end(), it->second.ids.begin(), it->second.ids.end());
  if (lengths != nullptr) {
    lengths->insert(lengths->end(), it->second.lengths.begin(), it->second.lengths.end());
  }
  return true;
}

void BpeModel::WordCache::Put(std::string_view word, const Symbols& symbols) const {
  Shard& shard = shards_[absl::Hash<absl::string_view>()(AbslView(word)) % kShards];
  std::lock_guard<std::mutex> lock(shard.mutex);
  if (shard.entries.size() >= kEntriesPerShard) shard.entries.clear();
  shard.entries.insert_or_assign(std::string(word), symbols);
}

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::FromJson(const boost::json::value& json) {
  auto object_or = AsObject(json, "model");
  if (!object_or.ok()) return object_or.status();
  const boost::json::object& object = **object_or;
  auto type = GetOptionalString(object, "type");
  if (!type.ok()) return type.status();
  if (type->has_value() && **type != "BPE") {
    return absl::UnimplementedError(absl::StrCat("unsupported model type \"", **type, "\""));
  }
  if (const boost::json::value* dropout = FindField(object, "dropout")) {
    if (!dropout->is_number() || dropout->to_number<double>() != 0.0) {
      return absl::UnimplementedError("unsupported BPE option: dropout");
    }
  }

  std::unique_ptr<BpeModel> model(new BpeModel());
  const boost::json::value* vocab = FindField(object, "vocab");
  if (vocab == nullptr || !vocab->is_object()) {
    return absl::InvalidArgumentError("BPE model has no \"vocab\" object");
  }
  int64_t max_id = -1;
  model->vocab_.reserve(vocab->get_object().size());
  for (const auto& entry : vocab->get_object()) {
    auto id = ToInt(entry.value(), absl::StrCat("vocab id of \"", std::string(entry.key()), "\""));
    if (!id.ok()) return id.status();
    if (*id < 0 || *id > INT32_MAX - 1) {
      return absl::InvalidArgumentError(absl::StrCat("vocab id out of range: ", *id));
    }
    model->vocab_[std::string(entry.key())] = static_cast<int32_t>(*id);
    max_id = std::max(max_id, *id);
  }
  model->id_to_token_.resize(static_cast<size_t>(max_id + 1));
  model->has_token_.resize(static_cast<size_t>(max_id + 1), false);
  for (const auto& [token, id] : model->vocab_) {
    model->id_to_token_[id] = token;
    model->has_token_[id] = true;
  }

  auto unk = GetOptionalString(object, "unk_token");
  auto prefix = GetOptionalString(object, "continuing_subword_prefix");
  auto suffix = GetOptionalString(object, "end_of_word_suffix");
  auto fuse_unk = GetBool(object, "fuse_unk", false);
  auto byte_fallback = GetBool(object, "byte_fallback", false);
  auto ignore_merges = GetBool(object, "ignore_merges", false);
  for (const absl::Status& status :
       {unk.status(), prefix.status(), suffix.status(), fuse_unk.status(), byte_fallback.status(),
        ignore_merges.status()}) {
    if (!status.ok()) return status;
  }
  model->unk_token_ = *unk;
  model->continuing_subword_prefix_ = prefix->value_or("");
  model->end_of_word_suffix_ = suffix->value_or("");
  model->fuse_unk_ = *fuse_unk;
  model->byte_fallback_ = *byte_fallback;
  model->ignore_merges_ = *ignore_merges;
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", byte);
    auto it = model->vocab_.find(absl::string_view(name));
    model->byte_ids_[byte] = it == model->vocab_.end() ? -1 : it->second;
  }

  const boost::json::value* merges = FindField(object, "merges");
  if (merges != nullptr && !merges->is_array()) {
    return absl::InvalidArgumentError("BPE \"merges\" is not an array");
  }
  if (merges != nullptr) {
    const boost::json::array& list = merges->get_array();
    model->merges_.reserve(list.size());
    const std::string& prefix_text = model->continuing_subword_prefix_;
    for (size_t rank = 0; rank < list.size(); ++rank) {
      auto merge = ParseMerge(list[rank], rank);
      if (!merge.ok()) return merge.status();
      const auto& [left, right] = *merge;
      std::string merged = left;
      if (!prefix_text.empty() && right.rfind(prefix_text, 0) == 0) {
        merged.append(right, prefix_text.size());
      } else {
        merged.append(right);
      }
      auto left_id = model->TokenToId(left);
      auto right_id = model->TokenToId(right);
      auto merged_id = model->TokenToId(merged);
      if (!left_id || !right_id || !merged_id) {
        return absl::InvalidArgumentError(absl::StrCat("BPE merge ", rank, " (\"", left, "\", \"",
                                                       right,
                                                       "\") uses a token missing from "
                                                       "the vocabulary"));
      }
      model->merges_[PairKey(*left_id, *right_id)] = {static_cast<int32_t>(rank), *merged_id};
    }
  }
  return model;
}

std::optional<int32_t> BpeModel::TokenToId(std::string_view token) const {
  auto it = vocab_.find(AbslView(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::IdToToken(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || !has_token_[id]) return nullptr;
  return &id_to_token_[id];
}

const BpeModel::MergeRule* BpeModel::FindMerge(int32_t left, int32_t right) const {
  auto it = merges_.find(PairKey(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

absl::Status BpeModel::InitialSymbols(std::string_view word, bool with_lengths,
                                      Symbols& symbols) const {
  constexpr int32_t kNone = -1;
  int32_t pending_unk = kNone;  // an unk not yet emitted (fuse_unk extends it)
  uint32_t pending_unk_length = 0;
  std::optional<int32_t> unk_id;
  std::string piece;
  auto add = [&symbols, with_lengths](int32_t id, uint32_t length) {
    symbols.ids.push_back(id);
    if (with_lengths) symbols.lengths.push_back(length);
  };
  size_t pos = 0;
  while (pos < word.size()) {
    char32_t cp;
    size_t len = DecodeUtf8(word, pos, &cp);
    if (len == 0) len = 1;
    const bool is_first = pos == 0;
    const bool is_last = pos + len == word.size();
    piece.clear();
    if (!is_first) piece.append(continuing_subword_prefix_);
    piece.append(word.substr(pos, len));
    if (is_last) piece.append(end_of_word_suffix_);
    pos += len;

    if (auto id = TokenToId(piece)) {
      if (pending_unk != kNone) add(pending_unk, pending_unk_length);
      pending_unk = kNone;
      add(*id, static_cast<uint32_t>(len));
      continue;
    }
    if (byte_fallback_) {
      bool all_bytes_known = true;
      for (char c : piece) all_bytes_known &= byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all_bytes_known) {
        // As tokenizers: a pending unk is not flushed before byte tokens, and each byte token
        // stands for one byte.
        for (char c : piece) add(byte_ids_[static_cast<unsigned char>(c)], 1);
        continue;
      }
    }
    if (!unk_token_) continue;
    if (!unk_id) {
      unk_id = TokenToId(*unk_token_);
      if (!unk_id) {
        return absl::FailedPreconditionError(
            absl::StrCat("unk_token \"", *unk_token_, "\" is not in the vocabulary"));
      }
    }
    if (pending_unk != kNone && fuse_unk_) {
      pending_unk_length += static_cast<uint32_t>(len);
      continue;
    }
    if (pending_unk != kNone) add(pending_unk, pending_unk_length);
    pending_unk = *unk_id;
    pending_unk_length = static_cast<uint32_t>(len);
  }
  if (pending_unk != kNone) add(pending_unk, pending_unk_length);
  return absl::OkStatus();
}

void BpeModel::MergeAll(Symbols& word) const {
  std::vector<int32_t>& symbols = word.ids;
  std::vector<uint32_t>& lengths = word.lengths;
  const bool with_lengths = !lengths.empty();
  const int n = static_cast<int>(symbols.size());
  if (n < 2) return;
  std::vector<int> prev(n);
  std::vector<int> next(n);
  std::vector<bool> removed(n, false);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank;
    int pos;
    int32_t new_id;
    // Lowest rank first, then leftmost.
    bool operator>(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : pos > other.pos;
    }
  };
  std::vector<Candidate> storage;
  storage.reserve(n);
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue(
      std::greater<Candidate>(), std::move(storage));
  for (int i = 0; i + 1 < n; ++i) {
    if (const MergeRule* rule = FindMerge(symbols[i], symbols[i + 1])) {
      queue.push({rule->rank, i, rule->new_id});
    }
  }
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    if (removed[top.pos] || next[top.pos] < 0) continue;
    const int right = next[top.pos];
    const MergeRule* current = FindMerge(symbols[top.pos], symbols[right]);
    if (current == nullptr || current->new_id != top.new_id) continue;  // stale entry
    symbols[top.pos] = top.new_id;
    if (with_lengths) lengths[top.pos] += lengths[right];
    removed[right] = true;
    next[top.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.pos;
    if (prev[top.pos] >= 0) {
      if (const MergeRule* rule = FindMerge(symbols[prev[top.pos]], symbols[top.pos])) {
        queue.push({rule->rank, prev[top.pos], rule->new_id});
      }
    }
    if (next[top.pos] >= 0) {
      if (const MergeRule* rule = FindMerge(symbols[top.pos], symbols[next[top.pos]])) {
        queue.push({rule->rank, top.pos, rule->new_id});
      }
    }
  }
  size_t out = 0;
  for (int i = 0; i < n; ++i) {
    if (removed[i]) continue;
    symbols[out] = symbols[i];
    if (with_lengths) lengths[out] = lengths[i];
    ++out;
  }
  symbols.resize(out);
  if (with_lengths) lengths.resize(out);
}

absl::Status BpeModel::Tokenize(std::string_view word, std::vector<int32_t>& ids,
                                std::vector<uint32_t>* lengths) const {
  if (word.empty()) return absl::OkStatus();
  if (ignore_merges_) {
    if (auto id = TokenToId(word)) {
      ids.push_back(*id);
      if (lengths != nullptr) lengths->push_back(static_cast<uint32_t>(word.size()));
      return absl::OkStatus();
    }
  }
  const bool cacheable = word.size() < kMaxCachedWordBytes;
  if (cacheable && cache_.Get(word, ids, lengths)) return absl::OkStatus();
  Symbols symbols;
  symbols.ids.reserve(word.size());
  if (lengths != nullptr) symbols.lengths.reserve(word.size());
  if (absl::Status status = InitialSymbols(word, lengths != nullptr, symbols); !status.ok()) {
    return status;
  }
  MergeAll(symbols);
  if (cacheable) cache_.Put(word, symbols);
  ids.insert(ids.end(), symbols.ids.begin(), symbols.ids.end());
  if (lengths != nullptr) {
    lengths->insert(lengths->end(), symbols.lengths.begin(), symbols.lengths.end());
  }
  return absl::OkStatus();
}

}  // namespace tgi::common::tokenizer_impl
