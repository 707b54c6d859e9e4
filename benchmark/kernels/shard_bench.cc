// tgi-kernel-bench: the shard's CPU speed against this machine's rooflines, in one process.
// Writes (or reuses) a random-weight checkpoint of a named shape (benchmark/models), loads it as
// the shard does, and drives the real Engine (Prefill / Decode, greedy, no tokenizer, no gRPC):
// TTFT of a short prompt, prefill rate of a long one, and decode tokens/s at several batch sizes,
// each printed with its ratio to benchmark/roofline's bound for that step.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_join.h"
#include "benchmark/kernels/kernel_probes.h"
#include "benchmark/models/random_llama.h"
#include "benchmark/roofline/machine_probe.h"
#include "benchmark/roofline/roofline.h"
#include "benchmark/server/local_server.h"
#include "shard/batch/engine.h"
#include "shard/model/llama.h"
#include "shard/model/threads.h"

namespace tgi::bench {
namespace {

namespace roofline = benchmark::roofline;
using shard::Engine;
using shard::RequestSpec;

struct Flags {
  std::string model = "bench-110m";
  std::string dtype = "float32";
  std::string kv_cache_dtype = "auto";
  std::vector<int64_t> rows = {1, 8, 32};
  int64_t prompt = 64;
  int64_t steps = 64;
  int64_t prefill = 512;
  int threads = 0;
  std::string dir;  // empty: the benchmark's model cache
  bool skip_roofline = false;
  bool linear_shapes = false;
  double bandwidth = 0;  // GB/s, measured when 0
  double sgemm = 0;      // GFLOP/s, measured when 0
};

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

RequestSpec Request(uint64_t id, int64_t prompt, int64_t max_new, int64_t vocab) {
  std::mt19937 random(static_cast<uint32_t>(id));
  std::vector<int64_t> ids = {1};
  while (static_cast<int64_t>(ids.size()) < prompt) ids.push_back(3 + random() % (vocab - 3));
  RequestSpec spec;
  spec.id = id;
  spec.inputs = absl::StrJoin(ids, ",");
  spec.truncate = static_cast<uint32_t>(prompt);
  spec.stopping.max_new_tokens = static_cast<uint32_t>(max_new);
  spec.stopping.ignore_eos_token = true;
  return spec;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The machine's profile: measured (before the shard's pool starts), or given on the command line.
roofline::MachineProfile Machine(const Flags& flags) {
  roofline::MachineProfile machine;
  if (!flags.skip_roofline) {
    absl::StatusOr<roofline::MachineProfile> probed = roofline::ProbeMachine({}, {});
    if (probed.ok()) machine = *probed;
    if (!probed.ok()) std::fprintf(stderr, "no probe: %s\n", probed.status().ToString().c_str());
  }
  if (flags.bandwidth > 0) machine.bandwidth.bytes_per_second = flags.bandwidth * 1e9;
  if (flags.sgemm > 0) machine.sgemm.flops_per_second = flags.sgemm * 1e9;
  return machine;
}

int Run(const Flags& flags) {
  const roofline::MachineProfile machine = Machine(flags);
  std::printf("roofline: %s\n", roofline::DescribeMachine(machine).c_str());
  const shard::ThreadConfig threads = shard::ConfigureThreads(flags.threads);
  c10::InferenceMode inference;
  std::printf("threads: %d (%s), %s\n", threads.threads, threads.pinned ? "pinned" : "floating",
              threads.blas);
  if (flags.linear_shapes) {
    // The model's matmuls at each decode batch size: [rows, K] x [N, K]^T.
    absl::StatusOr<roofline::LlamaDims> shape_dims = roofline::ParseLlamaDims(
        benchmark::LlamaConfigJson(*benchmark::FindShape(flags.model), benchmark::Dtype::kFloat32));
    if (shape_dims.ok()) {
      const roofline::LlamaDims& d = *shape_dims;
      const struct { const char* name; int64_t n, k; } shapes[] = {
          {"qkv", d.q_rows() + 2 * d.kv_rows(), d.hidden},
          {"o", d.hidden, d.q_rows()},
          {"gate_up", 2 * d.intermediate, d.hidden},
          {"down", d.hidden, d.intermediate},
          {"lm_head", d.vocab, d.hidden}};
      for (int64_t rows : flags.rows) {
        for (const auto& shape : shapes) {
          const bool bf16 = flags.dtype == "bfloat16";
          const double flops = MeasureColdPackedGemm(rows, shape.n, shape.k, bf16, 3);
          const double bytes = static_cast<double>(shape.n * shape.k) * (bf16 ? 2 : 4);
          std::printf("linear %-8s %3lld x %5lld x %5lld: %6.1f GFLOP/s, %5.1f GB/s of weights\n",
                      shape.name, static_cast<long long>(rows), static_cast<long long>(shape.n),
                      static_cast<long long>(shape.k), flops / 1e9,
                      flops / (2.0 * rows * shape.n * shape.k) * bytes / 1e9);
        }
      }
    }
  }
  if (!flags.skip_roofline) {
    std::printf("packed linear 512x2048x2048: float32 %.1f GFLOP/s, bfloat16 %.1f GFLOP/s\n",
                MeasurePackedGemm(512, 2048, 2048, false, 3) / 1e9,
                MeasurePackedGemm(512, 2048, 2048, true, 3) / 1e9);
    std::printf("libtorch bfloat16 matmul 1024^3: %.1f GFLOP/s\n",
                MeasureTorchBf16Gemm(1024, 3) / 1e9);
  }
  // The checkpoint is written in the run dtype (bfloat16 halves the file).
  const benchmark::ModelSource source{
      .model = flags.model, .dtype = flags.dtype, .seed = 0, .cache_dir = flags.dir,
      .tokenizer_source = ""};
  absl::StatusOr<std::filesystem::path> dir = benchmark::ResolveModel(source);
  if (!dir.ok()) return std::fprintf(stderr, "%s\n", dir.status().ToString().c_str()), 1;
  absl::StatusOr<roofline::LlamaDims> dims = roofline::LoadLlamaDims(*dir);
  if (!dims.ok()) return std::fprintf(stderr, "%s\n", dims.status().ToString().c_str()), 1;
  shard::LoadOptions load;
  load.dtype = *shard::ParseDtype(flags.dtype);
  load.kv_cache_dtype = *shard::ParseKvCacheDtype(flags.kv_cache_dtype);
  const auto load_start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<shard::LlamaModel>> model = shard::LlamaModel::Load(*dir, load);
  if (!model.ok()) return std::fprintf(stderr, "%s\n", model.status().ToString().c_str()), 1;
  const int weight_dtype_bytes = static_cast<int>(c10::elementSize((*model)->dtype()));
  const int64_t vocab = (*model)->config().vocab_size;
  std::printf("model: %s %s, KV %s, %.1f MB of weights per step, loaded in %.2f s\n",
              flags.model.c_str(), flags.dtype.c_str(), c10::toString((*model)->kv_cache_dtype()),
              static_cast<double>((*model)->weight_bytes()) / 1e6, Seconds(load_start));

  shard::EngineOptions options;
  options.skip_tokenizer = true;
  options.buckets.max_total_tokens = 4096;
  const int64_t max_rows = *std::max_element(flags.rows.begin(), flags.rows.end());
  options.kv_cache_blocks = max_rows * shard::BlocksFor(flags.prompt + flags.steps + 4) +
                            shard::BlocksFor(flags.prefill) + 8;
  Engine engine(std::move(*model), nullptr, options);
  uint64_t next_id = 1;

  // TTFT: one short prompt alone (prefill + first token).
  std::vector<double> ttft;
  for (int r = 0; r < 6; ++r) {
    const auto start = std::chrono::steady_clock::now();
    auto result = engine.Prefill(next_id, {Request(next_id, flags.prompt, 1, vocab)});
    ++next_id;
    if (!result.ok()) return std::fprintf(stderr, "%s\n", result.status().ToString().c_str()), 1;
    if (r > 0) ttft.push_back(Seconds(start));
  }
  std::printf("TTFT, %lld-token prompt: %.1f ms (median of 5)\n",
              static_cast<long long>(flags.prompt), Median(ttft) * 1e3);

  // Prefill of one long prompt.
  std::vector<double> prefill;
  for (int r = 0; r < 4; ++r) {
    const auto start = std::chrono::steady_clock::now();
    auto result = engine.Prefill(next_id, {Request(next_id, flags.prefill, 1, vocab)});
    ++next_id;
    if (!result.ok()) return std::fprintf(stderr, "%s\n", result.status().ToString().c_str()), 1;
    if (r > 0) prefill.push_back(Seconds(start));
  }
  const double prefill_s = Median(prefill);
  const roofline::Bound prefill_roof =
      roofline::PrefillRoofline(*dims, weight_dtype_bytes, 1, flags.prefill, machine);
  const double prefill_rate = static_cast<double>(flags.prefill) / prefill_s;
  std::printf("prefill, %lld tokens: %.1f ms, %.0f tokens/s, %.1f GFLOP/s, roofline %.0f (%s) -> "
              "%.0f%%\n",
              static_cast<long long>(flags.prefill), prefill_s * 1e3, prefill_rate,
              roofline::PrefillFlops(*dims, flags.prefill) / prefill_s / 1e9,
              prefill_roof.tokens_per_second, prefill_roof.limit,
              100.0 * prefill_rate / prefill_roof.tokens_per_second);

  for (int64_t rows : flags.rows) {
    std::vector<RequestSpec> requests;
    for (int64_t r = 0; r < rows; ++r)
      requests.push_back(Request(next_id + r, flags.prompt, flags.steps + 2, vocab));
    const uint64_t batch_id = next_id;
    next_id += rows;
    auto started = engine.Prefill(batch_id, std::move(requests));
    if (!started.ok()) return std::fprintf(stderr, "%s\n", started.status().ToString().c_str()), 1;
    const std::vector<uint64_t> ids = {batch_id};
    if (!engine.Decode(ids).ok()) return 1;  // first step outside the timing
    double forward_ns = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t s = 0; s < flags.steps; ++s) {
      auto step = engine.Decode(ids);
      if (!step.ok()) return std::fprintf(stderr, "%s\n", step.status().ToString().c_str()), 1;
      forward_ns += static_cast<double>(step->forward_ns);
    }
    const double seconds = Seconds(start);
    engine.ClearCache(std::nullopt);
    const double tokens_per_s = static_cast<double>(rows * flags.steps) / seconds;
    const int64_t context = flags.prompt + 1 + flags.steps / 2;
    const roofline::Bound roof =
        roofline::DecodeRoofline(*dims, weight_dtype_bytes, rows, context, machine);
    std::printf(
        "decode, %3lld rows: %8.1f tokens/s, %6.2f ms/step (forward %.2f), roofline %.0f "
        "(%s) -> %.0f%%\n",
        static_cast<long long>(rows), tokens_per_s, seconds / flags.steps * 1e3,
        forward_ns / flags.steps / 1e6, roof.tokens_per_second, roof.limit,
        100.0 * tokens_per_s / roof.tokens_per_second);
  }
  return 0;
}

}  // namespace
}  // namespace tgi::bench

int main(int argc, char** argv) {
  tgi::benchmark::roofline::ReexecIfOpenBlasMisdetects(argv);
  // As the shard's main: keep big buffers (logits, activations) in the heap between steps.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  tgi::bench::Flags flags;
  CLI::App app{"CPU speed of the shard's kernels and forward against this machine's rooflines"};
  app.add_option("--model", flags.model, "bench-110m or tinyllama-1b")->capture_default_str();
  app.add_option("--dtype", flags.dtype, "float32 or bfloat16")->capture_default_str();
  app.add_option("--kv-cache-dtype", flags.kv_cache_dtype, "auto, float32 or bfloat16");
  app.add_option("--rows", flags.rows, "decode batch sizes")->delimiter(',');
  app.add_option("--prompt", flags.prompt, "prompt tokens (TTFT and decode)")
      ->capture_default_str();
  app.add_option("--steps", flags.steps, "timed decode steps")->capture_default_str();
  app.add_option("--prefill", flags.prefill, "long prompt tokens")->capture_default_str();
  app.add_option("--threads", flags.threads, "threads (0: the affinity mask)");
  app.add_option("--dir", flags.dir, "where random checkpoints are kept (default: the benchmark's cache)");
  app.add_option("--bandwidth", flags.bandwidth, "GB/s to use instead of measuring");
  app.add_option("--sgemm", flags.sgemm, "GFLOP/s to use instead of measuring");
  app.add_flag("--linear-shapes", flags.linear_shapes,
               "time the packed linear at the model's matmul shapes for each --rows");
  app.add_flag("--skip-roofline", flags.skip_roofline, "no probes (needs --bandwidth/--sgemm)");
  CLI11_PARSE(app, argc, argv);
  return tgi::bench::Run(flags);
}
