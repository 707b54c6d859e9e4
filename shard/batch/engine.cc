#include "shard/batch/engine.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <limits>
#include <sstream>

#include <c10/core/InferenceMode.h>
#include <spdlog/spdlog.h>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace tgi::shard {

namespace {

uint64_t NanosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

// A number from a file such as /sys/fs/cgroup/memory.max, or nullopt ("max", missing).
std::optional<int64_t> ReadNumber(const char* path) {
  std::ifstream file(path);
  std::string text;
  if (!(file >> text)) return std::nullopt;
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) return std::nullopt;
  return value;
}

}  // namespace

int64_t AvailableMemoryBytes() {
  int64_t available = std::numeric_limits<int64_t>::max();
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    absl::string_view rest = line;
    int64_t kib = 0;
    if (absl::ConsumePrefix(&rest, "MemAvailable:") &&
        absl::SimpleAtoi(absl::StripSuffix(absl::StripAsciiWhitespace(rest), " kB"), &kib)) {
      available = kib * 1024;
    }
  }
  const std::optional<int64_t> limit = ReadNumber("/sys/fs/cgroup/memory.max");
  const std::optional<int64_t> used = ReadNumber("/sys/fs/cgroup/memory.current");
  if (limit && used) available = std::min(available, *limit - *used);
  return std::max<int64_t>(available, 0);
}

Engine::Engine(std::unique_ptr<LlamaModel> model, std::unique_ptr<common::Tokenizer> tokenizer,
               EngineOptions options)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), options_(options) {
  context_.model = model_.get();
  context_.tokenizer = options_.skip_tokenizer ? nullptr : tokenizer_.get();
  context_.buckets = options_.buckets;
  context_.watermark = options_.watermark;
  context_.force_ignore_eos = options_.force_ignore_eos;
  if (tokenizer_ != nullptr) {
    for (int32_t id : tokenizer_->eos_token_ids()) context_.eos_token_ids.push_back(id);
  }
  absl::StatusOr<int64_t> blocks = AgreedBlocks(
      options_.kv_cache_blocks > 0 ? options_.kv_cache_blocks : BlocksFromMemory());
  absl::Status status = blocks.ok() ? CreatePool(*blocks) : blocks.status();
  if (!status.ok()) spdlog::error("no KV cache: {}", std::string(status.message()));
}

absl::StatusOr<int64_t> Engine::AgreedBlocks(int64_t blocks) const {
  return model_->communicator().AllReduceMin(blocks);
}

int64_t Engine::BlocksFromMemory() const {
  const kernels::PagedKv layout = model_->CacheLayout();
  // The ranks of a sharded model on CPU share this host's memory.
  const double usable = static_cast<double>(AvailableMemoryBytes()) * options_.memory_fraction /
                        model_->communicator().world_size();
  const double blocks = usable / static_cast<double>(std::max<int64_t>(1, layout.block_bytes()));
  return static_cast<int64_t>(
      std::clamp(blocks, 1.0, static_cast<double>(std::numeric_limits<int32_t>::max())));
}

absl::Status Engine::CreatePool(int64_t blocks) {
  context_.pool = nullptr;
  pool_.reset();
  absl::StatusOr<std::unique_ptr<KvPool>> pool = KvPool::Create(model_->CacheLayout(), blocks);
  if (!pool.ok()) return pool.status();
  pool_ = std::move(*pool);
  context_.pool = pool_.get();
  spdlog::info("KV cache: {} blocks of {} tokens ({} KiB each, {}), {} tokens", blocks,
               kernels::kBlockSize, pool_->block_bytes() >> 10,
               c10::toString(model_->kv_cache_dtype()), blocks * kernels::kBlockSize);
  return absl::OkStatus();
}

const Batch* Engine::FindBatch(uint64_t id) const {
  auto it = batches_.find(id);
  return it == batches_.end() ? nullptr : it->second.get();
}

absl::StatusOr<std::vector<int32_t>> Engine::ParseTokenIds(const std::string& inputs) const {
  std::vector<int32_t> ids;
  for (absl::string_view piece : absl::StrSplit(inputs, ',')) {
    piece = absl::StripAsciiWhitespace(piece);
    int64_t id = 0;
    if (!absl::SimpleAtoi(piece, &id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("SKIP_TOKENIZER_IN_TGI inputs must be comma-separated token ids; got \"",
                       piece, "\""));
    }
    ids.push_back(static_cast<int32_t>(std::clamp<int64_t>(id, -1, INT32_MAX)));
  }
  return ids;
}

absl::StatusOr<PreparedRequest> Engine::Prepare(RequestSpec spec) const {
  const std::string which = absl::StrCat("request ", spec.id, ": ");
  if (spec.truncate == 0) {
    return absl::InvalidArgumentError(absl::StrCat(which, "truncate must be positive"));
  }
  if (spec.stopping.max_new_tokens == 0) {
    return absl::InvalidArgumentError(absl::StrCat(which, "max_new_tokens must be positive"));
  }
  PreparedRequest prepared;
  if (options_.skip_tokenizer || tokenizer_ == nullptr) {
    absl::StatusOr<std::vector<int32_t>> ids = ParseTokenIds(spec.inputs);
    if (!ids.ok()) return absl::InvalidArgumentError(absl::StrCat(which, ids.status().message()));
    prepared.prompt_ids = std::move(*ids);
  } else {
    absl::StatusOr<std::vector<int32_t>> ids =
        tokenizer_->Encode(spec.inputs, /*add_special_tokens=*/true);
    if (!ids.ok()) return absl::InvalidArgumentError(absl::StrCat(which, ids.status().message()));
    prepared.prompt_ids = std::move(*ids);
  }
  if (prepared.prompt_ids.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(which, "the input has no tokens"));
  }
  const int64_t vocab = model_->config().vocab_size;
  for (int32_t id : prepared.prompt_ids) {
    if (id < 0 || id >= vocab) {
      return absl::InvalidArgumentError(absl::StrCat(
          which, "token id ", id, " is outside the vocabulary [0, ", vocab, ")"));
    }
  }
  if (prepared.prompt_ids.size() > spec.truncate) {
    prepared.prompt_ids.erase(prepared.prompt_ids.begin(),
                              prepared.prompt_ids.end() - spec.truncate);
  }
  const int64_t total =
      static_cast<int64_t>(prepared.prompt_ids.size()) + spec.stopping.max_new_tokens;
  if (total > options_.buckets.max_total_tokens) {
    return absl::InvalidArgumentError(absl::StrCat(
        which, prepared.prompt_ids.size(), " prompt tokens + ", spec.stopping.max_new_tokens,
        " max_new_tokens exceed max_total_tokens ", options_.buckets.max_total_tokens));
  }
  prepared.spec = std::move(spec);
  return prepared;
}

absl::StatusOr<StepResult> Engine::Prefill(uint64_t batch_id, std::vector<RequestSpec> requests,
                                           uint32_t max_prompt_tokens) {
  c10::InferenceMode inference;
  const auto started = std::chrono::steady_clock::now();
  if (requests.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("batch ", batch_id, " has no requests"));
  }
  if (batches_.contains(batch_id)) {
    return absl::AlreadyExistsError(absl::StrCat("batch ", batch_id, " is already cached"));
  }
  if (pool_ == nullptr) return absl::ResourceExhaustedError("the shard has no KV cache");
  std::vector<PreparedRequest> prepared;
  prepared.reserve(requests.size());
  for (RequestSpec& spec : requests) {
    absl::StatusOr<PreparedRequest> request = Prepare(std::move(spec));
    if (!request.ok()) return request.status();
    prepared.push_back(std::move(*request));
  }
  StepResult result;
  int64_t longest = 0;
  for (const PreparedRequest& request : prepared) {
    longest = std::max(longest, static_cast<int64_t>(request.prompt_ids.size()));
  }
  const BucketConfig& buckets = options_.buckets;
  // The bucket a static-shape device would run: every request's whole padded prompt.
  result.stats.bucket_rows =
      RoundUp(static_cast<int64_t>(prepared.size()), buckets.prefill_batch_bucket_size);
  result.stats.bucket_length =
      std::min(RoundUp(longest, buckets.pad_sequence_to_multiple_of), buckets.max_total_tokens);
  absl::StatusOr<std::unique_ptr<Batch>> batch =
      Batch::Prefill(batch_id, std::move(prepared), context_, max_prompt_tokens, &result);
  if (!batch.ok()) return batch.status();
  if (*batch != nullptr) {
    result.forward_ns = (*batch)->last_forward_ns();
    result.decode_ns = (*batch)->last_decode_ns();
    result.batch = (*batch)->Info();
    batches_[batch_id] = std::move(*batch);
  }
  result.total_ns = NanosSince(started);
  return result;
}

KvUsage Engine::kv_usage() const {
  if (pool_ == nullptr) return KvUsage{.block_size = kernels::kBlockSize};
  return KvUsage{.blocks_used = pool_->num_blocks() - pool_->free_blocks(),
                 .blocks_reserved = pool_->num_blocks(),
                 .block_size = kernels::kBlockSize};
}

absl::StatusOr<StepResult> Engine::Decode(std::span<const uint64_t> batch_ids,
                                          uint32_t max_prompt_tokens) {
  c10::InferenceMode inference;
  const auto started = std::chrono::steady_clock::now();
  if (batch_ids.empty()) return absl::InvalidArgumentError("Decode needs at least one batch");
  for (size_t i = 0; i < batch_ids.size(); ++i) {
    if (!batches_.contains(batch_ids[i])) {
      return absl::NotFoundError(absl::StrCat("batch ", batch_ids[i], " is not in the cache"));
    }
    if (std::find(batch_ids.begin(), batch_ids.begin() + i, batch_ids[i]) !=
        batch_ids.begin() + i) {
      return absl::InvalidArgumentError(absl::StrCat("batch ", batch_ids[i], " is listed twice"));
    }
  }
  std::vector<std::unique_ptr<Batch>> batches;
  for (uint64_t id : batch_ids) batches.push_back(std::move(batches_.extract(id).mapped()));

  StepResult result;
  const auto concat_started = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<Batch>> merged =
      Batch::Concatenate(std::move(batches), context_);
  if (!merged.ok()) return merged.status();
  if (batch_ids.size() > 1) result.concat_ns = NanosSince(concat_started);
  std::unique_ptr<Batch> batch = std::move(*merged);
  if (batch != nullptr) {
    result.stats.bucket_rows = RoundUp(batch->NumLive(), options_.buckets.batch_bucket_size);
    result.stats.bucket_length = 1;
    absl::Status status = batch->Decode(context_, max_prompt_tokens, &result);
    if (!status.ok()) return status;
    result.forward_ns = batch->last_forward_ns();
    result.decode_ns = batch->last_decode_ns();
    if (batch->NumLive() > 0) {
      result.batch = batch->Info();
      batches_[batch->id()] = std::move(batch);
    }
  }
  result.total_ns = NanosSince(started);
  return result;
}

absl::StatusOr<CachedBatchInfo> Engine::Filter(uint64_t batch_id,
                                               std::span<const uint64_t> request_ids) {
  c10::InferenceMode inference;
  auto it = batches_.find(batch_id);
  if (it == batches_.end()) {
    return absl::NotFoundError(absl::StrCat("batch ", batch_id, " is not in the cache"));
  }
  absl::Status status = it->second->Filter(request_ids);
  if (!status.ok()) return status;
  CachedBatchInfo info = it->second->Info();
  spdlog::debug("filtered batch {}: {} requests kept", batch_id, info.size);
  if (info.size == 0) batches_.erase(it);
  return info;
}

void Engine::ClearCache(std::optional<uint64_t> batch_id) {
  spdlog::debug("clearing {}", batch_id ? "batch " + std::to_string(*batch_id) : "every batch");
  if (batch_id) {
    batches_.erase(*batch_id);
  } else {
    batches_.clear();
  }
}

absl::StatusOr<uint32_t> Engine::Warmup(std::vector<std::vector<RequestSpec>> batches) {
  c10::InferenceMode inference;
  // Warmup batches get ids of their own so that they never collide with the router's.
  constexpr uint64_t kFirstWarmupId = std::numeric_limits<uint64_t>::max() - (1 << 20);
  ClearCache(std::nullopt);
  // On CPU nothing is compiled or captured per shape: only the batch that needs the most
  // positions runs (it checks that the largest shape fits), the others would only cost time.
  if (model_->device().is_cpu() && batches.size() > 1) {
    auto positions = [](const std::vector<RequestSpec>& requests) {
      int64_t total = 0;
      for (const RequestSpec& r : requests) total += r.truncate + r.stopping.max_new_tokens;
      return total;
    };
    auto largest = std::max_element(batches.begin(), batches.end(),
                                    [&](const auto& a, const auto& b) {
                                      return positions(a) < positions(b);
                                    });
    spdlog::info("warmup on CPU: running the largest of {} batches ({} requests)", batches.size(),
                 largest->size());
    std::vector<std::vector<RequestSpec>> kept;
    kept.push_back(std::move(*largest));
    batches = std::move(kept);
  }
  std::optional<uint64_t> running;
  uint64_t next_id = kFirstWarmupId;
  for (std::vector<RequestSpec>& requests : batches) {
    if (options_.stopped && options_.stopped()) {
      ClearCache(std::nullopt);
      return absl::CancelledError("warmup stopped: the shard is shutting down");
    }
    if (requests.empty()) continue;
    const uint64_t id = next_id++;
    absl::StatusOr<StepResult> prefill = Prefill(id, std::move(requests));
    if (!prefill.ok()) {
      ClearCache(std::nullopt);
      return prefill.status();
    }
    std::vector<uint64_t> ids;
    if (running) ids.push_back(*running);
    if (prefill->batch) ids.push_back(id);
    if (ids.empty()) continue;
    absl::StatusOr<StepResult> decode = Decode(ids);
    if (!decode.ok()) {
      ClearCache(std::nullopt);
      return decode.status();
    }
    running = decode->batch ? std::optional<uint64_t>(decode->batch->id) : std::nullopt;
  }
  ClearCache(std::nullopt);

  // The pool's pages that warmup wrote go back before free memory is measured.
  context_.pool = nullptr;
  pool_.reset();
  absl::StatusOr<int64_t> blocks_or = AgreedBlocks(BlocksFromMemory());
  if (!blocks_or.ok()) return blocks_or.status();
  const int64_t blocks = *blocks_or;
  if (absl::Status status = CreatePool(blocks); !status.ok()) return status;
  const int64_t tokens = std::min<int64_t>(blocks * kernels::kBlockSize,
                                           std::numeric_limits<uint32_t>::max());
  spdlog::info("warmup done: {} bytes of KV cache per token, room for {} tokens",
               model_->kv_bytes_per_token(), tokens);
  return static_cast<uint32_t>(tokens);
}

}  // namespace tgi::shard
