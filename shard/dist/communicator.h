// The ranks of one tensor-parallel model and their collectives. The only place in the shard that
// knows which backend carries them: shared memory between ranks on one host, c10d's Gloo between
// hosts (NCCL would go here for CUDA ranks). The ranks meet through c10d's TCP store at
// MASTER_ADDR:MASTER_PORT (rank 0 serves it), as torch.distributed does. With one rank there is no process group and every collective is the
// identity. Every collective fails (never hangs) when a peer does not take part within the timeout
// or has gone; after a failure the group is broken and every later collective fails too.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tgi::shard::dist {

struct CommunicatorOptions {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "localhost";
  int master_port = 29500;
  // How long a collective (and the rendezvous) waits for every rank.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // Carry the collectives through shared memory when every rank can map it (they share a host);
  // otherwise, or when false, through Gloo.
  bool shared_memory = true;
};

class Communicator {
 public:
  // Joins the group; blocks until every rank has joined or the timeout passes.
  static absl::StatusOr<std::unique_ptr<Communicator>> Connect(const CommunicatorOptions& options);
  // One rank, no peers.
  static std::unique_ptr<Communicator> Single();

  virtual ~Communicator() = default;
  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  virtual std::string backend() const = 0;  // "none", "shm" or "gloo"

  // data[i] = the sum over ranks of data[i] (float32, in place), added in rank order whatever
  // `count` is, so that every rank gets the same bits and an element's sum never depends on the
  // rest of the buffer.
  virtual absl::Status AllReduceSum(float* data, int64_t count) = 0;
  // out [world_size][count] = every rank's `in` [count], in rank order.
  virtual absl::Status AllGather(const float* in, int64_t count, float* out) = 0;
  // The smallest `value` over the ranks.
  virtual absl::StatusOr<int64_t> AllReduceMin(int64_t value) = 0;

 protected:
  Communicator(int rank, int world_size) : rank_(rank), world_size_(world_size) {}

 private:
  int rank_;
  int world_size_;
};

}  // namespace tgi::shard::dist
