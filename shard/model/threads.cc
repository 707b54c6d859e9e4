#include "shard/model/threads.h"

#include <ATen/Parallel.h>
#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <exception>
#include <thread>

// OpenBLAS (libtorch's BLAS on Debian) reports how it was built: 0 sequential, 1 pthreads,
// 2 OpenMP. Weak: absent when libtorch uses another BLAS.
extern "C" int openblas_get_parallel() __attribute__((weak));
extern "C" void openblas_set_num_threads(int num_threads) __attribute__((weak));

namespace tgi::shard {

namespace {

std::vector<int> ReadAffinity() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  }
  if (cpus.empty()) {
    const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned cpu = 0; cpu < hardware; ++cpu) cpus.push_back(static_cast<int>(cpu));
  }
  return cpus;
}

}  // namespace

std::vector<int> AffinityCpus() {
  // Read once: pinning narrows the calling thread's own mask afterwards.
  static const std::vector<int> cpus = ReadAffinity();
  return cpus;
}

int AffinityCpuCount() { return static_cast<int>(AffinityCpus().size()); }

namespace {

// Binds every thread of ATen's pool to one CPU: thread i (i = 0 is the caller) to cpus[i]. True
// only when `threads` distinct threads each bound themselves (a parallel_for that ran serially,
// on one thread, binds nothing usable and says so).
bool PinPool(const std::vector<int>& cpus, int threads) {
  std::vector<pthread_t> bound(static_cast<size_t>(threads));
  std::vector<char> ok(static_cast<size_t>(threads), 0);
  at::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
    if (end - begin != 1) return;  // one thread ran several slots: not a pool
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus[static_cast<size_t>(begin) % cpus.size()], &set);
    bound[static_cast<size_t>(begin)] = pthread_self();
    ok[static_cast<size_t>(begin)] =
        pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0 ? 1 : 0;
  });
  for (int i = 0; i < threads; ++i) {
    if (!ok[static_cast<size_t>(i)]) return false;
    for (int j = 0; j < i; ++j) {
      if (pthread_equal(bound[static_cast<size_t>(i)], bound[static_cast<size_t>(j)])) return false;
    }
  }
  return true;
}

}  // namespace

ThreadConfig ConfigureThreads(int n) {
  const std::vector<int> cpus = AffinityCpus();
  if (n <= 0) n = static_cast<int>(cpus.size());
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
  ThreadConfig config;
  config.threads = at::get_num_threads();
  // The kernels never call BLAS; a pthread OpenBLAS pool would only spin against ATen's. An
  // OpenMP OpenBLAS shares ATen's pool already (and its set_num_threads would resize that pool).
  const int blas_parallel = openblas_get_parallel != nullptr ? openblas_get_parallel() : -1;
  if (blas_parallel == 1 && openblas_set_num_threads != nullptr) {
    openblas_set_num_threads(1);
    config.blas = "OpenBLAS (pthreads) held at 1 thread";
  } else if (blas_parallel == 2) {
    config.blas = "OpenBLAS (OpenMP) on the same pool";
  } else {
    config.blas = blas_parallel == 0 ? "OpenBLAS (sequential)" : "no OpenBLAS";
  }
  if (config.threads == static_cast<int>(cpus.size()) && config.threads > 1) {
    config.pinned = PinPool(cpus, config.threads);
  }
  spdlog::info("threads: {} intra-op ({}), {} inter-op; {}", config.threads,
               config.pinned ? "pinned one per CPU" : "not pinned", at::get_num_interop_threads(),
               config.blas);
  return config;
}

}  // namespace tgi::shard
