#include "shard/service/service.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"

namespace tgi::shard {

namespace pb = generate::v2;

namespace {

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument: code = grpc::StatusCode::INVALID_ARGUMENT; break;
    case absl::StatusCode::kNotFound: code = grpc::StatusCode::NOT_FOUND; break;
    case absl::StatusCode::kAlreadyExists: code = grpc::StatusCode::ALREADY_EXISTS; break;
    case absl::StatusCode::kResourceExhausted: code = grpc::StatusCode::RESOURCE_EXHAUSTED; break;
    default: break;
  }
  return grpc::Status(code, std::string(status.message()));
}

RequestSpec FromProto(const pb::Request& request) {
  RequestSpec spec;
  spec.id = request.id();
  spec.inputs = request.inputs();
  spec.truncate = request.truncate();
  const pb::NextTokenChooserParameters& p = request.parameters();
  spec.sampling.temperature = p.temperature();
  spec.sampling.top_k = p.top_k();
  spec.sampling.top_p = p.top_p();
  spec.sampling.typical_p = p.typical_p();
  spec.sampling.do_sample = p.do_sample();
  spec.sampling.seed = p.seed();
  spec.sampling.repetition_penalty = p.repetition_penalty();
  spec.sampling.frequency_penalty = p.frequency_penalty();
  spec.sampling.watermark = p.watermark();
  // An unset message holds proto3 zeros; zero is never a valid temperature or penalty, so it
  // means "neutral" (as a client that leaves `parameters` out expects).
  if (!request.has_parameters() || spec.sampling.temperature == 0.0f) {
    spec.sampling.temperature = 1.0f;
  }
  if (spec.sampling.top_p == 0.0f) spec.sampling.top_p = 1.0f;
  if (spec.sampling.typical_p == 0.0f) spec.sampling.typical_p = 1.0f;
  if (spec.sampling.repetition_penalty == 0.0f) spec.sampling.repetition_penalty = 1.0f;
  const pb::StoppingCriteriaParameters& s = request.stopping_parameters();
  spec.stopping.max_new_tokens = s.max_new_tokens();
  spec.stopping.stop_sequences.assign(s.stop_sequences().begin(), s.stop_sequences().end());
  spec.stopping.ignore_eos_token = s.ignore_eos_token();
  spec.prefill_logprobs = request.prefill_logprobs();
  spec.top_n_tokens = request.top_n_tokens();
  return spec;
}

std::vector<RequestSpec> FromProto(const pb::Batch& batch) {
  std::vector<RequestSpec> specs;
  specs.reserve(batch.requests_size());
  for (const pb::Request& request : batch.requests()) specs.push_back(FromProto(request));
  return specs;
}

void ToProto(const TokenList& list, pb::Tokens* tokens) {
  tokens->mutable_ids()->Assign(list.ids.begin(), list.ids.end());
  tokens->mutable_logprobs()->Assign(list.logprobs.begin(), list.logprobs.end());
  for (const std::string& text : list.texts) tokens->add_texts(text);
  for (bool special : list.is_special) tokens->add_is_special(special);
}

void ToProto(const CachedBatchInfo& info, pb::CachedBatch* batch) {
  batch->set_id(info.id);
  batch->mutable_request_ids()->Assign(info.request_ids.begin(), info.request_ids.end());
  batch->set_size(info.size);
  batch->set_max_tokens(info.max_tokens);
}

template <typename Response>
void ToProto(const StepResult& result, Response* response) {
  for (const Generation& generation : result.generations) {
    pb::Generation* out = response->add_generations();
    out->set_request_id(generation.request_id);
    if (generation.prefill_tokens) ToProto(*generation.prefill_tokens, out->mutable_prefill_tokens());
    ToProto(generation.tokens, out->mutable_tokens());
    for (const TokenList& top : generation.top_tokens) ToProto(top, out->add_top_tokens());
    if (generation.generated_text) {
      const GeneratedTextResult& done = *generation.generated_text;
      pb::GeneratedText* text = out->mutable_generated_text();
      text->set_text(done.text);
      text->set_generated_tokens(done.generated_tokens);
      text->set_finish_reason(static_cast<pb::FinishReason>(done.finish_reason));
      if (done.seed) text->set_seed(*done.seed);
    }
  }
  if (result.batch) ToProto(*result.batch, response->mutable_batch());
  response->set_forward_ns(result.forward_ns);
  response->set_decode_ns(result.decode_ns);
  response->set_total_ns(result.total_ns);
  const StepStats& stats = result.stats;
  pb::StepStats* out = response->mutable_stats();
  out->set_rows(static_cast<uint32_t>(stats.rows));
  out->set_tokens(static_cast<uint64_t>(stats.tokens));
  out->set_padding_tokens(static_cast<uint64_t>(stats.padding_tokens));
  out->set_bucket_rows(static_cast<uint32_t>(stats.bucket_rows));
  out->set_bucket_length(static_cast<uint32_t>(stats.bucket_length));
}

void ToProto(const KvUsage& usage, pb::KvUsage* out) {
  out->set_blocks_used(static_cast<uint64_t>(usage.blocks_used));
  out->set_blocks_reserved(static_cast<uint64_t>(usage.blocks_reserved));
  out->set_block_size(static_cast<uint32_t>(usage.block_size));
}

}  // namespace

TextGenerationService::TextGenerationService(Engine& engine, ModelThread& model_thread,
                                             ServiceInfo info)
    : engine_(engine), model_thread_(model_thread), info_(std::move(info)) {}

template <typename F>
grpc::Status TextGenerationService::OnModelThread(const char* rpc, F work) {
  grpc::Status status;
  try {
    status = ToGrpc(model_thread_.Run(std::move(work)));
  } catch (const std::exception& error) {
    status = grpc::Status(grpc::StatusCode::INTERNAL, absl::StrCat(rpc, " failed: ", error.what()));
  }
  if (!status.ok()) spdlog::warn("{}: {}", rpc, status.error_message());
  return status;
}

grpc::Status TextGenerationService::Info(grpc::ServerContext*, const pb::InfoRequest*,
                                         pb::InfoResponse* response) {
  response->set_requires_padding(true);
  response->set_dtype(info_.dtype);
  response->set_device_type(info_.device_type);
  response->set_speculate(0);
  return grpc::Status::OK;
}

grpc::Status TextGenerationService::ServiceDiscovery(grpc::ServerContext*,
                                                     const pb::ServiceDiscoveryRequest*,
                                                     pb::ServiceDiscoveryResponse* response) {
  for (const std::string& url : info_.urls) response->add_urls(url);
  return grpc::Status::OK;
}

grpc::Status TextGenerationService::ClearCache(grpc::ServerContext*,
                                               const pb::ClearCacheRequest* request,
                                               pb::ClearCacheResponse* response) {
  std::optional<uint64_t> id;
  if (request->has_id()) id = request->id();
  return OnModelThread("ClearCache", [&] {
    engine_.ClearCache(id);
    ToProto(engine_.kv_usage(), response->mutable_kv_usage());
    return absl::OkStatus();
  });
}

grpc::Status TextGenerationService::FilterBatch(grpc::ServerContext*,
                                                const pb::FilterBatchRequest* request,
                                                pb::FilterBatchResponse* response) {
  const std::vector<uint64_t> keep(request->request_ids().begin(), request->request_ids().end());
  return OnModelThread("FilterBatch", [&]() -> absl::Status {
    absl::StatusOr<CachedBatchInfo> info = engine_.Filter(request->batch_id(), keep);
    if (!info.ok()) return info.status();
    ToProto(*info, response->mutable_batch());
    ToProto(engine_.kv_usage(), response->mutable_kv_usage());
    return absl::OkStatus();
  });
}

grpc::Status TextGenerationService::Warmup(grpc::ServerContext*, const pb::WarmupRequest* request,
                                           pb::WarmupResponse* response) {
  std::vector<std::vector<RequestSpec>> batches;
  for (const pb::Batch& batch : request->batches()) batches.push_back(FromProto(batch));
  return OnModelThread("Warmup", [&]() -> absl::Status {
    absl::StatusOr<uint32_t> tokens = engine_.Warmup(std::move(batches));
    if (!tokens.ok()) return tokens.status();
    response->set_max_supported_total_tokens(*tokens);
    return absl::OkStatus();
  });
}

grpc::Status TextGenerationService::Prefill(grpc::ServerContext*,
                                            const pb::PrefillRequest* request,
                                            pb::PrefillResponse* response) {
  std::vector<RequestSpec> specs = FromProto(request->batch());
  return OnModelThread("Prefill", [&]() -> absl::Status {
    absl::StatusOr<StepResult> result = engine_.Prefill(request->batch().id(), std::move(specs),
                                                       request->max_prompt_tokens());
    if (!result.ok()) return result.status();
    ToProto(*result, response);
    ToProto(engine_.kv_usage(), response->mutable_kv_usage());
    return absl::OkStatus();
  });
}

grpc::Status TextGenerationService::Decode(grpc::ServerContext*, const pb::DecodeRequest* request,
                                           pb::DecodeResponse* response) {
  std::vector<uint64_t> ids;
  for (const pb::CachedBatch& batch : request->batches()) ids.push_back(batch.id());
  return OnModelThread("Decode", [&]() -> absl::Status {
    absl::StatusOr<StepResult> result = engine_.Decode(ids, request->max_prompt_tokens());
    if (!result.ok()) return result.status();
    ToProto(*result, response);
    ToProto(engine_.kv_usage(), response->mutable_kv_usage());
    if (result->concat_ns) response->set_concat_ns(*result->concat_ns);
    return absl::OkStatus();
  });
}

grpc::Status TextGenerationService::Health(grpc::ServerContext*, const pb::HealthRequest*,
                                           pb::HealthResponse*) {
  return OnModelThread("Health", [] { return absl::OkStatus(); });
}

}  // namespace tgi::shard
