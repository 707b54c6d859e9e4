// The shard's one CPU thread pool: ATen's intra-op pool (OpenMP in Debian's libtorch), which every
// kernel runs on. OpenBLAS's own pthread pool, when libtorch's OpenBLAS is the pthread build, is
// held at one thread so that no second pool spins on the same cores. Call once at start-up, on
// the model thread, before any tensor work. Reads no environment.
#pragma once

#include <vector>

namespace tgi::shard {

// The CPUs of this process's affinity mask (sched_getaffinity of the first caller, read once), in
// ascending order; never empty.
std::vector<int> AffinityCpus();
int AffinityCpuCount();

struct ThreadConfig {
  int threads = 0;        // intra-op threads
  bool pinned = false;    // each thread bound to one CPU of the mask
  const char* blas = "";  // what OpenBLAS was left with
};

// n <= 0 means one thread per CPU of the affinity mask. When n equals the mask's size (the rank
// owns those cores), thread i is pinned to the mask's i-th CPU (the calling thread is thread 0);
// otherwise threads float. Sets one inter-op thread (once per process, before any parallel work).
ThreadConfig ConfigureThreads(int n = 0);

// The former name; returns the number of intra-op threads in effect.
inline int ConfigureTorchThreads(int n = 0) { return ConfigureThreads(n).threads; }

}  // namespace tgi::shard
