// The continuous batching loop (§3.3): one thread owns the queue and the running batch, prefills
// new batches, decodes, filters finished and cancelled requests, and turns each Generation into
// events on the request's ResponseStream. Other threads only Submit and ask for Health; nothing
// here knows HTTP or proto.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "router/scheduler/queue.h"
#include "router/scheduler/request.h"
#include "router/scheduler/response_stream.h"
#include "router/scheduler/scheduler_observer.h"
#include "router/shard_client/shard_client.h"

namespace tgi::router {

// Reserved for the liveness batch and request of Health().
inline constexpr uint64_t kLivenessId = UINT64_MAX;

struct SchedulerOptions {
  uint32_t max_batch_prefill_tokens = 4096;
  uint32_t max_batch_total_tokens = 16000;
  std::optional<uint32_t> max_batch_size;  // after tgi-gaudi's coupling (batch_limits.h)
  float waiting_served_ratio = 1.2f;
  uint32_t max_waiting_tokens = 20;
  // Chunked prefill: the prompt tokens one Prefill or Decode may compute (0: whole prompts). A
  // request whose prompt is not done stays in the running batch without a token; every Decode
  // goes on with it next to the generating requests.
  uint32_t max_prefill_chunk_tokens = 0;
  QueueOptions queue;
  std::shared_ptr<SchedulerObserver> observer;  // null: no metrics
  ClockFn clock = Clock::now;                   // queue ages and event timestamps
};

class Scheduler {
 public:
  Scheduler(std::shared_ptr<ShardClient> client, SchedulerOptions options);
  // Stop(), if it has not run yet.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts the batching thread. Requests submitted before are queued and batched together.
  void Start();
  // Stops the batching thread after its current RPC; every request still queued or running gets
  // an ErrorEvent now (while whoever consumes their streams is still alive), and later Submits
  // are failed at once. Idempotent.
  void Stop();

  // Queues a validated request; its events arrive on the returned stream. Closing the stream
  // cancels the request. After Stop() the stream holds an ErrorEvent at once. Thread-safe.
  std::shared_ptr<ResponseStream> Submit(ValidRequest request);

  // §3.5: the shards' Health RPC when the last Prefill/Decode succeeded, otherwise a liveness
  // Prefill (batch and request id kLivenessId) whose outcome becomes the new health flag.
  // Thread-safe; concurrent calls run one at a time.
  absl::Status Health();
  // The generation-health flag: false at start and after a failed Prefill/Decode.
  bool generation_healthy() const { return generation_healthy_.load(); }

 private:
  using Entries = std::map<uint64_t, QueueEntry>;

  void Run();
  // Moves submitted requests into the queue. Scheduler thread only.
  void DrainInbox();
  bool stopping() const;

  // One RPC each, with the bookkeeping of §3.3 steps 3-4; they return the batch still running.
  std::optional<CachedBatch> Prefill(const ShardBatch& batch, Entries& entries);
  std::optional<CachedBatch> Decode(const std::vector<CachedBatch>& batches, Entries& entries);
  std::optional<CachedBatch> Filter(std::optional<CachedBatch> batch, Entries& entries);
  // After a successful step: its events, then Filter, timed as tgi_batch_filter_duration.
  std::optional<CachedBatch> SendAndFilter(std::string_view method, StepResult result,
                                           Entries& entries);

  void SendGenerations(const std::vector<ShardGeneration>& generations, Entries& entries);
  // Sends one step's events; true when the request is done (finished or its client gone).
  bool Send(const ShardGeneration& generation, const QueueEntry& entry);
  void SendErrors(const absl::Status& status, Entries& entries);
  void FailAll(const std::string& message, Entries& entries);

  std::shared_ptr<ShardClient> client_;
  SchedulerOptions options_;
  std::shared_ptr<SchedulerObserver> observer_;
  std::atomic<bool> generation_healthy_{false};
  std::mutex health_mutex_;

  // Submitted requests waiting for the scheduler thread.
  mutable std::mutex inbox_mutex_;
  std::condition_variable inbox_ready_;
  std::vector<QueueEntry> inbox_;
  bool stop_ = false;

  // Scheduler thread only.
  Queue queue_;
  std::thread thread_;
};

}  // namespace tgi::router
