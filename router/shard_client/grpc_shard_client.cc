#include "router/shard_client/grpc_shard_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <functional>
#include <latch>
#include <mutex>
#include <set>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "generate.grpc.pb.h"
#include "router/shard_client/proto_convert.h"
#include "spdlog/spdlog.h"

namespace tgi::router {
namespace {

namespace pb = generate::v2;
using Stub = pb::TextGenerationService::Stub;
using Callback = std::function<void(grpc::Status)>;
constexpr char kCancelledMessage[] = "the router is stopping";

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::DeadlineExceededError("a shard did not answer within --shard-rpc-timeout");
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::shared_ptr<grpc::Channel> OpenChannel(const std::string& path) {
  grpc::ChannelArguments arguments;
  // Generations with prefill logprobs and top tokens can be large; TGI sets no limit either.
  arguments.SetMaxReceiveMessageSize(-1);
  arguments.SetMaxSendMessageSize(-1);
  return grpc::CreateCustomChannel("unix:" + path, grpc::InsecureChannelCredentials(), arguments);
}

// Waits in short slices, so that `stopped` (may be empty) can end the wait early.
absl::Status WaitConnected(grpc::Channel& channel, const std::string& path,
                           std::chrono::milliseconds timeout,
                           const std::function<bool()>& stopped) {
  const auto deadline = std::chrono::system_clock::now() + timeout;
  while (std::chrono::system_clock::now() < deadline) {
    if (stopped && stopped()) return absl::CancelledError(kCancelledMessage);
    const auto slice = std::min(deadline, std::chrono::system_clock::now() +
                                              std::chrono::milliseconds(200));
    if (channel.WaitForConnected(slice)) return absl::OkStatus();
  }
  return absl::UnavailableError(
      absl::StrCat("Could not connect to Text Generation server: no answer on unix://", path,
                   " after ", timeout.count(), " ms"));
}

// One answer per shard, in rank order.
template <typename Response>
struct Answers {
  std::vector<grpc::Status> statuses;
  std::vector<Response> responses;

  // The first shard error, in rank order.
  absl::Status Status() const {
    for (const grpc::Status& status : statuses) {
      if (!status.ok()) return FromGrpc(status);
    }
    return absl::OkStatus();
  }
};

// Prefill and Decode: the generations and the next batch from rank 0 (every rank of a sharded
// model runs the same batch and draws the same tokens), timings from the slowest shard.
template <typename Response>
StepResult CombineSteps(const std::vector<Response>& responses) {
  StepResult result;
  uint64_t slowest = 0;
  for (size_t rank = 0; rank < responses.size(); ++rank) {
    const Response& response = responses[rank];
    if (rank == 0) {
      for (const pb::Generation& generation : response.generations()) {
        result.generations.push_back(FromProto(generation));
      }
    }
    if (rank == 0 && response.has_batch()) result.batch = FromProto(response.batch());
    if (rank == 0 && response.has_stats()) result.stats = FromProto(response.stats());
    if (rank == 0 || response.total_ns() > slowest) {
      slowest = response.total_ns();
      result.timings.forward_ns = response.forward_ns();
      result.timings.decode_ns = response.decode_ns();
      result.timings.total_ns = response.total_ns();
      if constexpr (std::is_same_v<Response, pb::DecodeResponse>) {
        result.timings.concat_ns.reset();
        if (response.has_concat_ns()) result.timings.concat_ns = response.concat_ns();
      }
    }
  }
  return result;
}

}  // namespace

struct GrpcShardClient::Shards {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<Stub>> stubs;

  // Zero: calls wait as long as the shards take.
  std::chrono::milliseconds rpc_timeout{0};

  // The contexts of the calls in flight, so that CancelAll can reach them.
  std::mutex mutex;
  std::set<grpc::ClientContext*> in_flight;
  bool cancelled = false;

  // Rank 0's latest KvUsage.
  mutable std::mutex usage_mutex;
  std::optional<ShardKvUsage> kv_usage;

  template <typename Response>
  void NoteUsage(const Answers<Response>& answers) {
    if (answers.responses.empty() || !answers.responses.front().has_kv_usage()) return;
    std::lock_guard lock(usage_mutex);
    kv_usage = FromProto(answers.responses.front().kv_usage());
  }

  void CancelAll() {
    std::lock_guard lock(mutex);
    cancelled = true;
    for (grpc::ClientContext* context : in_flight) context->TryCancel();
  }

  // Starts `call` on every shard at once and waits for all of them. `call` receives the stub's
  // callback interface, a fresh context, the response to fill and the completion callback. A
  // `bounded` call gets rpc_timeout as its deadline.
  template <typename Response, typename Call>
  Answers<Response> FanOut(Call call, bool bounded = true) {
    const size_t n = stubs.size();
    Answers<Response> answers;
    answers.statuses.resize(n);
    answers.responses.resize(n);
    auto contexts = std::make_unique<grpc::ClientContext[]>(n);
    if (bounded && rpc_timeout.count() > 0) {
      const auto deadline = std::chrono::system_clock::now() + rpc_timeout;
      for (size_t rank = 0; rank < n; ++rank) contexts[rank].set_deadline(deadline);
    }
    {
      std::lock_guard lock(mutex);
      if (cancelled) {
        answers.statuses.assign(n, grpc::Status(grpc::StatusCode::CANCELLED, kCancelledMessage));
        return answers;
      }
      for (size_t rank = 0; rank < n; ++rank) in_flight.insert(&contexts[rank]);
    }
    std::latch done(static_cast<std::ptrdiff_t>(n));
    for (size_t rank = 0; rank < n; ++rank) {
      call(*stubs[rank]->async(), &contexts[rank], &answers.responses[rank],
           [&answers, &done, rank](grpc::Status status) {
             answers.statuses[rank] = std::move(status);
             done.count_down();
           });
    }
    done.wait();
    std::lock_guard lock(mutex);
    for (size_t rank = 0; rank < n; ++rank) in_flight.erase(&contexts[rank]);
    return answers;
  }
};

std::string StripUnixScheme(const std::string& url) {
  constexpr std::string_view kScheme = "unix://";
  if (url.compare(0, kScheme.size(), kScheme) == 0) return url.substr(kScheme.size());
  return url;
}

GrpcShardClient::GrpcShardClient(std::vector<std::string> paths, std::unique_ptr<Shards> shards)
    : paths_(std::move(paths)), shards_(std::move(shards)) {}

GrpcShardClient::~GrpcShardClient() = default;

void GrpcShardClient::CancelAll() { shards_->CancelAll(); }

void GrpcShardClient::set_rpc_timeout(std::chrono::milliseconds timeout) {
  shards_->rpc_timeout = timeout;
}

std::optional<ShardKvUsage> GrpcShardClient::kv_usage() const {
  std::lock_guard lock(shards_->usage_mutex);
  return shards_->kv_usage;
}

absl::StatusOr<std::unique_ptr<GrpcShardClient>> GrpcShardClient::Connect(
    const std::string& master_url, std::chrono::milliseconds connect_timeout,
    std::function<bool()> stopped) {
  const std::string master_path = StripUnixScheme(master_url);
  std::shared_ptr<grpc::Channel> master = OpenChannel(master_path);
  if (absl::Status status = WaitConnected(*master, master_path, connect_timeout, stopped); !status.ok()) {
    return status;
  }
  std::unique_ptr<Stub> master_stub = pb::TextGenerationService::NewStub(master);
  grpc::ClientContext context;
  pb::ServiceDiscoveryRequest request;
  pb::ServiceDiscoveryResponse response;
  if (absl::Status status = FromGrpc(master_stub->ServiceDiscovery(&context, request, &response));
      !status.ok()) {
    return status;
  }
  if (response.urls().empty()) {
    return absl::UnavailableError("ServiceDiscovery returned no shard");
  }

  auto shards = std::make_unique<Shards>();
  std::vector<std::string> paths;
  for (const std::string& url : response.urls()) {
    std::string path = StripUnixScheme(url);
    std::shared_ptr<grpc::Channel> channel = path == master_path ? master : OpenChannel(path);
    if (absl::Status status = WaitConnected(*channel, path, connect_timeout, stopped); !status.ok()) {
      return status;
    }
    shards->stubs.push_back(pb::TextGenerationService::NewStub(channel));
    shards->channels.push_back(std::move(channel));
    paths.push_back(std::move(path));
  }
  spdlog::info("Connected to {} shard(s): {}", paths.size(), paths.front());
  return std::unique_ptr<GrpcShardClient>(new GrpcShardClient(std::move(paths), std::move(shards)));
}

absl::StatusOr<ShardInfo> GrpcShardClient::Info() {
  const pb::InfoRequest request;
  auto answers = shards_->FanOut<pb::InfoResponse>(
      [&](Stub::async_interface& stub, grpc::ClientContext* context, pb::InfoResponse* response,
          Callback done) { stub.Info(context, &request, response, std::move(done)); });
  if (absl::Status status = answers.Status(); !status.ok()) return status;
  return FromProto(answers.responses.back());
}

absl::Status GrpcShardClient::Health() {
  const pb::HealthRequest request;
  auto answers = shards_->FanOut<pb::HealthResponse>(
      [&](Stub::async_interface& stub, grpc::ClientContext* context, pb::HealthResponse* response,
          Callback done) { stub.Health(context, &request, response, std::move(done)); });
  return answers.Status();
}

absl::Status GrpcShardClient::ClearCache(std::optional<uint64_t> batch_id) {
  pb::ClearCacheRequest request;
  if (batch_id) request.set_id(*batch_id);
  auto answers = shards_->FanOut<pb::ClearCacheResponse>(
      [&](Stub::async_interface& stub, grpc::ClientContext* context,
          pb::ClearCacheResponse* response,
          Callback done) { stub.ClearCache(context, &request, response, std::move(done)); });
  if (answers.Status().ok()) shards_->NoteUsage(answers);
  return answers.Status();
}

absl::StatusOr<CachedBatch> GrpcShardClient::FilterBatch(uint64_t batch_id,
                                                         const std::vector<uint64_t>& request_ids) {
  pb::FilterBatchRequest request;
  request.set_batch_id(batch_id);
  request.mutable_request_ids()->Add(request_ids.begin(), request_ids.end());
  auto answers = shards_->FanOut<pb::FilterBatchResponse>(
      [&](Stub::async_interface& stub, grpc::ClientContext* context,
          pb::FilterBatchResponse* response,
          Callback done) { stub.FilterBatch(context, &request, response, std::move(done)); });
  if (absl::Status status = answers.Status(); !status.ok()) return status;
  shards_->NoteUsage(answers);
  return FromProto(answers.responses.front().batch());
}

absl::StatusOr<std::optional<uint32_t>> GrpcShardClient::Warmup(
    const std::vector<ShardBatch>& batches, uint32_t max_input_length, uint32_t max_prefill_tokens,
    uint32_t max_total_tokens) {
  pb::WarmupRequest request;
  for (const ShardBatch& batch : batches) ToProto(batch, request.add_batches());
  request.set_max_input_length(max_input_length);
  request.set_max_prefill_tokens(max_prefill_tokens);
  request.set_max_total_tokens(max_total_tokens);
  auto answers = shards_->FanOut<pb::WarmupResponse>(
      [&](Stub::async_interface& stub, grpc::ClientContext* context, pb::WarmupResponse* response,
          Callback done) { stub.Warmup(context, &request, response, std::move(done)); },
      /*bounded=*/false);  // warmup may take long; a stop signal cancels it
  if (absl::Status status = answers.Status(); !status.ok()) return status;
  std::optional<uint32_t> smallest;
  for (const pb::WarmupResponse& response : answers.responses) {
    if (!response.has_max_supported_total_tokens()) continue;
    smallest = std::min(smallest.value_or(UINT32_MAX), response.max_supported_total_tokens());
  }
  return smallest;
}

absl::StatusOr<StepResult> GrpcShardClient::Prefill(const ShardBatch& batch,
                                                    uint32_t max_prompt_tokens) {
  pb::PrefillRequest request;
  ToProto(batch, request.mutable_batch());
  if (max_prompt_tokens > 0) request.set_max_prompt_tokens(max_prompt_tokens);
  auto answers = shards_->FanOut<pb::PrefillResponse>(
      [&](Stub::async_interface& stub, grpc::ClientContext* context, pb::PrefillResponse* response,
          Callback done) { stub.Prefill(context, &request, response, std::move(done)); });
  if (absl::Status status = answers.Status(); !status.ok()) return status;
  shards_->NoteUsage(answers);
  return CombineSteps(answers.responses);
}

absl::StatusOr<StepResult> GrpcShardClient::Decode(const std::vector<CachedBatch>& batches,
                                                   uint32_t max_prompt_tokens) {
  pb::DecodeRequest request;
  for (const CachedBatch& batch : batches) ToProto(batch, request.add_batches());
  if (max_prompt_tokens > 0) request.set_max_prompt_tokens(max_prompt_tokens);
  auto answers = shards_->FanOut<pb::DecodeResponse>(
      [&](Stub::async_interface& stub, grpc::ClientContext* context, pb::DecodeResponse* response,
          Callback done) { stub.Decode(context, &request, response, std::move(done)); });
  if (absl::Status status = answers.Status(); !status.ok()) return status;
  shards_->NoteUsage(answers);
  return CombineSteps(answers.responses);
}

}  // namespace tgi::router
