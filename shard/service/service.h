// The generate.v2 TextGenerationService of one shard: converts proto messages to the batch layer's
// plain types and back, runs every call on the model thread, and turns errors (statuses and
// exceptions) into gRPC statuses with readable messages. The only code that knows proto types.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "shard/batch/engine.h"
#include "generate.grpc.pb.h"
#include "shard/service/model_thread.h"

namespace tgi::shard {

struct ServiceInfo {
  std::string dtype;        // e.g. "torch.float32"
  std::string device_type;  // "cpu" or "cuda"
  std::vector<std::string> urls;  // unix:// URL of every rank
};

class TextGenerationService final : public generate::v2::TextGenerationService::Service {
 public:
  TextGenerationService(Engine& engine, ModelThread& model_thread, ServiceInfo info);

  grpc::Status Info(grpc::ServerContext*, const generate::v2::InfoRequest*,
                    generate::v2::InfoResponse*) override;
  grpc::Status ServiceDiscovery(grpc::ServerContext*, const generate::v2::ServiceDiscoveryRequest*,
                                generate::v2::ServiceDiscoveryResponse*) override;
  grpc::Status ClearCache(grpc::ServerContext*, const generate::v2::ClearCacheRequest*,
                          generate::v2::ClearCacheResponse*) override;
  grpc::Status FilterBatch(grpc::ServerContext*, const generate::v2::FilterBatchRequest*,
                           generate::v2::FilterBatchResponse*) override;
  grpc::Status Warmup(grpc::ServerContext*, const generate::v2::WarmupRequest*,
                      generate::v2::WarmupResponse*) override;
  grpc::Status Prefill(grpc::ServerContext*, const generate::v2::PrefillRequest*,
                       generate::v2::PrefillResponse*) override;
  grpc::Status Decode(grpc::ServerContext*, const generate::v2::DecodeRequest*,
                      generate::v2::DecodeResponse*) override;
  grpc::Status Health(grpc::ServerContext*, const generate::v2::HealthRequest*,
                      generate::v2::HealthResponse*) override;

 private:
  // Runs `work` on the model thread; an exception becomes INTERNAL.
  template <typename F>
  grpc::Status OnModelThread(const char* rpc, F work);

  Engine& engine_;
  ModelThread& model_thread_;
  ServiceInfo info_;
};

}  // namespace tgi::shard
