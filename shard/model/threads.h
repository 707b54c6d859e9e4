// Configures libtorch's CPU thread pools for the shard. libtorch's default here is a single
// intra-op thread, so the shard must call this once at start-up, before any tensor work. Owns
// nothing else: it neither pins threads nor reads the environment.
#pragma once

namespace tgi::shard {

// The number of CPUs in this process's affinity mask (sched_getaffinity), at least 1.
int AffinityCpuCount();

// Sets at::set_num_threads(n) (and OpenBLAS's own pool, when libtorch uses OpenBLAS), with
// n <= 0 meaning AffinityCpuCount(), and (once per process, the first time this is called
// before any parallel work) at::set_num_interop_threads(1).
// Returns the number of intra-op threads in effect.
int ConfigureTorchThreads(int n = 0);

}  // namespace tgi::shard
