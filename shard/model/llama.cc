#include "shard/model/llama.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <exception>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "shard/model/status_macros.h"
#include "shard/model/weights.h"

namespace tgi::shard {
namespace {

// Parameters a layer holds, for num_parameters().
int64_t Numel(std::initializer_list<const at::Tensor*> tensors) {
  int64_t total = 0;
  for (const at::Tensor* tensor : tensors) {
    if (tensor->defined()) total += tensor->numel();
  }
  return total;
}

}  // namespace

absl::StatusOr<at::ScalarType> ParseDtype(std::string_view std_name) {
  const absl::string_view name(std_name.data(), std_name.size());
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "float32" || lower == "float") return at::kFloat;
  if (lower == "bfloat16") return at::kBFloat16;
  if (lower == "float16" || lower == "half") return at::kHalf;
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported dtype '", name, "' (supported: float32, bfloat16, float16)"));
}

absl::StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Load(const std::filesystem::path& model_dir,
                                                             const LoadOptions& options) {
  TGI_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(model_dir));
  TGI_ASSIGN_OR_RETURN(SafetensorsCheckpoint checkpoint, SafetensorsCheckpoint::Open(model_dir));
  return Load(config, checkpoint, options);
}

absl::StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Load(
    const ModelConfig& config, const SafetensorsCheckpoint& checkpoint,
    const LoadOptions& options) {
  if (options.world_size != 1 || options.rank != 0) {
    return absl::UnimplementedError(absl::StrCat("tensor parallelism is not supported yet (rank ",
                                                 options.rank, ", world_size ", options.world_size,
                                                 "): run one shard"));
  }
  std::unique_ptr<LlamaModel> model(new LlamaModel());
  model->config_ = config;
  model->device_ = options.device;
  model->dtype_ = options.dtype;
  if (options.dtype != at::kFloat && options.dtype != at::kBFloat16 && options.dtype != at::kHalf) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported working dtype ", c10::toString(options.dtype)));
  }
  if (options.dtype == at::kHalf && options.device.is_cpu()) {
    spdlog::info("float16 requested: libtorch has no float16 matmul on CPU, running as bfloat16");
    model->dtype_ = at::kBFloat16;
  }
  const int world_size = options.world_size;
  if (config.num_key_value_heads % world_size != 0 || config.intermediate_size % world_size != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "num_key_value_heads and intermediate_size must be multiples of world_size ", world_size));
  }
  model->local_heads_ = config.num_attention_heads / world_size;
  model->local_kv_heads_ = config.num_key_value_heads / world_size;
  model->local_intermediate_ = config.intermediate_size / world_size;

  const int64_t max_positions =
      options.max_positions > 0 ? options.max_positions : config.max_position_embeddings;
  try {
    model->rotary_ = RotaryEmbedding(config.head_dim, config.rope_theta, config.rope_scaling,
                                     max_positions, model->dtype_, model->device_);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("cannot build rotary tables: ", e.what()));
  }
  TGI_RETURN_IF_ERROR(model->LoadWeights(checkpoint, options.rank, world_size));
  spdlog::info("llama: {} layers, hidden {}, {} heads ({} kv), vocab {}, {} parameters, {}",
               config.num_hidden_layers, config.hidden_size, config.num_attention_heads,
               config.num_key_value_heads, config.vocab_size, model->num_parameters_,
               c10::toString(model->dtype_));
  return model;
}

absl::Status LlamaModel::LoadWeights(const SafetensorsCheckpoint& checkpoint, int rank,
                                     int world_size) {
  const WeightLoader weights(checkpoint, dtype_, device_, rank, world_size);
  const int64_t hidden = config_.hidden_size;
  const int64_t head_dim = config_.head_dim;
  const int64_t q_rows = config_.num_attention_heads * head_dim;
  const int64_t kv_rows = config_.num_key_value_heads * head_dim;
  const int64_t intermediate = config_.intermediate_size;
  const int64_t vocab = config_.vocab_size;

  // Under tensor parallelism the embedding and lm_head become vocab shards (ColumnShard).
  TGI_ASSIGN_OR_RETURN(embed_, weights.Replicated("model.embed_tokens.weight", {vocab, hidden}));
  TGI_ASSIGN_OR_RETURN(final_norm_, weights.Replicated("model.norm.weight", {hidden}));
  if (config_.tie_word_embeddings) {
    lm_head_ = embed_;
  } else {
    TGI_ASSIGN_OR_RETURN(lm_head_, weights.Replicated("lm_head.weight", {vocab, hidden}));
  }
  num_parameters_ = Numel({&embed_, &final_norm_});
  if (!config_.tie_word_embeddings) num_parameters_ += lm_head_.numel();

  try {
    for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
      const std::string p = absl::StrCat("model.layers.", i, ".");
      Layer layer;
      TGI_ASSIGN_OR_RETURN(layer.input_norm,
                           weights.Replicated(p + "input_layernorm.weight", {hidden}));
      TGI_ASSIGN_OR_RETURN(layer.post_norm,
                           weights.Replicated(p + "post_attention_layernorm.weight", {hidden}));
      // Column-parallel (each rank its heads / features), fused into one matmul.
      TGI_ASSIGN_OR_RETURN(at::Tensor q,
                           weights.ColumnShard(p + "self_attn.q_proj.weight", {q_rows, hidden}));
      TGI_ASSIGN_OR_RETURN(at::Tensor k,
                           weights.ColumnShard(p + "self_attn.k_proj.weight", {kv_rows, hidden}));
      TGI_ASSIGN_OR_RETURN(at::Tensor v,
                           weights.ColumnShard(p + "self_attn.v_proj.weight", {kv_rows, hidden}));
      layer.qkv = at::cat({q, k, v}, 0);
      TGI_ASSIGN_OR_RETURN(at::Tensor gate,
                           weights.ColumnShard(p + "mlp.gate_proj.weight", {intermediate, hidden}));
      TGI_ASSIGN_OR_RETURN(at::Tensor up,
                           weights.ColumnShard(p + "mlp.up_proj.weight", {intermediate, hidden}));
      layer.gate_up = at::cat({gate, up}, 0);
      // Row-parallel: partial sums that an all-reduce completes; their biases are replicated.
      TGI_ASSIGN_OR_RETURN(layer.o,
                           weights.RowShard(p + "self_attn.o_proj.weight", {hidden, q_rows}));
      TGI_ASSIGN_OR_RETURN(layer.down,
                           weights.RowShard(p + "mlp.down_proj.weight", {hidden, intermediate}));
      if (config_.attention_bias) {
        TGI_ASSIGN_OR_RETURN(q, weights.ColumnShard(p + "self_attn.q_proj.bias", {q_rows}));
        TGI_ASSIGN_OR_RETURN(k, weights.ColumnShard(p + "self_attn.k_proj.bias", {kv_rows}));
        TGI_ASSIGN_OR_RETURN(v, weights.ColumnShard(p + "self_attn.v_proj.bias", {kv_rows}));
        layer.qkv_bias = at::cat({q, k, v}, 0);
        TGI_ASSIGN_OR_RETURN(layer.o_bias,
                             weights.Replicated(p + "self_attn.o_proj.bias", {hidden}));
      }
      if (config_.mlp_bias) {
        TGI_ASSIGN_OR_RETURN(gate, weights.ColumnShard(p + "mlp.gate_proj.bias", {intermediate}));
        TGI_ASSIGN_OR_RETURN(up, weights.ColumnShard(p + "mlp.up_proj.bias", {intermediate}));
        layer.gate_up_bias = at::cat({gate, up}, 0);
        TGI_ASSIGN_OR_RETURN(layer.down_bias,
                             weights.Replicated(p + "mlp.down_proj.bias", {hidden}));
      }
      num_parameters_ += Numel({&layer.input_norm, &layer.post_norm, &layer.qkv, &layer.qkv_bias,
                                &layer.o, &layer.o_bias, &layer.gate_up, &layer.gate_up_bias,
                                &layer.down, &layer.down_bias});
      layers_.push_back(std::move(layer));
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("cannot load the llama weights: ", e.what()));
  }
  return absl::OkStatus();
}

int64_t LlamaModel::kv_bytes_per_token() const {
  return config_.num_hidden_layers * 2 * local_kv_heads_ * config_.head_dim *
         static_cast<int64_t>(c10::elementSize(dtype_));
}

absl::StatusOr<KvCache> LlamaModel::AllocateCache(int64_t batch, int64_t max_seq,
                                                  CacheInit init) const {
  if (batch <= 0 || max_seq <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cache of batch ", batch, " and max_seq ", max_seq, ": both must be > 0"));
  }
  try {
    const std::vector<int64_t> shape = {config_.num_hidden_layers, 2, batch, local_kv_heads_,
                                        max_seq, config_.head_dim};
    const at::TensorOptions options = at::TensorOptions().dtype(dtype_).device(device_);
    return KvCache{init == CacheInit::kZeros ? at::zeros(shape, options) : at::empty(shape, options)};
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot allocate a KV cache of batch ", batch,
                                                     " x ", max_seq, " slots: ", e.what()));
  }
}

absl::Status LlamaModel::Validate(const ForwardBatch& batch, const KvCache& cache) const {
  const at::Tensor& kv = cache.kv;
  if (!kv.defined() || kv.dim() != 6 || kv.size(0) != config_.num_hidden_layers ||
      kv.size(1) != 2 || kv.size(3) != local_kv_heads_ || kv.size(5) != config_.head_dim ||
      kv.scalar_type() != dtype_ || !kv.select(0, 0).select(0, 0).is_contiguous()) {
    return absl::InvalidArgumentError(
        "forward: the KV cache must come from AllocateCache (or narrow its batch dimension)");
  }
  const int64_t rows = kv.size(2);
  const int64_t max_seq = kv.size(4);
  const at::Tensor& ids = batch.input_ids;
  if (!ids.defined() || ids.dim() != 2 || ids.scalar_type() != at::kLong || ids.size(0) != rows ||
      ids.size(1) < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("forward: input_ids must be int64 [", rows, ", T >= 1]"));
  }
  const int64_t new_tokens = ids.size(1);
  if (!batch.positions.defined() || batch.positions.scalar_type() != at::kLong ||
      batch.positions.sizes() != ids.sizes()) {
    return absl::InvalidArgumentError("forward: positions must be int64 of input_ids' shape");
  }
  if (batch.window_start < 0 || batch.window_start > batch.write_offset ||
      batch.write_offset + new_tokens > max_seq) {
    return absl::InvalidArgumentError(absl::StrCat("forward: need 0 <= window_start (",
                                                   batch.window_start, ") <= write_offset (",
                                                   batch.write_offset, ") and write_offset + T (",
                                                   new_tokens, ") <= max_seq (", max_seq, ")"));
  }
  const int64_t window = batch.write_offset + new_tokens - batch.window_start;
  const at::Tensor& bias = batch.key_bias;
  if (!bias.defined() || bias.dim() != 2 || bias.scalar_type() != at::kFloat ||
      bias.size(0) != rows || bias.size(1) != window) {
    return absl::InvalidArgumentError(
        absl::StrCat("forward: key_bias must be float32 [", rows, ", ", window, "]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<at::Tensor> LlamaModel::Forward(const ForwardBatch& batch, KvCache& cache) const {
  TGI_RETURN_IF_ERROR(Validate(batch, cache));
  try {
    c10::InferenceMode inference_mode;
    return ForwardImpl(batch, cache);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("llama forward failed: ", e.what()));
  }
}

at::Tensor LlamaModel::Mlp(const Layer& layer, const at::Tensor& x) const {
  const int64_t intermediate = local_intermediate_;
  at::Tensor gate_up = Linear(x, layer.gate_up, layer.gate_up_bias);  // [N, 2 * intermediate]
  at::Tensor gate = gate_up.narrow(1, 0, intermediate);
  at::silu_(gate).mul_(gate_up.narrow(1, intermediate, intermediate));  // [N, intermediate]
  return Linear(gate, layer.down, layer.down_bias);
}

at::Tensor LlamaModel::ForwardImpl(const ForwardBatch& batch, KvCache& cache) const {
  const int64_t rows = batch.input_ids.size(0);
  const int64_t seq = batch.input_ids.size(1);
  const int64_t hidden = config_.hidden_size;
  const int64_t head_dim = config_.head_dim;
  const int64_t heads = local_heads_;
  const int64_t kv_heads = local_kv_heads_;
  const int64_t write_offset = batch.write_offset;
  const int64_t window = write_offset + seq - batch.window_start;
  const double eps = config_.rms_norm_eps;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  // A prefill that starts a batch: attention reads nothing but the T new tokens.
  const bool fresh_window = seq > 1 && batch.window_start == write_offset;

  // The residual stream, updated in place. Under tensor parallelism: a vocab-sharded lookup
  // followed by an all-reduce.
  at::Tensor h = at::embedding(embed_, batch.input_ids.to(device_).reshape({-1}));  // [B*T, hidden]
  auto [cos, sin] = rotary_.Lookup(batch.positions.to(device_));  // [B, T, 1, head_dim / 2]
  at::Tensor bias = StepAttentionBias(batch.key_bias.to(device_), seq, write_offset,
                                      batch.window_start);  // [B, T or 1, W] float32

  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& layer = layers_[i];
    at::Tensor x = RmsNorm(h, layer.input_norm, eps);
    at::Tensor qkv =
        Linear(x, layer.qkv, layer.qkv_bias).view({rows, seq, heads + 2 * kv_heads, head_dim});
    // q and k rotated together: [B, T, heads + kv_heads, head_dim].
    at::Tensor qk = ApplyRotary(qkv.narrow(2, 0, heads + kv_heads), cos, sin);
    at::Tensor new_k = qk.narrow(2, heads, kv_heads).transpose(1, 2);  // [B, kv_heads, T, D]
    at::Tensor new_v = qkv.narrow(2, heads + kv_heads, kv_heads).transpose(1, 2);
    at::Tensor layer_kv = cache.kv.select(0, static_cast<int64_t>(i));  // [2, B, kv_heads, S, D]
    at::Tensor keys;                                                    // [B, kv_heads, W, D]
    at::Tensor values;                                                  // [B, kv_heads, W, D]
    if (fresh_window) {
      // The window is exactly the new tokens: attend over packed copies (the layout batched
      // matmuls want) and store those.
      keys = new_k.contiguous();
      values = new_v.contiguous();
      layer_kv.select(0, 0).narrow(2, write_offset, seq).copy_(keys);
      layer_kv.select(0, 1).narrow(2, write_offset, seq).copy_(values);
    } else {
      layer_kv.select(0, 0).narrow(2, write_offset, seq).copy_(new_k);
      layer_kv.select(0, 1).narrow(2, write_offset, seq).copy_(new_v);
      at::Tensor live = layer_kv.narrow(3, batch.window_start, window);  // [2, B, kv_heads, W, D]
      keys = live.select(0, 0);
      values = live.select(0, 1);
    }
    at::Tensor attention = CachedAttention(qk.narrow(2, 0, heads), keys, values, bias,
                                           scale);  // [B, T, heads * D]
    // Row-parallel projections: under tensor parallelism, all-reduce before adding the bias.
    h.add_(Linear(attention.reshape({rows * seq, heads * head_dim}), layer.o, layer.o_bias));
    h.add_(Mlp(layer, RmsNorm(h, layer.post_norm, eps)));
  }

  // [B*T or B, hidden]: norm and lm_head only where logits are wanted.
  at::Tensor last = batch.all_logits ? h : h.view({rows, seq, hidden}).select(1, seq - 1);
  at::Tensor logits = Linear(RmsNorm(last, final_norm_, eps), lm_head_).to(at::kFloat);
  return logits.view({rows, batch.all_logits ? seq : 1, config_.vocab_size});
}

}  // namespace tgi::shard
