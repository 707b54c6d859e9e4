#include "router/scheduler/warmup.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "spdlog/spdlog.h"

namespace tgi::router {
namespace {

uint32_t CeilDiv(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

NextTokenChooserParameters SamplingParameters() {
  NextTokenChooserParameters parameters;
  parameters.temperature = 0.9f;
  parameters.top_k = 10;
  parameters.top_p = 0.9f;
  parameters.typical_p = 0.9f;
  parameters.do_sample = true;
  parameters.repetition_penalty = 1.2f;
  parameters.frequency_penalty = 0.1f;
  return parameters;
}

// Builds the batches of a plan, numbering batches and requests from 1 as tgi-gaudi does.
class BatchFactory {
 public:
  explicit BatchFactory(const WarmupOptions& options) : options_(options), random_(0) {}

  // A batch of `shape`: prompts that land in the bucket of shape.seq_len, or (`exact`) prompts of
  // exactly shape.seq_len tokens.
  ShardBatch Make(WarmupShape shape, bool greedy, std::optional<uint32_t> max_new_tokens,
                  bool exact = false) {
    ShardBatch batch;
    batch.id = ++batch_counter_;
    batch.size = shape.batch_size;
    batch.max_tokens = options_.max_total_tokens;
    const uint32_t room = options_.max_total_tokens > options_.max_input_tokens
                              ? options_.max_total_tokens - options_.max_input_tokens
                              : 0;
    for (uint32_t i = 0; i < shape.batch_size; ++i) {
      ShardRequest request;
      request.id = ++request_counter_;
      request.inputs = exact ? ExactInput(shape.seq_len) : Input(shape.seq_len);
      request.truncate = exact ? shape.seq_len : options_.max_input_tokens;
      if (!greedy) request.parameters = SamplingParameters();
      request.stopping_parameters.max_new_tokens = std::min(max_new_tokens.value_or(10), room);
      request.stopping_parameters.ignore_eos_token = true;
      batch.requests.push_back(std::move(request));
    }
    return batch;
  }

 private:
  std::string Input(uint32_t seq_len) {
    const uint32_t bucket = options_.pad_sequence_to_multiple_of;
    if (!options_.skip_tokenizer) return WarmupInput(seq_len, bucket);
    // Random ids in [2, 8192), as many as land the prompt inside the bucket.
    const uint32_t remainder = seq_len % bucket;
    const uint32_t count = remainder == 0 ? seq_len - bucket / 2 : seq_len - remainder / 2;
    std::uniform_int_distribution<uint32_t> id(2, 8191);
    std::vector<uint32_t> ids(count);
    for (uint32_t& value : ids) value = id(random_);
    return absl::StrJoin(ids, ", ");
  }

  // At least `seq_len` tokens, truncated to max_input_tokens by the shard (TGI's "_test " x n).
  std::string ExactInput(uint32_t seq_len) {
    if (!options_.skip_tokenizer) {
      std::string out;
      out.reserve(seq_len * 6);
      for (uint32_t i = 0; i < seq_len; ++i) out += "_test ";
      return out;
    }
    std::uniform_int_distribution<uint32_t> id(2, 8191);
    std::vector<uint32_t> ids(seq_len);
    for (uint32_t& value : ids) value = id(random_);
    return absl::StrJoin(ids, ", ");
  }

  const WarmupOptions& options_;
  std::mt19937 random_;
  uint64_t batch_counter_ = 0;
  uint64_t request_counter_ = 0;
};

const char* PassName(WarmupPass pass) {
  switch (pass) {
    case WarmupPass::kPrefill:
      return "prefill";
    case WarmupPass::kDecode:
      return "decode";
    case WarmupPass::kGreedy:
      return "greedy";
    case WarmupPass::kMemory:
      return "memory";
  }
  return "";
}

std::string DescribeShapes(const std::vector<WarmupShape>& shapes) {
  return absl::StrJoin(shapes, " + ", [](std::string* out, const WarmupShape& shape) {
    absl::StrAppend(out, "(", shape.batch_size, ", ", shape.seq_len, ")");
  });
}

}  // namespace

std::string WarmupInput(uint32_t seq_len, uint32_t bucket) {
  const uint32_t bucket_id = CeilDiv(seq_len, bucket);
  const uint32_t repeats = std::max<uint32_t>(1, (bucket_id > 0 ? bucket_id - 1 : 0) * bucket / 2);
  std::string out;
  out.reserve(repeats * 6);
  for (uint32_t i = 0; i < repeats; ++i) out += "_test ";
  return out;
}

absl::StatusOr<WarmupPlan> PlanWarmup(const WarmupOptions& options) {
  const uint32_t db = options.batch_bucket_size;
  const uint32_t pb = options.prefill_batch_bucket_size;
  const uint32_t s = options.pad_sequence_to_multiple_of;
  if (db == 0 || pb == 0 || s == 0) {
    return absl::InvalidArgumentError("warmup buckets must be positive");
  }
  if (options.max_input_tokens == 0 || options.max_total_tokens == 0) {
    return absl::InvalidArgumentError("warmup needs max_input_tokens and max_total_tokens");
  }
  if (options.max_batch_prefill_tokens < options.max_input_tokens) {
    return absl::InvalidArgumentError(
        absl::StrCat("warmup needs max_batch_prefill_tokens (", options.max_batch_prefill_tokens,
                     ") >= max_input_tokens (", options.max_input_tokens, ")"));
  }

  WarmupPlan plan;
  BatchFactory factory(options);
  // The batch that needs the most memory: TGI's warmup, and all a CPU needs.
  auto add_memory_step = [&] {
    const uint32_t step_tokens =
        options.max_prefill_chunk_tokens > 0
            ? std::min(options.max_batch_prefill_tokens, options.max_prefill_chunk_tokens)
            : options.max_batch_prefill_tokens;
    const uint32_t length = std::min(options.max_input_tokens, step_tokens);
    const uint32_t rows =
        std::clamp(step_tokens / length, 1u, options.max_batch_size.value_or(UINT32_MAX));
    WarmupStep step{WarmupPass::kMemory, {{rows, length}}, {}};
    step.batches.push_back(factory.Make(step.shapes.front(), /*greedy=*/true, 2, /*exact=*/true));
    plan.steps.push_back(std::move(step));
  };
  if (!options.every_shape) {
    add_memory_step();
    return plan;
  }
  const uint32_t max_decode = options.max_batch_size.value_or(db);
  const uint32_t max_prefill =
      std::min(options.max_batch_prefill_tokens / options.max_input_tokens, max_decode);
  for (uint32_t bs = db; bs <= max_decode; bs += db) plan.decode_batch_sizes.push_back(bs);
  for (uint32_t bs = pb; bs <= max_prefill; bs += pb) plan.prefill_batch_sizes.push_back(bs);
  for (uint32_t len = s; len <= options.max_input_tokens; len += s) plan.seq_lengths.push_back(len);
  if (plan.seq_lengths.empty() || plan.seq_lengths.back() < options.max_input_tokens) {
    plan.seq_lengths.push_back(options.max_input_tokens);
  }

  // 1. Every prefill shape with sampling; a second (1, len) batch exercises concatenation.
  for (uint32_t bs : plan.prefill_batch_sizes) {
    for (uint32_t len : plan.seq_lengths) {
      WarmupStep step{WarmupPass::kPrefill, {{bs, len}}, {}};
      if (bs < max_decode) step.shapes.push_back({1, len});
      for (const WarmupShape& shape : step.shapes) {
        step.batches.push_back(factory.Make(shape, /*greedy=*/false, std::nullopt));
      }
      plan.steps.push_back(std::move(step));
    }
  }

  // 2. One call whose batches grow the live count through every decode bucket.
  if (plan.decode_batch_sizes.size() > 1 && max_prefill > 0) {
    const uint32_t steps_per_bucket = db <= max_prefill ? db : CeilDiv(db, max_prefill);
    const uint32_t max_new_tokens =
        2 * static_cast<uint32_t>(plan.decode_batch_sizes.size()) * steps_per_bucket;
    auto bucket_of = [&](uint32_t live) {
      for (uint32_t bs : plan.decode_batch_sizes) {
        if (bs >= live) return bs;
      }
      return plan.decode_batch_sizes.back();
    };
    WarmupStep step{WarmupPass::kDecode, {}, {}};
    uint32_t sent = std::min(max_prefill, db);
    step.shapes.push_back({sent, s});
    uint32_t current = bucket_of(sent);
    while (current < max_decode) {
      const uint32_t count = std::min(current + db - sent, max_prefill);
      step.shapes.push_back({count, s});
      sent += count;
      current = bucket_of(sent);
    }
    for (const WarmupShape& shape : step.shapes) {
      step.batches.push_back(factory.Make(shape, /*greedy=*/false, max_new_tokens));
    }
    plan.steps.push_back(std::move(step));
  }

  // 3. Greedy search, one call per prefill batch bucket at the first sequence bucket.
  for (uint32_t bs : plan.prefill_batch_sizes) {
    WarmupStep step{WarmupPass::kGreedy, {{bs, s}}, {}};
    step.batches.push_back(factory.Make(step.shapes.front(), /*greedy=*/true, std::nullopt));
    plan.steps.push_back(std::move(step));
  }
  if (plan.prefill_batch_sizes.empty()) add_memory_step();
  return plan;
}

absl::StatusOr<std::optional<uint32_t>> RunWarmup(ShardClient& client, const WarmupPlan& plan,
                                                  const WarmupOptions& options,
                                                  const std::function<bool()>& stopped) {
  using Ms = std::chrono::duration<double, std::milli>;
  const auto start = std::chrono::steady_clock::now();
  std::optional<uint32_t> supported;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    if (stopped && stopped()) {
      return absl::CancelledError(absl::StrCat("warmup stopped after ", i, " of ",
                                               plan.steps.size(), " calls"));
    }
    const WarmupStep& step = plan.steps[i];
    const auto step_start = std::chrono::steady_clock::now();
    absl::StatusOr<std::optional<uint32_t>> result =
        client.Warmup(step.batches, options.max_input_tokens, options.max_batch_prefill_tokens,
                      options.max_total_tokens);
    if (!result.ok()) return result.status();
    if (*result) supported = std::min(supported.value_or(UINT32_MAX), **result);
    spdlog::info("Warmup {}/{}: {} {} in {:.1f} ms", i + 1, plan.steps.size(), PassName(step.pass),
                 DescribeShapes(step.shapes),
                 Ms(std::chrono::steady_clock::now() - step_start).count());
  }
  spdlog::info("Warmup done: {} calls in {:.1f} ms", plan.steps.size(),
               Ms(std::chrono::steady_clock::now() - start).count());
  return supported;
}

}  // namespace tgi::router
