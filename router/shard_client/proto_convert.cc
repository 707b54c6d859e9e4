#include "router/shard_client/proto_convert.h"

namespace tgi::router {
namespace {

namespace pb = generate::v2;

void ToProto(const ShardRequest& request, pb::Request* out) {
  out->set_id(request.id);
  out->set_inputs(request.inputs);
  out->set_truncate(request.truncate);
  pb::NextTokenChooserParameters* parameters = out->mutable_parameters();
  const NextTokenChooserParameters& in = request.parameters;
  parameters->set_temperature(in.temperature);
  parameters->set_top_k(in.top_k);
  parameters->set_top_p(in.top_p);
  parameters->set_typical_p(in.typical_p);
  parameters->set_do_sample(in.do_sample);
  parameters->set_seed(in.seed);
  parameters->set_repetition_penalty(in.repetition_penalty);
  parameters->set_watermark(in.watermark);
  parameters->set_frequency_penalty(in.frequency_penalty);
  pb::StoppingCriteriaParameters* stopping = out->mutable_stopping_parameters();
  stopping->set_max_new_tokens(request.stopping_parameters.max_new_tokens);
  for (const std::string& stop : request.stopping_parameters.stop_sequences) {
    stopping->add_stop_sequences(stop);
  }
  stopping->set_ignore_eos_token(request.stopping_parameters.ignore_eos_token);
  out->set_prefill_logprobs(request.prefill_logprobs);
  out->set_top_n_tokens(request.top_n_tokens);
}

ShardTokens FromProto(const pb::Tokens& tokens) {
  ShardTokens out;
  out.ids.assign(tokens.ids().begin(), tokens.ids().end());
  out.logprobs.assign(tokens.logprobs().begin(), tokens.logprobs().end());
  out.texts.assign(tokens.texts().begin(), tokens.texts().end());
  out.is_special.assign(tokens.is_special().begin(), tokens.is_special().end());
  return out;
}

ShardFinishReason FromProto(pb::FinishReason reason) {
  switch (reason) {
    case pb::FINISH_REASON_EOS_TOKEN:
      return ShardFinishReason::kEosToken;
    case pb::FINISH_REASON_STOP_SEQUENCE:
      return ShardFinishReason::kStopSequence;
    default:
      return ShardFinishReason::kLength;
  }
}

}  // namespace

void ToProto(const ShardBatch& batch, pb::Batch* out) {
  out->set_id(batch.id);
  for (const ShardRequest& request : batch.requests) ToProto(request, out->add_requests());
  out->set_size(batch.size);
  out->set_max_tokens(batch.max_tokens);
}

void ToProto(const CachedBatch& batch, pb::CachedBatch* out) {
  out->set_id(batch.id);
  out->mutable_request_ids()->Add(batch.request_ids.begin(), batch.request_ids.end());
  out->set_size(batch.size);
  out->set_max_tokens(batch.max_tokens);
}

ShardInfo FromProto(const pb::InfoResponse& info) {
  ShardInfo out;
  out.requires_padding = info.requires_padding();
  out.dtype = info.dtype();
  out.device_type = info.device_type();
  if (info.has_window_size()) out.window_size = info.window_size();
  out.speculate = info.speculate();
  return out;
}

ShardStepStats FromProto(const pb::StepStats& stats) {
  return ShardStepStats{.rows = stats.rows(),
                        .tokens = stats.tokens(),
                        .padding_tokens = stats.padding_tokens(),
                        .bucket_rows = stats.bucket_rows(),
                        .bucket_length = stats.bucket_length()};
}

ShardKvUsage FromProto(const pb::KvUsage& usage) {
  return ShardKvUsage{.blocks_used = usage.blocks_used(),
                      .blocks_reserved = usage.blocks_reserved(),
                      .block_size = usage.block_size()};
}

CachedBatch FromProto(const pb::CachedBatch& batch) {
  CachedBatch out;
  out.id = batch.id();
  out.request_ids.assign(batch.request_ids().begin(), batch.request_ids().end());
  out.size = batch.size();
  out.max_tokens = batch.max_tokens();
  return out;
}

ShardGeneration FromProto(const pb::Generation& generation) {
  ShardGeneration out;
  out.request_id = generation.request_id();
  if (generation.has_prefill_tokens()) {
    out.prefill_tokens = FromProto(generation.prefill_tokens());
  }
  out.tokens = FromProto(generation.tokens());
  if (generation.has_generated_text()) {
    const pb::GeneratedText& text = generation.generated_text();
    ShardGeneratedText generated;
    generated.text = text.text();
    generated.generated_tokens = text.generated_tokens();
    generated.finish_reason = FromProto(text.finish_reason());
    if (text.has_seed()) generated.seed = text.seed();
    out.generated_text = std::move(generated);
  }
  for (const pb::Tokens& top : generation.top_tokens()) out.top_tokens.push_back(FromProto(top));
  return out;
}

}  // namespace tgi::router
