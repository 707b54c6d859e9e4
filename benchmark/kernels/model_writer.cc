#include "benchmark/kernels/model_writer.h"

#include <ATen/ATen.h>

#include <fstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tgi::bench {
namespace {

struct Entry {
  std::string name;
  std::vector<int64_t> shape;
  bool ones = false;  // norms
};

std::vector<Entry> Entries(const ModelShape& s) {
  const int64_t head_dim = s.hidden / s.heads;
  std::vector<Entry> entries = {{"model.embed_tokens.weight", {s.vocab, s.hidden}},
                                {"model.norm.weight", {s.hidden}, true}};
  if (!s.tied) entries.push_back({"lm_head.weight", {s.vocab, s.hidden}});
  for (int64_t i = 0; i < s.layers; ++i) {
    const std::string p = absl::StrCat("model.layers.", i, ".");
    entries.push_back({p + "input_layernorm.weight", {s.hidden}, true});
    entries.push_back({p + "post_attention_layernorm.weight", {s.hidden}, true});
    entries.push_back({p + "self_attn.q_proj.weight", {s.heads * head_dim, s.hidden}});
    entries.push_back({p + "self_attn.k_proj.weight", {s.kv_heads * head_dim, s.hidden}});
    entries.push_back({p + "self_attn.v_proj.weight", {s.kv_heads * head_dim, s.hidden}});
    entries.push_back({p + "self_attn.o_proj.weight", {s.hidden, s.heads * head_dim}});
    entries.push_back({p + "mlp.gate_proj.weight", {s.intermediate, s.hidden}});
    entries.push_back({p + "mlp.up_proj.weight", {s.intermediate, s.hidden}});
    entries.push_back({p + "mlp.down_proj.weight", {s.hidden, s.intermediate}});
  }
  return entries;
}

std::string ConfigJson(const ModelShape& s) {
  return absl::StrCat(R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", )",
                      R"("hidden_size": )", s.hidden, R"(, "intermediate_size": )", s.intermediate,
                      R"(, "num_attention_heads": )", s.heads, R"(, "num_hidden_layers": )",
                      s.layers, R"(, "num_key_value_heads": )", s.kv_heads, R"(, "vocab_size": )",
                      s.vocab, R"(, "max_position_embeddings": 2048, )",
                      R"("rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": )",
                      s.tied ? "true" : "false",
                      R"(, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"})");
}

}  // namespace

absl::StatusOr<ModelShape> ShapeNamed(const std::string& name) {
  if (name == "bench-110m") return ModelShape{name, 768, 12, 12, 12, 2048, 32000, true};
  if (name == "tinyllama-1b") return ModelShape{name, 2048, 22, 32, 4, 5632, 32000, false};
  return absl::InvalidArgumentError(
      absl::StrCat("unknown model shape '", name, "' (bench-110m, tinyllama-1b)"));
}

absl::StatusOr<std::filesystem::path> WriteRandomModel(const ModelShape& shape,
                                                       const std::string& dtype_name,
                                                       const std::filesystem::path& root) {
  const bool bf16 = dtype_name == "bfloat16";
  if (!bf16 && dtype_name != "float32") {
    return absl::InvalidArgumentError("checkpoint dtype must be float32 or bfloat16");
  }
  const std::filesystem::path dir = root / absl::StrCat(shape.name, "-", dtype_name);
  const std::filesystem::path weights = dir / "model.safetensors";
  if (std::filesystem::exists(weights) && std::filesystem::exists(dir / "config.json")) return dir;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << ConfigJson(shape);

  const std::vector<Entry> entries = Entries(shape);
  const int64_t element = bf16 ? 2 : 4;
  std::vector<std::string> header_entries;
  int64_t offset = 0;
  for (const Entry& e : entries) {
    int64_t numel = 1;
    for (int64_t d : e.shape) numel *= d;
    header_entries.push_back(absl::StrCat("\"", e.name, "\": {\"dtype\": \"", bf16 ? "BF16" : "F32",
                                          "\", \"shape\": [", absl::StrJoin(e.shape, ", "),
                                          "], \"data_offsets\": [", offset, ", ",
                                          offset + numel * element, "]}"));
    offset += numel * element;
  }
  std::string header = absl::StrCat("{", absl::StrJoin(header_entries, ", "), "}");
  header.append((8 - header.size() % 8) % 8, ' ');
  const std::filesystem::path partial = dir / "model.safetensors.partial";
  std::ofstream out(partial, std::ios::binary);
  const uint64_t header_size = header.size();
  out.write(reinterpret_cast<const char*>(&header_size), sizeof(header_size));
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  at::manual_seed(0);
  for (const Entry& e : entries) {
    at::Tensor t = e.ones ? at::ones(e.shape) : at::randn(e.shape).mul_(0.02);
    if (bf16) t = t.to(at::kBFloat16);
    t = t.contiguous();
    out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  }
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", partial.string()));
  std::filesystem::rename(partial, weights);
  return dir;
}

}  // namespace tgi::bench
