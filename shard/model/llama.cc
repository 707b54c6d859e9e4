#include "shard/model/llama.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <stdexcept>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "shard/model/kernels/norm.h"
#include "shard/model/kernels/paged_attention.h"
#include "shard/model/kernels/rope_cache.h"
#include "shard/model/status_macros.h"
#include "shard/model/weights.h"

namespace tgi::shard {

using kernels::Epilogue;
using kernels::PackedWeight;

struct LlamaModel::StepPlan {
  int64_t tokens = 0;
  std::vector<kernels::TokenPlace> places;  // [tokens]
  std::vector<kernels::AttentionRow> rows;  // one per batch row
};

namespace {

// A float32 copy of a norm weight (after rounding to the working dtype, as the checkpoint would
// be used in that dtype). Always a copy: a view would keep the whole checkpoint mapped.
at::Tensor Float32(const at::Tensor& t) {
  return t.to(at::kFloat, /*non_blocking=*/false, /*copy=*/true).contiguous();
}

float* Grow(std::vector<float>& buffer, int64_t elements) {
  if (buffer.size() < static_cast<size_t>(elements)) buffer.resize(static_cast<size_t>(elements));
  return buffer.data();
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

absl::StatusOr<std::optional<at::ScalarType>> ParseKvCacheDtype(std::string_view std_name) {
  const std::string lower =
      absl::AsciiStrToLower(absl::string_view(std_name.data(), std_name.size()));
  if (lower.empty() || lower == "auto") return std::optional<at::ScalarType>();
  if (lower == "float32") return std::optional<at::ScalarType>(at::kFloat);
  if (lower == "bfloat16") return std::optional<at::ScalarType>(at::kBFloat16);
  return absl::InvalidArgumentError(absl::StrCat("unsupported KV cache dtype '", lower,
                                                 "' (supported: auto, float32, bfloat16)"));
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
  std::shared_ptr<dist::Communicator> communicator = options.communicator;
  if (communicator == nullptr) {
    if (options.world_size != 1 || options.rank != 0) {
      return absl::InvalidArgumentError(absl::StrCat("rank ", options.rank, " of ",
                                                     options.world_size,
                                                     " needs a communicator to the other ranks"));
    }
    communicator = dist::Communicator::Single();
  }
  if (communicator->world_size() != options.world_size || communicator->rank() != options.rank) {
    return absl::InvalidArgumentError("the load options' rank is not the communicator's");
  }
  if (!options.device.is_cpu()) {
    return absl::UnimplementedError("the llama model runs on CPU only for now");
  }
  std::unique_ptr<LlamaModel> model(new LlamaModel());
  model->communicator_ = std::move(communicator);
  model->config_ = config;
  model->dtype_ = options.dtype;
  if (options.dtype != at::kFloat && options.dtype != at::kBFloat16 && options.dtype != at::kHalf) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported working dtype ", c10::toString(options.dtype)));
  }
  if (options.dtype == at::kHalf) {
    spdlog::info("float16 requested: the CPU kernels have no float16 path, running as bfloat16");
    model->dtype_ = at::kBFloat16;
  }
  model->kv_dtype_ = options.kv_cache_dtype.value_or(model->dtype_);
  if (model->kv_dtype_ != at::kFloat && model->kv_dtype_ != at::kBFloat16) {
    return absl::InvalidArgumentError("the KV cache dtype must be float32 or bfloat16");
  }
  const int world_size = options.world_size;
  const int64_t heads = config.num_attention_heads;
  const int64_t kv_heads = config.num_key_value_heads;
  if (heads % kv_heads != 0 || config.head_dim % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported head layout: ", heads, " heads, ", kv_heads,
                     " KV heads, head_dim ", config.head_dim));
  }
  // What does not split evenly across the ranks, by name.
  auto uneven = [&](const char* what, int64_t size) {
    return absl::InvalidArgumentError(absl::StrCat(what, " (", size, ") do not split evenly across ",
                                                   world_size, " shards; use a --num-shard that divides it"));
  };
  if (heads % world_size != 0) return uneven("num_attention_heads", heads);
  if (kv_heads % world_size != 0 && world_size % kv_heads != 0) {
    return uneven("num_key_value_heads", kv_heads);
  }
  if (config.intermediate_size % world_size != 0) {
    return uneven("intermediate_size", config.intermediate_size);
  }
  if (config.vocab_size % world_size != 0) return uneven("vocab_size", config.vocab_size);
  model->local_heads_ = heads / world_size;
  if (kv_heads >= world_size) {
    model->local_kv_heads_ = kv_heads / world_size;
    model->kv_head_begin_ = options.rank * model->local_kv_heads_;
  } else {  // fewer KV heads than ranks: each is replicated on world_size / kv_heads ranks
    model->local_kv_heads_ = 1;
    model->kv_head_begin_ = options.rank / (world_size / kv_heads);
  }
  model->local_intermediate_ = config.intermediate_size / world_size;
  model->local_vocab_ = config.vocab_size / world_size;
  model->vocab_begin_ = options.rank * model->local_vocab_;

  const int64_t max_positions =
      options.max_positions > 0 ? options.max_positions : config.max_position_embeddings;
  try {
    model->rotary_ =
        RotaryEmbedding(config.head_dim, config.rope_theta, config.rope_scaling, max_positions);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("cannot build rotary tables: ", e.what()));
  }
  TGI_RETURN_IF_ERROR(model->LoadWeights(checkpoint, options.rank, world_size));
  spdlog::info(
      "llama: {} layers, hidden {}, {} heads ({} kv), vocab {}, {} parameters, {} ({} MB packed), "
      "KV cache {}, kernels {}",
      config.num_hidden_layers, config.hidden_size, config.num_attention_heads,
      config.num_key_value_heads, config.vocab_size, model->num_parameters_,
      c10::toString(model->dtype_), model->weight_bytes_ >> 20, c10::toString(model->kv_dtype_),
      kernels::IsaName(kernels::ActiveIsa()));
  return model;
}

absl::Status LlamaModel::LoadWeights(const SafetensorsCheckpoint& checkpoint, int rank,
                                     int world_size) {
  const WeightLoader weights(checkpoint, dtype_, at::kCPU, rank, world_size);
  const int64_t hidden = config_.hidden_size;
  const int64_t vocab = config_.vocab_size;
  try {
    // Under tensor parallelism the embedding and lm_head are vocabulary shards.
    TGI_ASSIGN_OR_RETURN(at::Tensor embed,
                         weights.ColumnShard("model.embed_tokens.weight", {vocab, hidden}));
    TGI_ASSIGN_OR_RETURN(at::Tensor final_norm, weights.Replicated("model.norm.weight", {hidden}));
    final_norm_ = Float32(final_norm);
    num_parameters_ = embed.numel() + final_norm.numel();
    at::Tensor lm_head = embed;
    if (!config_.tie_word_embeddings) {
      TGI_ASSIGN_OR_RETURN(lm_head, weights.ColumnShard("lm_head.weight", {vocab, hidden}));
      num_parameters_ += lm_head.numel();
      embed_ = embed.clone(at::MemoryFormat::Contiguous);  // not a view of the checkpoint
    }
    TGI_ASSIGN_OR_RETURN(lm_head_, PackedWeight::Pack(lm_head, dtype_));
    weight_bytes_ = lm_head_.bytes();
    // Everything read so far is packed (or copied): the file's pages need not stay resident
    // next to the packed weights, and so after every layer. Peak memory while loading stays
    // near the packed weights instead of twice them.
    checkpoint.ReleaseResidentPages();
    for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
      TGI_RETURN_IF_ERROR(LoadLayer(checkpoint, i, rank, world_size));
      checkpoint.ReleaseResidentPages();
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("cannot load the llama weights: ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status LlamaModel::LoadLayer(const SafetensorsCheckpoint& checkpoint, int64_t index, int rank,
                                   int world_size) {
  const WeightLoader weights(checkpoint, dtype_, at::kCPU, rank, world_size);
  const int64_t hidden = config_.hidden_size;
  const int64_t q_rows = config_.num_attention_heads * config_.head_dim;
  const int64_t kv_rows = config_.num_key_value_heads * config_.head_dim;
  const int64_t intermediate = config_.intermediate_size;
  const std::string p = absl::StrCat("model.layers.", index, ".");
  Layer layer;
  TGI_ASSIGN_OR_RETURN(at::Tensor input_norm,
                       weights.Replicated(p + "input_layernorm.weight", {hidden}));
  TGI_ASSIGN_OR_RETURN(at::Tensor post_norm,
                       weights.Replicated(p + "post_attention_layernorm.weight", {hidden}));
  layer.input_norm = Float32(input_norm);
  layer.post_norm = Float32(post_norm);
  // Column-parallel (each rank its heads / features), fused into one matmul.
  TGI_ASSIGN_OR_RETURN(at::Tensor q,
                       weights.ColumnShard(p + "self_attn.q_proj.weight", {q_rows, hidden}));
  // This rank's KV heads (split, or one replicated head when there are fewer than ranks).
  const int64_t kv_begin = kv_head_begin_ * config_.head_dim;
  const int64_t kv_count = local_kv_heads_ * config_.head_dim;
  TGI_ASSIGN_OR_RETURN(at::Tensor k, weights.Rows(p + "self_attn.k_proj.weight", {kv_rows, hidden},
                                                  kv_begin, kv_count));
  TGI_ASSIGN_OR_RETURN(at::Tensor v, weights.Rows(p + "self_attn.v_proj.weight", {kv_rows, hidden},
                                                  kv_begin, kv_count));
  TGI_ASSIGN_OR_RETURN(at::Tensor gate,
                       weights.ColumnShard(p + "mlp.gate_proj.weight", {intermediate, hidden}));
  TGI_ASSIGN_OR_RETURN(at::Tensor up,
                       weights.ColumnShard(p + "mlp.up_proj.weight", {intermediate, hidden}));
  // Row-parallel: partial sums that an all-reduce completes; their biases are replicated.
  TGI_ASSIGN_OR_RETURN(at::Tensor o,
                       weights.RowShard(p + "self_attn.o_proj.weight", {hidden, q_rows}));
  TGI_ASSIGN_OR_RETURN(at::Tensor down,
                       weights.RowShard(p + "mlp.down_proj.weight", {hidden, intermediate}));
  at::Tensor qkv_bias, o_bias, gate_bias, up_bias, down_bias;
  if (config_.attention_bias) {
    TGI_ASSIGN_OR_RETURN(at::Tensor qb, weights.ColumnShard(p + "self_attn.q_proj.bias", {q_rows}));
    TGI_ASSIGN_OR_RETURN(at::Tensor kb,
                         weights.Rows(p + "self_attn.k_proj.bias", {kv_rows}, kv_begin, kv_count));
    TGI_ASSIGN_OR_RETURN(at::Tensor vb,
                         weights.Rows(p + "self_attn.v_proj.bias", {kv_rows}, kv_begin, kv_count));
    qkv_bias = at::cat({qb, kb, vb}, 0);
    // A row-parallel bias is added once, by rank 0, before the all-reduce.
    if (rank == 0) {
      TGI_ASSIGN_OR_RETURN(o_bias, weights.Replicated(p + "self_attn.o_proj.bias", {hidden}));
    }
  }
  if (config_.mlp_bias) {
    TGI_ASSIGN_OR_RETURN(gate_bias, weights.ColumnShard(p + "mlp.gate_proj.bias", {intermediate}));
    TGI_ASSIGN_OR_RETURN(up_bias, weights.ColumnShard(p + "mlp.up_proj.bias", {intermediate}));
    if (rank == 0) {
      TGI_ASSIGN_OR_RETURN(down_bias, weights.Replicated(p + "mlp.down_proj.bias", {hidden}));
    }
  }
  TGI_ASSIGN_OR_RETURN(layer.qkv, PackedWeight::Pack(at::cat({q, k, v}, 0), dtype_, qkv_bias));
  TGI_ASSIGN_OR_RETURN(layer.o, PackedWeight::Pack(o, dtype_, o_bias));
  TGI_ASSIGN_OR_RETURN(layer.gate_up,
                       PackedWeight::PackGateUp(gate, up, dtype_, gate_bias, up_bias));
  TGI_ASSIGN_OR_RETURN(layer.down, PackedWeight::Pack(down, dtype_, down_bias));
  for (const at::Tensor* t : {&input_norm, &post_norm, &q, &k, &v, &gate, &up, &o, &down, &qkv_bias,
                              &o_bias, &gate_bias, &up_bias, &down_bias}) {
    if (t->defined()) num_parameters_ += t->numel();
  }
  weight_bytes_ += layer.qkv.bytes() + layer.o.bytes() + layer.gate_up.bytes() + layer.down.bytes();
  layers_.push_back(std::move(layer));
  return absl::OkStatus();
}

int64_t LlamaModel::kv_bytes_per_token() const {
  return config_.num_hidden_layers * 2 * local_kv_heads_ * config_.head_dim *
         static_cast<int64_t>(c10::elementSize(kv_dtype_));
}

kernels::PagedKv LlamaModel::CacheLayout() const {
  kernels::PagedKv layout;
  layout.dtype = kv_dtype_;
  layout.layers = config_.num_hidden_layers;
  layout.kv_heads = local_kv_heads_;
  layout.head_dim = config_.head_dim;
  return layout;
}

absl::Status LlamaModel::Validate(const ForwardBatch& batch, const kernels::PagedKv& cache) const {
  const kernels::PagedKv layout = CacheLayout();
  if (cache.data == nullptr || cache.num_blocks <= 0 || cache.dtype != layout.dtype ||
      cache.layers != layout.layers || cache.kv_heads != layout.kv_heads ||
      cache.head_dim != layout.head_dim) {
    return absl::InvalidArgumentError("forward: the KV cache does not have this model's layout");
  }
  if (batch.rows.empty()) return absl::InvalidArgumentError("forward: no rows");
  int64_t tokens = 0;
  for (size_t r = 0; r < batch.rows.size(); ++r) {
    const StepRow& row = batch.rows[r];
    const int64_t end = row.context + row.new_tokens;
    if (row.context < 0 || row.new_tokens < 1 || end > max_positions()) {
      return absl::InvalidArgumentError(
          absl::StrCat("forward: row ", r, " has context ", row.context, " and ", row.new_tokens,
                       " new tokens; need context >= 0, new tokens >= 1 and at most ",
                       max_positions(), " positions"));
    }
    const int64_t needed = (end + kernels::kBlockSize - 1) / kernels::kBlockSize;
    if (static_cast<int64_t>(row.blocks.size()) < needed) {
      return absl::InvalidArgumentError(absl::StrCat("forward: row ", r, " needs ", needed,
                                                     " blocks, its table has ", row.blocks.size()));
    }
    for (int64_t b = 0; b < needed; ++b) {
      if (row.blocks[b] < 0 || row.blocks[b] >= cache.num_blocks) {
        return absl::InvalidArgumentError(
            absl::StrCat("forward: row ", r, " names block ", row.blocks[b], " outside the pool"));
      }
    }
    tokens += row.new_tokens;
  }
  if (static_cast<int64_t>(batch.input_ids.size()) != tokens) {
    return absl::InvalidArgumentError(absl::StrCat("forward: ", batch.input_ids.size(),
                                                   " input ids for ", tokens, " new tokens"));
  }
  for (int64_t id : batch.input_ids) {
    if (id < 0 || id >= config_.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "forward: token id ", id, " outside the vocabulary of ", config_.vocab_size));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<at::Tensor> LlamaModel::Forward(const ForwardBatch& batch,
                                               const kernels::PagedKv& cache) const {
  TGI_RETURN_IF_ERROR(Validate(batch, cache));
  try {
    c10::InferenceMode inference_mode;
    return ForwardImpl(batch, cache);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("llama forward failed: ", e.what()));
  }
}

void LlamaModel::Embed(std::span<const int64_t> ids, float* out) const {
  const int64_t hidden = config_.hidden_size;
  for (size_t t = 0; t < ids.size(); ++t) {
    float* row = out + static_cast<int64_t>(t) * hidden;
    const int64_t local = ids[t] - vocab_begin_;
    if (local < 0 || local >= local_vocab_) {
      std::fill_n(row, hidden, 0.0f);  // another rank's row: the all-reduce brings it
    } else if (!embed_.defined()) {
      lm_head_.Row(local, row);
    } else {
      at::Tensor source = embed_[local];  // [hidden] working dtype
      at::from_blob(row, {hidden}, at::kFloat).copy_(source);
    }
  }
  // One rank holds each row, the others add zeros: exact.
  AllReduce(out, static_cast<int64_t>(ids.size()) * hidden);
}

void LlamaModel::AllReduce(float* data, int64_t count) const {
  if (communicator_->world_size() == 1) return;
  if (absl::Status status = communicator_->AllReduceSum(data, count); !status.ok()) {
    throw std::runtime_error(std::string(status.message()));
  }
}

void LlamaModel::RowParallel(const float* x, int64_t tokens, int64_t ldx,
                             const PackedWeight& w, float* h) const {
  const int64_t hidden = config_.hidden_size;
  if (communicator_->world_size() == 1) {
    kernels::Linear(x, tokens, ldx, w, h, hidden, Epilogue::kAccumulate);
    return;
  }
  float* partial = Grow(workspace_.partial, tokens * hidden);
  kernels::Linear(x, tokens, ldx, w, partial, hidden, Epilogue::kStore);
  AllReduce(partial, tokens * hidden);
  for (int64_t i = 0; i < tokens * hidden; ++i) h[i] += partial[i];
}

void LlamaModel::RunLayer(const Layer& layer, int64_t index, const StepPlan& plan,
                          const kernels::PagedKv& cache) const {
  const int64_t tokens = plan.tokens;
  const int64_t hidden = config_.hidden_size;
  const int64_t head_dim = config_.head_dim;
  const int64_t qkv_width = (local_heads_ + 2 * local_kv_heads_) * head_dim;
  const int64_t attention_width = local_heads_ * head_dim;
  const auto eps = static_cast<float>(config_.rms_norm_eps);
  Workspace& w = workspace_;
  float* h = w.hidden.data();             // [tokens, hidden]
  float* x = w.normed.data();             // [tokens, hidden]
  float* qkv = w.qkv.data();              // [tokens, qkv_width]
  float* attention = w.attention.data();  // [tokens, attention_width]
  float* mlp = w.mlp.data();              // [tokens, intermediate]

  kernels::RmsNorm(h, tokens, hidden, layer.input_norm.data_ptr<float>(), hidden, eps, x, hidden);
  kernels::Linear(x, tokens, hidden, layer.qkv, qkv, qkv_width, Epilogue::kStore);
  kernels::RopeAndStoreKv(qkv, tokens, qkv_width, plan.places.data(), local_heads_, rotary_.cos(),
                          rotary_.sin(), cache, index);
  kernels::PagedAttention(qkv, qkv_width, plan.rows.data(), static_cast<int64_t>(plan.rows.size()),
                          local_heads_, static_cast<float>(1.0 / std::sqrt(double(head_dim))),
                          cache, index, attention, attention_width);
  // Row-parallel projections: under tensor parallelism, all-reduced before the residual add.
  RowParallel(attention, tokens, attention_width, layer.o, h);
  kernels::RmsNorm(h, tokens, hidden, layer.post_norm.data_ptr<float>(), hidden, eps, x, hidden);
  kernels::Linear(x, tokens, hidden, layer.gate_up, mlp, local_intermediate_, Epilogue::kSiluMul);
  RowParallel(mlp, tokens, local_intermediate_, layer.down, h);
}

at::Tensor LlamaModel::ForwardImpl(const ForwardBatch& batch, const kernels::PagedKv& cache) const {
  const int64_t hidden = config_.hidden_size;
  StepPlan plan;
  plan.tokens = static_cast<int64_t>(batch.input_ids.size());
  plan.places.reserve(static_cast<size_t>(plan.tokens));
  std::vector<int64_t> logit_tokens;  // which of the step's tokens get logits
  for (const StepRow& row : batch.rows) {
    const auto first = static_cast<int64_t>(plan.places.size());
    plan.rows.push_back({first, row.new_tokens, row.context, row.blocks.data()});
    for (int64_t t = 0; t < row.new_tokens; ++t) {
      const int64_t position = row.context + t;
      plan.places.push_back({position, row.blocks[position / kernels::kBlockSize],
                             static_cast<int32_t>(position % kernels::kBlockSize)});
      if (row.all_logits || t == row.new_tokens - 1) logit_tokens.push_back(first + t);
    }
  }
  Workspace& w = workspace_;
  const int64_t tokens = plan.tokens;
  Grow(w.hidden, tokens * hidden);
  Grow(w.normed, tokens * hidden);
  Grow(w.qkv, tokens * (local_heads_ + 2 * local_kv_heads_) * config_.head_dim);
  Grow(w.attention, tokens * local_heads_ * config_.head_dim);
  Grow(w.mlp, tokens * local_intermediate_);

  // The residual stream, float32 (under tensor parallelism a vocab-sharded lookup, all-reduced).
  Embed(batch.input_ids, w.hidden.data());
  for (size_t i = 0; i < layers_.size(); ++i) {
    RunLayer(layers_[i], static_cast<int64_t>(i), plan, cache);
  }

  // Final norm and lm_head only where logits are wanted.
  const auto logit_rows = static_cast<int64_t>(logit_tokens.size());
  float* selected = w.normed.data();  // [logit_rows, hidden]
  for (int64_t i = 0; i < logit_rows; ++i) {
    std::copy_n(w.hidden.data() + logit_tokens[i] * hidden, hidden, selected + i * hidden);
  }
  kernels::RmsNorm(selected, logit_rows, hidden, final_norm_.data_ptr<float>(), hidden,
                   static_cast<float>(config_.rms_norm_eps), selected, hidden);
  at::Tensor logits = at::empty({logit_rows, config_.vocab_size}, at::kFloat);
  dist::Communicator& comm = *communicator_;
  if (comm.world_size() == 1) {
    kernels::Linear(selected, logit_rows, hidden, lm_head_, logits.data_ptr<float>(),
                    config_.vocab_size, Epilogue::kStore);
    return logits;
  }
  // Each rank's vocabulary slice, gathered: [ranks][rows][local vocab] -> [rows][vocab].
  const int64_t part = logit_rows * local_vocab_;
  float* local = Grow(w.partial, part);
  kernels::Linear(selected, logit_rows, hidden, lm_head_, local, local_vocab_, Epilogue::kStore);
  float* gathered = Grow(w.gathered, part * comm.world_size());
  if (absl::Status status = comm.AllGather(local, part, gathered); !status.ok()) {
    throw std::runtime_error(std::string(status.message()));
  }
  float* out = logits.data_ptr<float>();
  for (int r = 0; r < comm.world_size(); ++r) {
    for (int64_t row = 0; row < logit_rows; ++row) {
      std::copy_n(gathered + r * part + row * local_vocab_, local_vocab_,
                  out + row * config_.vocab_size + r * local_vocab_);
    }
  }
  return logits;
}

}  // namespace tgi::shard
