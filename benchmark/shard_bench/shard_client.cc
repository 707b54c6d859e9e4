#include "benchmark/shard_bench/shard_client.h"

#include <grpcpp/grpcpp.h>

#include <functional>
#include <latch>

#include "absl/strings/str_cat.h"
#include "generate.grpc.pb.h"

namespace tgi::benchmark {

namespace {

namespace pb = generate::v2;
using AsyncStub = pb::TextGenerationService::Stub::async_interface;
using Done = std::function<void(grpc::Status)>;

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::string StripScheme(const std::string& url) {
  constexpr std::string_view kScheme = "unix://";
  return url.starts_with(kScheme) ? url.substr(kScheme.size()) : url;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& path,
                                                           std::chrono::milliseconds timeout) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(-1);
  arguments.SetMaxSendMessageSize(-1);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel("unix:" + path, grpc::InsecureChannelCredentials(), arguments);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + timeout)) {
    return absl::UnavailableError(absl::StrCat("Could not connect to the shard at unix://", path,
                                               " within ", timeout.count(), " ms"));
  }
  return channel;
}

}  // namespace

struct ShardClient::Stubs {
  std::vector<std::unique_ptr<pb::TextGenerationService::Stub>> stubs;

  // Starts `call(stub, context, response, done)` on every shard and waits for all answers;
  // rank 0's response, or the first error in rank order.
  template <typename Response, typename Call>
  absl::StatusOr<Response> FanOut(Call call) {
    const size_t n = stubs.size();
    std::vector<grpc::Status> statuses(n);
    std::vector<Response> responses(n);
    auto contexts = std::make_unique<grpc::ClientContext[]>(n);
    std::latch done(static_cast<std::ptrdiff_t>(n));
    for (size_t rank = 0; rank < n; ++rank) {
      call(*stubs[rank]->async(), &contexts[rank], &responses[rank],
           [&statuses, &done, rank](grpc::Status status) {
             statuses[rank] = std::move(status);
             done.count_down();
           });
    }
    done.wait();
    for (const grpc::Status& status : statuses) {
      if (!status.ok()) return FromGrpc(status);
    }
    return std::move(responses.front());
  }
};

ShardClient::ShardClient(std::vector<std::string> paths, std::unique_ptr<Stubs> stubs)
    : paths_(std::move(paths)), stubs_(std::move(stubs)) {}

ShardClient::~ShardClient() = default;

absl::StatusOr<std::unique_ptr<ShardClient>> ShardClient::Connect(
    const std::string& master, std::chrono::milliseconds timeout) {
  const std::string master_path = StripScheme(master);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> master_channel = OpenChannel(master_path, timeout);
  if (!master_channel.ok()) return master_channel.status();
  auto master_stub = pb::TextGenerationService::NewStub(*master_channel);
  grpc::ClientContext context;
  pb::ServiceDiscoveryResponse discovery;
  if (absl::Status status = FromGrpc(
          master_stub->ServiceDiscovery(&context, pb::ServiceDiscoveryRequest(), &discovery));
      !status.ok()) {
    return status;
  }
  if (discovery.urls().empty()) return absl::UnavailableError("ServiceDiscovery named no shard");

  auto stubs = std::make_unique<Stubs>();
  std::vector<std::string> paths;
  for (const std::string& url : discovery.urls()) {
    std::string path = StripScheme(url);
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        path == master_path ? master_channel : OpenChannel(path, timeout);
    if (!channel.ok()) return channel.status();
    stubs->stubs.push_back(pb::TextGenerationService::NewStub(*channel));
    paths.push_back(std::move(path));
  }
  return std::unique_ptr<ShardClient>(new ShardClient(std::move(paths), std::move(stubs)));
}

absl::StatusOr<pb::InfoResponse> ShardClient::Info() {
  const pb::InfoRequest request;
  return stubs_->FanOut<pb::InfoResponse>(
      [&](AsyncStub& stub, grpc::ClientContext* context, pb::InfoResponse* response, Done done) {
        stub.Info(context, &request, response, std::move(done));
      });
}

absl::Status ShardClient::ClearCache(std::optional<uint64_t> batch_id) {
  pb::ClearCacheRequest request;
  if (batch_id) request.set_id(*batch_id);
  return stubs_
      ->FanOut<pb::ClearCacheResponse>([&](AsyncStub& stub, grpc::ClientContext* context,
                                           pb::ClearCacheResponse* response, Done done) {
        stub.ClearCache(context, &request, response, std::move(done));
      })
      .status();
}

absl::StatusOr<pb::PrefillResponse> ShardClient::Prefill(const pb::Batch& batch) {
  pb::PrefillRequest request;
  *request.mutable_batch() = batch;
  return stubs_->FanOut<pb::PrefillResponse>(
      [&](AsyncStub& stub, grpc::ClientContext* context, pb::PrefillResponse* response, Done done) {
        stub.Prefill(context, &request, response, std::move(done));
      });
}

absl::StatusOr<pb::DecodeResponse> ShardClient::Decode(const std::vector<pb::CachedBatch>& batches) {
  pb::DecodeRequest request;
  for (const pb::CachedBatch& batch : batches) *request.add_batches() = batch;
  return stubs_->FanOut<pb::DecodeResponse>(
      [&](AsyncStub& stub, grpc::ClientContext* context, pb::DecodeResponse* response, Done done) {
        stub.Decode(context, &request, response, std::move(done));
      });
}

}  // namespace tgi::benchmark
