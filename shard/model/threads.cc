#include "shard/model/threads.h"

#include <ATen/Parallel.h>
#include <sched.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <exception>
#include <thread>

// OpenBLAS (Debian's libtorch matmul backend for float32) keeps its own thread pool, which
// at::set_num_threads does not size. Weak: absent when libtorch uses another BLAS.
extern "C" void openblas_set_num_threads(int num_threads) __attribute__((weak));

namespace tgi::shard {

int AffinityCpuCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return count;
  }
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? static_cast<int>(hardware) : 1;
}

int ConfigureTorchThreads(int n) {
  if (n <= 0) n = AffinityCpuCount();
  // The inter-op pool can be sized only once, and only before it has run anything; the shard
  // runs one model thread, so one inter-op thread is enough.
  static std::atomic<bool> interop_configured{false};
  if (!interop_configured.exchange(true)) {
    try {
      at::set_num_interop_threads(1);
    } catch (const std::exception& e) {
      spdlog::warn("cannot set libtorch inter-op threads to 1: {}", e.what());
    }
  }
  at::set_num_threads(n);
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(n);
  spdlog::info("libtorch: {} intra-op threads, {} inter-op", at::get_num_threads(),
               at::get_num_interop_threads());
  return at::get_num_threads();
}

}  // namespace tgi::shard
