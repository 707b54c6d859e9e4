// The collectives of ranks on one host, through one POSIX shared-memory segment: each rank copies
// its part into its own slot, publishes a sequence number and reads the other slots once their
// numbers have come. A collective costs a few cache-line transfers instead of the Gloo TCP round
// trips, which are milliseconds on a busy machine. Knows nothing of tensors or of the model; the
// communicator decides when it is used (every rank must have mapped the segment).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace c10d {
class Store;
}

namespace tgi::shard::dist {

class SharedMemoryGroup {
 public:
  // Every rank calls Join with the same store. Rank 0 creates the segment and names it in the
  // store; the others map it. Fails (on every rank alike) when any rank could not map it, e.g. when
  // the ranks are on different hosts; the caller then uses another transport. The segment's name
  // is unlinked once every rank has it mapped, so nothing is left in /dev/shm whatever happens.
  static absl::StatusOr<std::unique_ptr<SharedMemoryGroup>> Join(c10d::Store& store, int rank,
                                                                 int world_size,
                                                                 std::chrono::milliseconds timeout);
  ~SharedMemoryGroup();  // tells the peers this rank is gone

  SharedMemoryGroup(const SharedMemoryGroup&) = delete;
  SharedMemoryGroup& operator=(const SharedMemoryGroup&) = delete;

  // out [world_size][bytes] = every rank's `in` [bytes], in rank order.
  absl::Status Gather(const void* in, size_t bytes, void* out);
  // data[i] = the sum over ranks of data[i], added in rank order (the same bits on every rank).
  absl::Status Sum(float* data, int64_t count);

  // Bytes one collective moves per rank at once; larger ones go in pieces of this size.
  static constexpr size_t kSlotBytes = size_t{2} << 20;

 private:
  struct Header;
  // The segment: [world_size] Header, padded to a page, then [world_size][2][kSlotBytes].
  static size_t HeadersBytes(int world_size);
  static size_t SegmentBytes(int world_size);
  SharedMemoryGroup(int rank, int world_size, std::chrono::milliseconds timeout, void* mapping,
                    size_t mapping_bytes);

  Header& header(int rank) const;
  // The slot where `rank` writes the collective with sequence number `sequence`: two per rank,
  // used in turn, so a rank one collective ahead never overwrites what a slower peer still reads.
  uint8_t* slot(int rank, uint64_t sequence) const;
  // Copies `bytes` (≤ kSlotBytes) into this rank's next slot and waits until every rank has
  // published the same collective.
  absl::Status Exchange(const void* in, size_t bytes);
  absl::Status WaitFor(int peer);

  int rank_;
  int world_size_;
  std::chrono::milliseconds timeout_;
  void* mapping_;
  size_t mapping_bytes_;
  uint64_t sequence_ = 0;  // of the last collective this rank published
  bool check_peer_processes_ = true;
};

}  // namespace tgi::shard::dist
