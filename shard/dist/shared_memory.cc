#include "shard/dist/shared_memory.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"

namespace tgi::shard::dist {
namespace {

constexpr size_t kPage = 4096;
constexpr char kNameKey[] = "shm/name";  // the segment's name, or "-" and rank 0's error
constexpr char kMapped[] = "mapped";
// Polls of a peer's sequence number before the wait starts yielding the core (ranks may share
// cores, as in tests); a collective between busy ranks is usually done within these.
constexpr int kSpins = 256;
constexpr std::chrono::milliseconds kProcessCheckInterval{10};

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }
std::string Text(const std::vector<uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

std::string SegmentName() {
  std::random_device random;
  return absl::StrCat("/tgi-tp-", getpid(), "-", random(), random());
}

std::string ErrnoText(const char* what, const std::string& name) {
  return absl::StrCat(what, " ", name, ": ", std::strerror(errno));
}

// Maps the segment `name` (creating it at `bytes` when `create`); nullptr with `error` set if not.
void* MapSegment(const std::string& name, size_t bytes, bool create, std::string& error) {
  const int fd = shm_open(name.c_str(), create ? O_RDWR | O_CREAT | O_EXCL : O_RDWR, 0600);
  if (fd < 0) {
    error = ErrnoText("shm_open", name);
    return nullptr;
  }
  absl::Cleanup close_fd = [fd] { close(fd); };
  absl::Cleanup unlink_if_failed = [&] {
    if (create && !error.empty()) shm_unlink(name.c_str());
  };
  // Allocated now rather than at first touch: a /dev/shm too small (a container's 64 MiB default)
  // fails here, and the ranks use Gloo, instead of a SIGBUS in the middle of a collective.
  if (create) {
    if (const int failed = posix_fallocate(fd, 0, static_cast<off_t>(bytes)); failed != 0) {
      errno = failed;
      error = ErrnoText("posix_fallocate", name);
      return nullptr;
    }
  }
  struct stat info {};
  if (fstat(fd, &info) != 0 || static_cast<size_t>(info.st_size) != bytes) {
    error = absl::StrCat("shared memory ", name, " is not ", bytes, " bytes");
    return nullptr;
  }
  void* mapping = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mapping == MAP_FAILED) {
    error = ErrnoText("mmap", name);
    return nullptr;
  }
  return mapping;
}

}  // namespace

// One per rank, each on its own cache line, at the start of the segment. Written by its rank,
// read by the others; accessed only through atomic_ref.
struct alignas(64) SharedMemoryGroup::Header {
  uint64_t published;  // sequence number of the collective whose part is in the rank's slot
  int32_t pid;
  int32_t gone;  // set when the rank leaves the group
};

size_t SharedMemoryGroup::HeadersBytes(int world_size) {
  const size_t bytes = sizeof(Header) * static_cast<size_t>(world_size);
  return (bytes + kPage - 1) / kPage * kPage;
}

size_t SharedMemoryGroup::SegmentBytes(int world_size) {
  return HeadersBytes(world_size) + size_t{2} * kSlotBytes * static_cast<size_t>(world_size);
}

absl::StatusOr<std::unique_ptr<SharedMemoryGroup>> SharedMemoryGroup::Join(
    c10d::Store& store, int rank, int world_size, std::chrono::milliseconds timeout) {
  const size_t bytes = SegmentBytes(world_size);
  std::string name;
  std::string error;
  void* mapping = nullptr;
  if (rank == 0) {
    name = SegmentName();
    mapping = MapSegment(name, bytes, /*create=*/true, error);
    store.set(kNameKey, Bytes(mapping == nullptr ? absl::StrCat("-", error) : name));
  } else {
    name = Text(store.get(kNameKey));
    if (name.empty() || name.front() == '-') {
      error = absl::StrCat("rank 0 could not create its shared memory: ", name.substr(name.empty() ? 0 : 1));
    } else {
      mapping = MapSegment(name, bytes, /*create=*/false, error);
    }
  }
  // Rank 0 unlinks the name once every rank has answered, mapped or not.
  absl::Cleanup unlink_name = [&] {
    if (rank == 0 && mapping != nullptr) shm_unlink(name.c_str());
  };
  std::unique_ptr<SharedMemoryGroup> group;
  if (mapping != nullptr) {
    group.reset(new SharedMemoryGroup(rank, world_size, timeout, mapping, bytes));
  }
  // Values are never empty: c10d's TCPStore takes hundreds of milliseconds to get an empty one.
  store.set(absl::StrCat("shm/mapped/", rank), Bytes(group != nullptr ? kMapped : error));
  for (int peer = 0; peer < world_size; ++peer) {
    const std::string answer = Text(store.get(absl::StrCat("shm/mapped/", peer)));
    if (answer != kMapped) {
      return absl::UnavailableError(
          absl::StrCat("rank ", peer, " cannot share memory with rank 0: ", answer));
    }
  }
  // Ranks in other PID namespaces cannot see each other's processes: rely on the timeout there.
  for (int peer = 0; peer < world_size; ++peer) {
    const pid_t pid = std::atomic_ref(group->header(peer).pid).load(std::memory_order_acquire);
    if (kill(pid, 0) != 0 && errno == ESRCH) group->check_peer_processes_ = false;
  }
  return group;
}

SharedMemoryGroup::SharedMemoryGroup(int rank, int world_size, std::chrono::milliseconds timeout,
                                     void* mapping, size_t mapping_bytes)
    : rank_(rank),
      world_size_(world_size),
      timeout_(timeout),
      mapping_(mapping),
      mapping_bytes_(mapping_bytes) {
  std::atomic_ref(header(rank).pid).store(getpid(), std::memory_order_release);
}

SharedMemoryGroup::~SharedMemoryGroup() {
  std::atomic_ref(header(rank_).gone).store(1, std::memory_order_release);
  munmap(mapping_, mapping_bytes_);
}

SharedMemoryGroup::Header& SharedMemoryGroup::header(int rank) const {
  return static_cast<Header*>(mapping_)[rank];
}

uint8_t* SharedMemoryGroup::slot(int rank, uint64_t sequence) const {
  const size_t index = static_cast<size_t>(rank) * 2 + (sequence & 1);
  return static_cast<uint8_t*>(mapping_) + HeadersBytes(world_size_) + index * kSlotBytes;
}

absl::Status SharedMemoryGroup::WaitFor(int peer) {
  Header& peer_header = header(peer);
  const std::atomic_ref published(peer_header.published);
  for (int i = 0; i < kSpins; ++i) {
    if (published.load(std::memory_order_acquire) >= sequence_) return absl::OkStatus();
    CpuRelax();
  }
  const auto start = std::chrono::steady_clock::now();
  auto next_process_check = start + kProcessCheckInterval;
  while (published.load(std::memory_order_acquire) < sequence_) {
    if (std::atomic_ref(peer_header.gone).load(std::memory_order_acquire) != 0) {
      return absl::UnavailableError(absl::StrCat("rank ", peer, " left the group"));
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - start > timeout_) {
      return absl::DeadlineExceededError(
          absl::StrCat("rank ", peer, " did not take part within ", timeout_.count(), " ms"));
    }
    if (check_peer_processes_ && now >= next_process_check) {
      const pid_t pid = std::atomic_ref(peer_header.pid).load(std::memory_order_relaxed);
      if (kill(pid, 0) != 0 && errno == ESRCH) {
        return absl::UnavailableError(absl::StrCat("rank ", peer, " (pid ", pid, ") exited"));
      }
      next_process_check = now + kProcessCheckInterval;
    }
    std::this_thread::yield();
  }
  return absl::OkStatus();
}

absl::Status SharedMemoryGroup::Exchange(const void* in, size_t bytes) {
  ++sequence_;
  std::memcpy(slot(rank_, sequence_), in, bytes);
  std::atomic_ref(header(rank_).published).store(sequence_, std::memory_order_release);
  for (int peer = 0; peer < world_size_; ++peer) {
    if (peer == rank_) continue;
    if (absl::Status status = WaitFor(peer); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status SharedMemoryGroup::Gather(const void* in, size_t bytes, void* out) {
  const auto* source = static_cast<const uint8_t*>(in);
  auto* target = static_cast<uint8_t*>(out);
  size_t offset = 0;
  do {  // at least once: a collective of no bytes still meets every rank
    const size_t piece = std::min(kSlotBytes, bytes - offset);
    if (absl::Status status = Exchange(source + offset, piece); !status.ok()) return status;
    for (int rank = 0; rank < world_size_; ++rank) {
      std::memcpy(target + rank * bytes + offset, slot(rank, sequence_), piece);
    }
    offset += piece;
  } while (offset < bytes);
  return absl::OkStatus();
}

absl::Status SharedMemoryGroup::Sum(float* data, int64_t count) {
  constexpr int64_t kSlotFloats = static_cast<int64_t>(kSlotBytes / sizeof(float));
  int64_t offset = 0;
  do {
    const int64_t piece = std::min(kSlotFloats, count - offset);
    float* part = data + offset;
    if (absl::Status status = Exchange(part, static_cast<size_t>(piece) * sizeof(float));
        !status.ok()) {
      return status;
    }
    const auto* first = reinterpret_cast<const float*>(slot(0, sequence_));
    std::copy_n(first, piece, part);
    for (int rank = 1; rank < world_size_; ++rank) {
      const auto* addend = reinterpret_cast<const float*>(slot(rank, sequence_));
      for (int64_t i = 0; i < piece; ++i) part[i] += addend[i];
    }
    offset += piece;
  } while (offset < count);
  return absl::OkStatus();
}

}  // namespace tgi::shard::dist
