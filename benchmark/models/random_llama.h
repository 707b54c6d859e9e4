// Random-weight Llama checkpoints in Hugging Face layout for benchmarking: named shapes
// (bench-110m, tinyllama-1b, and a tiny one for tests), config.json, generation_config.json,
// model.safetensors and the Llama-2 tokenizer files. Weights are a pure function of (seed, shape,
// dtype): normal with std 0.02, norms 1, so activations stay sane and greedy decoding varies.
// Writes files only; it never loads a model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmark/models/safetensors_writer.h"

namespace tgi::benchmark {

struct LlamaShape {
  std::string name;
  int64_t hidden = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t intermediate = 0;
  int64_t vocab = 32000;
  int64_t max_positions = 2048;
  bool tied_embeddings = false;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;

  int64_t head_dim() const { return hidden / heads; }
};

// bench-110m, tinyllama-1b and tiny (hidden 64, 2 layers: for tests).
const std::vector<LlamaShape>& NamedShapes();
absl::StatusOr<LlamaShape> FindShape(const std::string& name);

struct RandomLlamaOptions {
  LlamaShape shape;
  Dtype dtype = Dtype::kFloat32;
  uint64_t seed = 0;
  double stddev = 0.02;
  std::filesystem::path tokenizer_dir;  // the Llama-2 tokenizer files to copy
};

// The tensors in Hugging Face order (embed_tokens, each layer, norm, lm_head when untied).
std::vector<TensorSpec> LlamaTensors(const LlamaShape& shape, Dtype dtype);
std::string LlamaConfigJson(const LlamaShape& shape, Dtype dtype);

// Element `element` of tensor `tensor_index` before scaling: a standard normal (Box-Muller on a
// counter-based generator), the same on every machine.
float StandardNormal(uint64_t seed, uint64_t tensor_index, uint64_t element);

// Writes the model into `dir` (created; it must not exist yet): first into a sibling
// "<dir>.partial-<pid>" folder, renamed at the end, so an interrupted run leaves no half model.
absl::Status WriteRandomLlama(const RandomLlamaOptions& options, const std::filesystem::path& dir);

// "<shape>-<dtype>-seed<seed>", the folder name EnsureRandomLlama uses.
std::string RandomLlamaDirName(const RandomLlamaOptions& options);

// cache_dir / RandomLlamaDirName(options), written first when it is missing.
absl::StatusOr<std::filesystem::path> EnsureRandomLlama(const RandomLlamaOptions& options,
                                                        const std::filesystem::path& cache_dir);

}  // namespace tgi::benchmark
