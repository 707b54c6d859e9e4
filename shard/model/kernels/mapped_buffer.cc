#include "shard/model/kernels/mapped_buffer.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tgi::shard::kernels {

absl::StatusOr<MappedBuffer> MappedBuffer::Allocate(size_t bytes, Kind kind) {
  MappedBuffer buffer;
  if (bytes == 0) return buffer;
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
  if (kind == Kind::kReserve) flags |= MAP_NORESERVE;
  void* data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (data == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot map ", bytes, " bytes: ", std::strerror(errno)));
  }
  // Weights are streamed every step: 2 MiB pages spare most TLB misses. Only a hint.
  if (kind == Kind::kWeights) madvise(data, bytes, MADV_HUGEPAGE);
  buffer.data_ = std::shared_ptr<void>(data, [bytes](void* p) { munmap(p, bytes); });
  buffer.size_ = bytes;
  return buffer;
}

}  // namespace tgi::shard::kernels
