// ShardClient over gRPC: asks the master shard for every shard's socket (ServiceDiscovery), then
// sends each call to all shards in parallel with identical arguments and combines the answers as
// TGI's sharded client does. Owns the channels and stubs only; the proto types stay in the .cc.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "router/shard_client/shard_client.h"

namespace tgi::router {

class GrpcShardClient final : public ShardClient {
 public:
  // `master_url` is "unix:///path/to/socket" or a bare socket path. Waits up to `connect_timeout`
  // for each socket to accept a connection; CANCELLED as soon as `stopped` (if given) is true.
  static absl::StatusOr<std::unique_ptr<GrpcShardClient>> Connect(
      const std::string& master_url,
      std::chrono::milliseconds connect_timeout = std::chrono::seconds(10),
      std::function<bool()> stopped = nullptr);
  ~GrpcShardClient() override;

  // Cancels every call in flight and fails every later one with CANCELLED ("the router is
  // stopping"): a stop signal must not wait for a long warmup or a hung shard. Thread-safe.
  void CancelAll();

  // Every call but Warmup fails with DEADLINE_EXCEEDED when a shard has not answered within
  // `timeout` (a stopped or hung shard, a stuck collective); zero: no deadline (the default).
  // Set before the first call.
  void set_rpc_timeout(std::chrono::milliseconds timeout);

  // Rank 0's KV cache use as its latest answer reported it (tgi-cpp shards report it on every
  // call that changes it); nullopt before the first or with another server's shards. Thread-safe.
  std::optional<ShardKvUsage> kv_usage() const;

  // The socket paths of the shards, in rank order (ServiceDiscovery's order).
  const std::vector<std::string>& shard_paths() const { return paths_; }

  absl::StatusOr<ShardInfo> Info() override;
  absl::Status Health() override;
  absl::Status ClearCache(std::optional<uint64_t> batch_id) override;
  absl::StatusOr<CachedBatch> FilterBatch(uint64_t batch_id,
                                          const std::vector<uint64_t>& request_ids) override;
  absl::StatusOr<std::optional<uint32_t>> Warmup(const std::vector<ShardBatch>& batches,
                                                 uint32_t max_input_length,
                                                 uint32_t max_prefill_tokens,
                                                 uint32_t max_total_tokens) override;
  absl::StatusOr<StepResult> Prefill(const ShardBatch& batch, uint32_t max_prompt_tokens) override;
  absl::StatusOr<StepResult> Decode(const std::vector<CachedBatch>& batches,
                                    uint32_t max_prompt_tokens) override;

 private:
  struct Shards;  // the channels and stubs, one per shard

  GrpcShardClient(std::vector<std::string> paths, std::unique_ptr<Shards> shards);

  std::vector<std::string> paths_;
  std::unique_ptr<Shards> shards_;
};

// "unix:///tmp/s-0" -> "/tmp/s-0"; anything else is returned as is.
std::string StripUnixScheme(const std::string& url);

}  // namespace tgi::router
