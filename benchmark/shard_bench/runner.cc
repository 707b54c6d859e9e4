#include "benchmark/shard_bench/runner.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace tgi::benchmark {

namespace {

namespace pb = generate::v2;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kLoremIpsum =
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco "
    "laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in "
    "voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat "
    "cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.";

// Milliseconds at microsecond resolution, as TGI's `duration.as_micros() as f64 / 1000.0`.
double Milliseconds(std::chrono::nanoseconds duration) {
  return static_cast<double>(duration.count() / 1000) / 1000.0;
}

double Seconds(std::chrono::nanoseconds duration) {
  return std::chrono::duration<double>(duration).count();
}

pb::NextTokenChooserParameters ChooserParameters(const SamplingOptions& sampling) {
  pb::NextTokenChooserParameters parameters;
  parameters.set_temperature(sampling.temperature.value_or(1.0f));
  parameters.set_top_k(sampling.top_k.value_or(0));
  parameters.set_top_p(sampling.top_p.value_or(1.0f));
  parameters.set_typical_p(sampling.typical_p.value_or(1.0f));
  parameters.set_do_sample(sampling.do_sample);
  parameters.set_seed(0);
  parameters.set_repetition_penalty(sampling.repetition_penalty.value_or(1.0f));
  parameters.set_frequency_penalty(sampling.frequency_penalty.value_or(0.0f));
  parameters.set_watermark(sampling.watermark);
  parameters.set_grammar_type(pb::GRAMMAR_TYPE_NONE);
  return parameters;
}

// b identical requests with ids 0..b-1, as TGI's prefill().
pb::Batch MakeBatch(const ShardBenchOptions& options, const std::string& sequence,
                    uint32_t batch_size) {
  pb::Batch batch;
  batch.set_id(0);
  batch.set_size(batch_size);
  batch.set_max_tokens(batch_size * (options.sequence_length + options.decode_length));
  const pb::NextTokenChooserParameters parameters = ChooserParameters(options.sampling);
  for (uint32_t id = 0; id < batch_size; ++id) {
    pb::Request* request = batch.add_requests();
    request->set_id(id);
    request->set_inputs(sequence);
    request->set_truncate(options.sequence_length);
    request->set_prefill_logprobs(false);
    request->set_top_n_tokens(options.sampling.top_n_tokens.value_or(0));
    *request->mutable_parameters() = parameters;
    pb::StoppingCriteriaParameters* stopping = request->mutable_stopping_parameters();
    stopping->set_max_new_tokens(options.decode_length);
    stopping->set_ignore_eos_token(true);
  }
  return batch;
}

struct Cycle {
  std::chrono::nanoseconds prefill{0};
  std::chrono::nanoseconds decode{0};
  uint32_t steps = 0;
};

// One Prefill, then Decode until the shard returns no batch.
absl::StatusOr<Cycle> RunCycle(ShardClient& client, const pb::Batch& batch) {
  Cycle cycle;
  const Clock::time_point prefill_start = Clock::now();
  absl::StatusOr<pb::PrefillResponse> prefill = client.Prefill(batch);
  cycle.prefill = Clock::now() - prefill_start;
  if (!prefill.ok()) return prefill.status();
  if (!prefill->has_batch()) {
    return absl::InternalError("the shard finished every request in Prefill; nothing to decode");
  }
  std::optional<pb::CachedBatch> next = prefill->batch();
  const Clock::time_point decode_start = Clock::now();
  while (next) {
    absl::StatusOr<pb::DecodeResponse> decode = client.Decode({*next});
    if (!decode.ok()) return decode.status();
    next = decode->has_batch() ? std::optional<pb::CachedBatch>(decode->batch()) : std::nullopt;
    ++cycle.steps;
  }
  cycle.decode = Clock::now() - decode_start;
  return cycle;
}

void Record(const Cycle& cycle, uint32_t batch_size, BatchSamples& samples) {
  const double b = static_cast<double>(batch_size);
  samples.prefill_latency_ms.push_back(Milliseconds(cycle.prefill));
  samples.prefill_throughput.push_back(b / Seconds(cycle.prefill));
  samples.decode_latency_ms.push_back(Milliseconds(cycle.decode));
  samples.decode_token_latency_ms.push_back(Milliseconds(cycle.decode / cycle.steps));
  samples.decode_throughput.push_back(b * cycle.steps / Seconds(cycle.decode));
  samples.decode_steps.push_back(cycle.steps);
}

}  // namespace

absl::StatusOr<std::string> CreateSequence(const common::Tokenizer& tokenizer,
                                           uint32_t sequence_length) {
  absl::StatusOr<std::vector<int32_t>> lorem = tokenizer.Encode(kLoremIpsum, true);
  if (!lorem.ok()) return lorem.status();
  if (lorem->empty()) return absl::InvalidArgumentError("the tokenizer encodes Lorem ipsum to nothing");
  const size_t repeats = (sequence_length + lorem->size() - 1) / lorem->size();
  std::string text;
  for (size_t i = 0; i < repeats; ++i) text += kLoremIpsum;
  absl::StatusOr<std::vector<int32_t>> ids = tokenizer.Encode(text, true);
  if (!ids.ok()) return ids.status();
  if (ids->size() > sequence_length) ids->erase(ids->begin(), ids->end() - sequence_length);
  return tokenizer.Decode(*ids, /*skip_special_tokens=*/false);
}

absl::StatusOr<std::vector<BatchSamples>> RunShardBenchmark(ShardClient& client,
                                                            const ShardBenchOptions& options,
                                                            const std::string& sequence,
                                                            RunObserver& observer) {
  if (options.decode_length < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--decode-length must be at least 2 (got ", options.decode_length,
        "): a request of one token finishes in Prefill and leaves nothing to decode"));
  }
  std::vector<BatchSamples> results;
  for (size_t index = 0; index < options.batch_sizes.size(); ++index) {
    const uint32_t batch_size = options.batch_sizes[index];
    const pb::Batch batch = MakeBatch(options, sequence, batch_size);
    for (uint32_t cycle = 0; cycle < options.warmups; ++cycle) {
      if (absl::StatusOr<Cycle> run = RunCycle(client, batch); !run.ok()) return run.status();
      observer.OnWarmupDone(index, cycle);
    }
    BatchSamples samples;
    samples.batch_size = batch_size;
    for (uint32_t cycle = 0; cycle < options.runs; ++cycle) {
      absl::StatusOr<Cycle> run = RunCycle(client, batch);
      if (!run.ok()) return run.status();
      Record(*run, batch_size, samples);
      observer.OnRunDone(index, cycle, samples);
    }
    observer.OnBatchDone(index, samples);
    results.push_back(std::move(samples));
  }
  return results;
}

}  // namespace tgi::benchmark
