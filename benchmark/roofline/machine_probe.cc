#include "benchmark/roofline/machine_probe.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tgi::benchmark::roofline {

namespace {

using Clock = std::chrono::steady_clock;

int ThreadCount(int requested) {
  const int cpus = static_cast<int>(AffinityCpus().size());
  return requested > 0 ? requested : std::max(1, cpus);
}

void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// Sums 64-bit words with four independent accumulators, so that the loop is bound by loads
// (the compiler vectorises it, to the widest vectors the CPU has) rather than by one addition
// chain.
#if defined(__x86_64__) && defined(__ELF__)
__attribute__((target_clones("default", "avx2", "avx512f")))
#endif
uint64_t SumWords(const uint64_t* words, size_t count) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  size_t i = 0;
  for (; i + 4 <= count; i += 4) {
    a += words[i];
    b += words[i + 1];
    c += words[i + 2];
    d += words[i + 3];
  }
  for (; i < count; ++i) a += words[i];
  return a + b + c + d;
}

// An anonymous mapping, so that 2 GiB come straight from the kernel and go back at once.
class Buffer {
 public:
  explicit Buffer(size_t bytes) : bytes_(bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    data_ = p == MAP_FAILED ? nullptr : static_cast<uint64_t*>(p);
    // In 2 MiB pages where the kernel allows, as the shard maps its weights: a stream of 4 KiB
    // pages measures TLB misses and prefetchers stopping at page ends, not the memory bus.
    if (data_ != nullptr) madvise(data_, bytes_, MADV_HUGEPAGE);
  }
  ~Buffer() {
    if (data_) munmap(data_, bytes_);
  }
  uint64_t* data() const { return data_; }

 private:
  size_t bytes_;
  uint64_t* data_;
};

}  // namespace

std::vector<int> AffinityCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

absl::StatusOr<BandwidthResult> MeasureReadBandwidth(const BandwidthOptions& options) {
  const int threads = ThreadCount(options.threads);
  const std::vector<int> cpus = AffinityCpus();
  const size_t words = options.bytes / sizeof(uint64_t);
  Buffer buffer(words * sizeof(uint64_t));
  if (!buffer.data()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot map ", options.bytes, " bytes for the bandwidth probe"));
  }
  const size_t per_thread = words / static_cast<size_t>(threads);
  std::barrier sync(threads + 1);
  std::atomic<uint64_t> sink{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      if (!cpus.empty()) PinToCpu(cpus[static_cast<size_t>(t) % cpus.size()]);
      uint64_t* slice = buffer.data() + static_cast<size_t>(t) * per_thread;
      // First touch by the reading thread: its pages are local to its CPU.
      for (size_t i = 0; i < per_thread; ++i) slice[i] = i;
      sync.arrive_and_wait();
      for (int pass = 0; pass < options.passes; ++pass) {
        sync.arrive_and_wait();
        sink.fetch_add(SumWords(slice, per_thread), std::memory_order_relaxed);
        sync.arrive_and_wait();
      }
    });
  }
  sync.arrive_and_wait();  // every slice written
  double best = 0;
  for (int pass = 0; pass < options.passes; ++pass) {
    sync.arrive_and_wait();
    const Clock::time_point start = Clock::now();
    sync.arrive_and_wait();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::max(best, static_cast<double>(per_thread * threads * sizeof(uint64_t)) / seconds);
  }
  for (std::thread& worker : workers) worker.join();
  return BandwidthResult{.bytes_per_second = best,
                         .bytes = per_thread * threads * sizeof(uint64_t),
                         .threads = threads,
                         .passes = options.passes};
}

SgemmResult MeasureSgemm(const SgemmOptions& options) {
  const int threads = ThreadCount(options.threads);
  openblas_set_num_threads(threads);
  const int n = options.n;
  const size_t elements = static_cast<size_t>(n) * static_cast<size_t>(n);
  std::vector<float> a(elements), b(elements), c(elements);
  for (size_t i = 0; i < elements; ++i) {
    a[i] = static_cast<float>(i % 7) * 0.25f - 0.75f;
    b[i] = static_cast<float>(i % 5) * 0.5f - 1.0f;
  }
  const double flops = 2.0 * n * static_cast<double>(n) * n;
  double best = 0;
  for (int call = 0; call <= options.repeats; ++call) {
    const Clock::time_point start = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(),
                n, 0.0f, c.data(), n);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (call > 0) best = std::max(best, flops / seconds);  // call 0 warms threads and caches
  }
  return SgemmResult{.flops_per_second = best,
                     .core = openblas_get_corename(),
                     .n = n,
                     .threads = threads,
                     .repeats = options.repeats};
}

void ReexecIfOpenBlasMisdetects(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  const std::string core = absl::AsciiStrToLower(openblas_get_corename());
  const bool avx512_kernels = core == "skylakex" || core == "cooperlake" ||
                              core == "sapphirerapids";
  const bool avx2_kernels = avx512_kernels || core == "haswell" || core == "zen";
  const char* wanted = nullptr;
  if (__builtin_cpu_supports("avx512f") && !avx512_kernels) {
    wanted = "SkylakeX";
  } else if (__builtin_cpu_supports("avx2") && !avx2_kernels) {
    wanted = "Haswell";
  }
  if (wanted == nullptr) return;
  setenv("OPENBLAS_CORETYPE", wanted, 1);
  execv("/proc/self/exe", argv);
}

absl::StatusOr<MachineProfile> ProbeMachine(const BandwidthOptions& bandwidth,
                                            const SgemmOptions& sgemm) {
  absl::StatusOr<BandwidthResult> read = MeasureReadBandwidth(bandwidth);
  if (!read.ok()) return read.status();
  return MachineProfile{.bandwidth = *read, .sgemm = MeasureSgemm(sgemm)};
}

}  // namespace tgi::benchmark::roofline
