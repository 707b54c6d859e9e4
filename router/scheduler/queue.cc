#include "router/scheduler/queue.h"

#include <algorithm>
#include <utility>

namespace tgi::router {
namespace {

// Heap order: the smallest (input_length, id) on top.
bool Later(const QueueEntry& a, const QueueEntry& b) {
  if (a.request.input_length != b.request.input_length) {
    return a.request.input_length > b.request.input_length;
  }
  return a.id > b.id;
}

ShardRequest ToShardRequest(const QueueEntry& entry) {
  ShardRequest out = entry.request.shard;
  out.id = entry.id;
  return out;
}

}  // namespace

uint32_t PaddedPromptLength(uint32_t longest, uint32_t max_truncate, uint32_t bucket) {
  const uint64_t multiple = std::max<uint32_t>(bucket, 1);
  const uint64_t rounded = (std::max<uint64_t>(longest, 1) + multiple - 1) / multiple * multiple;
  return static_cast<uint32_t>(std::min<uint64_t>(rounded, std::max(longest, max_truncate)));
}

Queue::Queue(QueueOptions options, ClockFn clock) : options_(options), clock_(std::move(clock)) {}

uint64_t Queue::Append(QueueEntry entry) {
  entry.id = next_id_++;
  const uint64_t id = entry.id;
  Push(std::move(entry));
  return id;
}

bool Queue::Overdue(const QueueEntry& entry, Clock::time_point now) const {
  return now - entry.queue_time > options_.threshold;
}

void Queue::Push(QueueEntry entry) {
  std::vector<QueueEntry>& heap = Overdue(entry, clock_()) ? overdue_ : regular_;
  heap.push_back(std::move(entry));
  std::push_heap(heap.begin(), heap.end(), Later);
}

QueueEntry Queue::Pop() {
  std::vector<QueueEntry>& heap = overdue_.empty() ? regular_ : overdue_;
  std::pop_heap(heap.begin(), heap.end(), Later);
  QueueEntry entry = std::move(heap.back());
  heap.pop_back();
  return entry;
}

void Queue::Update() {
  const Clock::time_point now = clock_();
  auto fresh_end = std::partition(regular_.begin(), regular_.end(),
                                  [&](const QueueEntry& entry) { return !Overdue(entry, now); });
  if (fresh_end == regular_.end()) return;
  for (auto it = fresh_end; it != regular_.end(); ++it) {
    overdue_.push_back(std::move(*it));
    std::push_heap(overdue_.begin(), overdue_.end(), Later);
  }
  regular_.erase(fresh_end, regular_.end());
  std::make_heap(regular_.begin(), regular_.end(), Later);
}

std::vector<QueueEntry> Queue::Drain() {
  std::vector<QueueEntry> out = std::move(overdue_);
  overdue_.clear();
  for (QueueEntry& entry : regular_) out.push_back(std::move(entry));
  regular_.clear();
  return out;
}

std::optional<QueuedBatch> Queue::NextBatch(std::optional<size_t> min_size,
                                            std::optional<size_t> max_size,
                                            uint32_t prefill_token_budget, uint32_t token_budget) {
  if (empty()) return std::nullopt;
  if (min_size && size() < *min_size) return std::nullopt;
  if (max_size && *max_size == 0) return std::nullopt;
  Update();

  std::vector<QueueEntry> taken;
  uint32_t longest = 0;
  uint32_t max_truncate = 0;
  uint64_t prefill_tokens = 0;
  uint64_t decode_tokens = 0;
  const Clock::time_point now = clock_();
  while (!empty()) {
    QueueEntry entry = Pop();
    if (entry.stream && entry.stream->closed()) {
      if (on_dropped_) on_dropped_();
      continue;
    }
    const uint32_t next_longest = std::max(longest, entry.request.input_length);
    const uint32_t next_truncate = std::max(max_truncate, entry.request.shard.truncate);
    const uint64_t next_prefill =
        (taken.size() + 1) * uint64_t{PaddedPromptLength(next_longest, next_truncate,
                                                         options_.pad_sequence_to_multiple_of)};
    const uint64_t next_decode = decode_tokens + entry.request.shard.stopping_parameters.max_new_tokens;
    if (next_prefill > prefill_token_budget ||
        next_prefill + next_decode + options_.speculate > token_budget) {
      Push(std::move(entry));
      break;
    }
    longest = next_longest;
    max_truncate = next_truncate;
    prefill_tokens = next_prefill;
    decode_tokens = next_decode;
    entry.batch_time = now;
    taken.push_back(std::move(entry));
    if (max_size && taken.size() == *max_size) break;
  }

  if (taken.empty()) return std::nullopt;
  if (min_size && taken.size() < *min_size) {
    for (QueueEntry& entry : taken) Push(std::move(entry));
    return std::nullopt;
  }

  QueuedBatch out;
  out.prefill_tokens = static_cast<uint32_t>(prefill_tokens);
  out.decode_tokens = static_cast<uint32_t>(decode_tokens);
  out.batch.id = next_batch_id_++;
  out.batch.size = static_cast<uint32_t>(taken.size());
  out.batch.max_tokens = static_cast<uint32_t>(prefill_tokens + decode_tokens);
  for (QueueEntry& entry : taken) {
    out.batch.requests.push_back(ToShardRequest(entry));
    const uint64_t id = entry.id;
    out.entries.emplace(id, std::move(entry));
  }
  return out;
}

}  // namespace tgi::router
