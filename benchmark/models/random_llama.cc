#include "benchmark/models/random_llama.h"

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <numbers>
#include <thread>

#include "absl/strings/str_cat.h"
#include "boost/json.hpp"
#include "spdlog/spdlog.h"

namespace tgi::benchmark {

namespace {

namespace fs = std::filesystem;

constexpr const char* kTokenizerFiles[] = {"tokenizer.json", "tokenizer.model",
                                           "tokenizer_config.json", "special_tokens_map.json"};

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

bool IsNorm(const std::string& name) { return name.find("norm.weight") != std::string::npos; }

// Fills `out` (elements first.. of one tensor) on every CPU.
void FillRandom(uint64_t seed, size_t tensor_index, double stddev, int64_t first,
                std::span<float> out) {
  const size_t threads = std::max(1u, std::thread::hardware_concurrency());
  const size_t per_thread = (out.size() + threads - 1) / threads;
  std::vector<std::thread> workers;
  for (size_t t = 0; t * per_thread < out.size(); ++t) {
    workers.emplace_back([&, t] {
      const size_t end = std::min(out.size(), (t + 1) * per_thread);
      for (size_t i = t * per_thread; i < end; ++i) {
        out[i] = static_cast<float>(
            stddev * StandardNormal(seed, tensor_index, static_cast<uint64_t>(first) + i));
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
}

absl::Status WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

absl::Status WriteFiles(const RandomLlamaOptions& options, const fs::path& dir) {
  const std::vector<TensorSpec> tensors = LlamaTensors(options.shape, options.dtype);
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"},
      {"tgi_cpp_random_llama", absl::StrCat(options.shape.name, " seed ", options.seed)}};
  absl::Status written = WriteSafetensors(
      dir / "model.safetensors", tensors, metadata,
      [&](size_t index, int64_t first, std::span<float> out) {
        if (IsNorm(tensors[index].name)) {
          std::fill(out.begin(), out.end(), 1.0f);
        } else {
          FillRandom(options.seed, index, options.stddev, first, out);
        }
      });
  if (!written.ok()) return written;
  if (absl::Status s = WriteText(dir / "config.json", LlamaConfigJson(options.shape, options.dtype));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteText(dir / "generation_config.json",
                                 R"({"bos_token_id": 1, "eos_token_id": 2})"
                                 "\n");
      !s.ok()) {
    return s;
  }
  for (const char* name : kTokenizerFiles) {
    std::error_code error;
    fs::copy_file(options.tokenizer_dir / name, dir / name, error);
    if (error) {
      return absl::NotFoundError(absl::StrCat("cannot copy ", (options.tokenizer_dir / name).string(),
                                              ": ", error.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<LlamaShape>& NamedShapes() {
  static const std::vector<LlamaShape> shapes = {
      {.name = "bench-110m", .hidden = 768, .layers = 12, .heads = 12, .kv_heads = 12,
       .intermediate = 2048, .vocab = 32000, .max_positions = 2048, .tied_embeddings = true},
      {.name = "tinyllama-1b", .hidden = 2048, .layers = 22, .heads = 32, .kv_heads = 4,
       .intermediate = 5632, .vocab = 32000, .max_positions = 2048, .tied_embeddings = false},
      {.name = "tiny", .hidden = 64, .layers = 2, .heads = 4, .kv_heads = 2, .intermediate = 128,
       .vocab = 32000, .max_positions = 1024, .tied_embeddings = true},
  };
  return shapes;
}

absl::StatusOr<LlamaShape> FindShape(const std::string& name) {
  std::string known;
  for (const LlamaShape& shape : NamedShapes()) {
    if (shape.name == name) return shape;
    absl::StrAppend(&known, known.empty() ? "" : ", ", shape.name);
  }
  return absl::NotFoundError(absl::StrCat("no model shape named `", name, "` (", known, ")"));
}

std::vector<TensorSpec> LlamaTensors(const LlamaShape& s, Dtype dtype) {
  const int64_t q_rows = s.heads * s.head_dim();
  const int64_t kv_rows = s.kv_heads * s.head_dim();
  std::vector<TensorSpec> tensors;
  const auto add = [&](std::string name, std::vector<int64_t> shape) {
    tensors.push_back(TensorSpec{std::move(name), std::move(shape), dtype});
  };
  add("model.embed_tokens.weight", {s.vocab, s.hidden});
  for (int64_t layer = 0; layer < s.layers; ++layer) {
    const std::string p = absl::StrCat("model.layers.", layer, ".");
    add(p + "input_layernorm.weight", {s.hidden});
    add(p + "self_attn.q_proj.weight", {q_rows, s.hidden});
    add(p + "self_attn.k_proj.weight", {kv_rows, s.hidden});
    add(p + "self_attn.v_proj.weight", {kv_rows, s.hidden});
    add(p + "self_attn.o_proj.weight", {s.hidden, q_rows});
    add(p + "post_attention_layernorm.weight", {s.hidden});
    add(p + "mlp.gate_proj.weight", {s.intermediate, s.hidden});
    add(p + "mlp.up_proj.weight", {s.intermediate, s.hidden});
    add(p + "mlp.down_proj.weight", {s.hidden, s.intermediate});
  }
  add("model.norm.weight", {s.hidden});
  if (!s.tied_embeddings) add("lm_head.weight", {s.vocab, s.hidden});
  return tensors;
}

std::string LlamaConfigJson(const LlamaShape& s, Dtype dtype) {
  const boost::json::object config = {
      {"architectures", boost::json::array{"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"attention_bias", false},
      {"bos_token_id", 1},
      {"eos_token_id", 2},
      {"hidden_act", "silu"},
      {"hidden_size", s.hidden},
      {"initializer_range", 0.02},
      {"intermediate_size", s.intermediate},
      {"max_position_embeddings", s.max_positions},
      {"num_attention_heads", s.heads},
      {"num_hidden_layers", s.layers},
      {"num_key_value_heads", s.kv_heads},
      {"rms_norm_eps", s.rms_norm_eps},
      {"rope_scaling", nullptr},
      {"rope_theta", s.rope_theta},
      {"tie_word_embeddings", s.tied_embeddings},
      {"torch_dtype", TorchDtypeName(dtype)},
      {"vocab_size", s.vocab},
      {"_tgi_cpp_shape", s.name},
  };
  return boost::json::serialize(config) + "\n";
}

float StandardNormal(uint64_t seed, uint64_t tensor_index, uint64_t element) {
  const uint64_t stream = SplitMix64(seed ^ SplitMix64(tensor_index + 0x5851F42D4C957F2Dull));
  const uint64_t pair = element / 2;
  const uint64_t a = SplitMix64(stream + 2 * pair);
  const uint64_t b = SplitMix64(stream + 2 * pair + 1);
  // u1 in (0, 1], u2 in [0, 1): 53 random bits each.
  const double u1 = (static_cast<double>(a >> 11) + 1.0) * 0x1.0p-53;
  const double u2 = static_cast<double>(b >> 11) * 0x1.0p-53;
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  return static_cast<float>(element % 2 == 0 ? radius * std::cos(angle) : radius * std::sin(angle));
}

std::string RandomLlamaDirName(const RandomLlamaOptions& options) {
  return absl::StrCat(options.shape.name, "-", TorchDtypeName(options.dtype), "-seed",
                      options.seed);
}

absl::Status WriteRandomLlama(const RandomLlamaOptions& options, const fs::path& dir) {
  std::error_code error;
  if (fs::exists(dir, error)) {
    return absl::AlreadyExistsError(absl::StrCat(dir.string(), " already exists"));
  }
  const fs::path partial = fs::path(dir.string() + absl::StrCat(".partial-", getpid()));
  fs::remove_all(partial, error);
  if (!fs::create_directories(partial, error) || error) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", partial.string()));
  }
  if (absl::Status status = WriteFiles(options, partial); !status.ok()) {
    fs::remove_all(partial, error);
    return status;
  }
  fs::rename(partial, dir, error);
  if (error) {
    fs::remove_all(partial, error);
    return absl::AbortedError(absl::StrCat("cannot rename the model to ", dir.string()));
  }
  return absl::OkStatus();
}

absl::StatusOr<fs::path> EnsureRandomLlama(const RandomLlamaOptions& options,
                                           const fs::path& cache_dir) {
  const fs::path dir = cache_dir / RandomLlamaDirName(options);
  std::error_code error;
  if (fs::exists(dir / "model.safetensors", error)) return dir;
  fs::create_directories(cache_dir, error);
  spdlog::info("writing the random {} model ({}, seed {}) to {}", options.shape.name,
               TorchDtypeName(options.dtype), options.seed, dir.string());
  if (absl::Status status = WriteRandomLlama(options, dir); !status.ok()) return status;
  return dir;
}

}  // namespace tgi::benchmark
