// TGI's benchmark loop against the shard (benchmark/src/generation.rs): the input text, then per
// batch size `warmups` untimed and `runs` timed cycles of one Prefill and Decode until no batch
// remains, recording what TGI records. Owns the timing; knows nothing of tables or terminals
// (an observer hears about progress).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmark/shard_bench/options.h"
#include "benchmark/shard_bench/shard_client.h"
#include "common/tokenizer/tokenizer.h"

namespace tgi::benchmark {

// The samples of one batch size, one entry per timed run. Latencies are milliseconds at
// microsecond resolution (as TGI's Duration::as_micros() / 1000); throughputs are TGI's.
struct BatchSamples {
  uint32_t batch_size = 0;
  std::vector<double> prefill_latency_ms;
  std::vector<double> prefill_throughput;  // batch_size / prefill latency (requests/s)
  std::vector<double> decode_latency_ms;   // the whole Decode loop
  std::vector<double> decode_token_latency_ms;  // decode latency / steps
  std::vector<double> decode_throughput;   // batch_size × steps / decode latency (tokens/s)
  std::vector<uint32_t> decode_steps;      // Decode calls of each run
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // `batch_index` indexes options.batch_sizes; `cycle` counts from 0 within warmups or runs.
  virtual void OnWarmupDone(size_t batch_index, uint32_t cycle) {}
  virtual void OnRunDone(size_t batch_index, uint32_t cycle, const BatchSamples& so_far) {}
  virtual void OnBatchDone(size_t batch_index, const BatchSamples& samples) {}
};

// TGI's create_sequence: "Lorem ipsum…" repeated ceil(sequence_length / its token count) times,
// encoded with special tokens, the last `sequence_length` tokens kept, decoded back to text
// (special tokens kept).
absl::StatusOr<std::string> CreateSequence(const common::Tokenizer& tokenizer,
                                           uint32_t sequence_length);

// Runs every batch size in order. Needs decode_length >= 2 (a single token finishes in Prefill).
// Stops at the first shard error.
absl::StatusOr<std::vector<BatchSamples>> RunShardBenchmark(ShardClient& client,
                                                            const ShardBenchOptions& options,
                                                            const std::string& sequence,
                                                            RunObserver& observer);

}  // namespace tgi::benchmark
