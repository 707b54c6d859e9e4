// The waiting requests (tgi-gaudi's QUEUE_THRESHOLD_MS queue): two min-heaps, overdue and
// regular, ordered by (input_length, arrival id), and the budgeted choice of the next batch. Not
// thread-safe: the scheduler thread owns it. It never talks to the shards.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "router/scheduler/request.h"
#include "router/scheduler/response_stream.h"
#include "router/shard_client/shard_client.h"

namespace tgi::router {

using Clock = std::chrono::steady_clock;
using ClockFn = std::function<Clock::time_point()>;

// A request waiting in the queue, then running in a batch.
struct QueueEntry {
  uint64_t id = 0;  // request id, set by Queue::Append
  ValidRequest request;
  std::shared_ptr<ResponseStream> stream;
  Clock::time_point queue_time;  // when it was submitted
  Clock::time_point batch_time;  // when it was taken into a batch
};

struct QueueOptions {
  // Prompts are counted as the shard pads them: rounded up to this bucket (capped at truncate).
  uint32_t pad_sequence_to_multiple_of = 128;
  // QUEUE_THRESHOLD_MS: entries older than this are served first.
  std::chrono::milliseconds threshold{120};
  // Speculative tokens per step (Info.speculate), added to the token budget as TGI does.
  uint32_t speculate = 0;
};

// A batch taken from the queue: the Batch to prefill and its entries by request id.
struct QueuedBatch {
  ShardBatch batch;
  std::map<uint64_t, QueueEntry> entries;
  uint32_t prefill_tokens = 0;  // n x the padded prompt length
  uint32_t decode_tokens = 0;   // sum of max_new_tokens
};

// The padded prompt length of a prefill batch whose longest prompt has `longest` tokens and whose
// largest truncate is `max_truncate`, as the shard computes it.
uint32_t PaddedPromptLength(uint32_t longest, uint32_t max_truncate, uint32_t bucket);

class Queue {
 public:
  explicit Queue(QueueOptions options, ClockFn clock = Clock::now);

  // Adds an entry and gives it the next request id (returned). queue_time is kept as given.
  uint64_t Append(QueueEntry entry);

  // The next batch within budget, or nullopt (§3.2 with the overdue heap of §7.3):
  // - nullopt when empty, when fewer than `min_size` entries wait, or when `max_size` is 0;
  // - entries whose stream is closed are discarded (`on_dropped` runs for each);
  // - entries are taken overdue first, then shortest first, while n x padded longest prompt
  //   <= prefill_token_budget and that + sum of max_new_tokens + speculate <= token_budget;
  // - a batch smaller than `min_size` goes back whole and yields nullopt.
  std::optional<QueuedBatch> NextBatch(std::optional<size_t> min_size,
                                       std::optional<size_t> max_size,
                                       uint32_t prefill_token_budget, uint32_t token_budget);

  // Removes and returns every entry (shutdown).
  std::vector<QueueEntry> Drain();

  size_t size() const { return overdue_.size() + regular_.size(); }
  bool empty() const { return size() == 0; }

  // Runs for every entry discarded because its client went away.
  void set_on_dropped(std::function<void()> on_dropped) { on_dropped_ = std::move(on_dropped); }

 private:
  void Push(QueueEntry entry);
  QueueEntry Pop();
  // Moves every regular entry older than the threshold to the overdue heap.
  void Update();
  bool Overdue(const QueueEntry& entry, Clock::time_point now) const;

  QueueOptions options_;
  ClockFn clock_;
  std::vector<QueueEntry> overdue_;  // heaps: std::push_heap / std::pop_heap
  std::vector<QueueEntry> regular_;
  uint64_t next_id_ = 0;
  uint64_t next_batch_id_ = 0;
  std::function<void()> on_dropped_;
};

}  // namespace tgi::router
