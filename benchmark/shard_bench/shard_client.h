// The benchmark's own gRPC client to the shards (generate.v2), as TGI's ShardedClient: it asks
// the master shard for every shard's socket (ServiceDiscovery), sends each RPC to all of them at
// once and answers with rank 0's response, or the first error in rank order. Blocking calls; one
// caller at a time. It must not link router code.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "generate.pb.h"

namespace tgi::benchmark {

class ShardClient {
 public:
  // `master` is a socket path or a unix:// url. Waits up to `timeout` for every shard.
  static absl::StatusOr<std::unique_ptr<ShardClient>> Connect(const std::string& master,
                                                              std::chrono::milliseconds timeout);
  ~ShardClient();
  ShardClient(const ShardClient&) = delete;
  ShardClient& operator=(const ShardClient&) = delete;

  absl::StatusOr<generate::v2::InfoResponse> Info();
  absl::Status ClearCache(std::optional<uint64_t> batch_id);
  absl::StatusOr<generate::v2::PrefillResponse> Prefill(const generate::v2::Batch& batch);
  absl::StatusOr<generate::v2::DecodeResponse> Decode(
      const std::vector<generate::v2::CachedBatch>& batches);

  // The shards' socket paths, in rank order.
  const std::vector<std::string>& paths() const { return paths_; }

 private:
  struct Stubs;
  ShardClient(std::vector<std::string> paths, std::unique_ptr<Stubs> stubs);

  std::vector<std::string> paths_;
  std::unique_ptr<Stubs> stubs_;
};

}  // namespace tgi::benchmark
