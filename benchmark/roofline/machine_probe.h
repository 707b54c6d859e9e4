// Measures the two numbers a roofline needs on this machine: the memory read bandwidth (a
// multi-threaded streaming read of a buffer far larger than the last-level cache, one thread
// pinned per CPU of the affinity mask, best of several passes) and the fp32 matmul peak (OpenBLAS
// cblas_sgemm on large squares with every thread). Reusable by any micro-benchmark; it allocates
// what it measures and frees it before returning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::benchmark::roofline {

// The CPUs of this process's affinity mask, ascending.
std::vector<int> AffinityCpus();

struct BandwidthOptions {
  size_t bytes = size_t{2} << 30;  // 2 GiB: about 8× the 260 MiB L3 this VM reports
  int passes = 5;
  int threads = 0;  // 0: one per CPU of the affinity mask
};

struct BandwidthResult {
  double bytes_per_second = 0;  // the best pass
  size_t bytes = 0;
  int threads = 0;
  int passes = 0;
};

// Fails only when the buffer cannot be allocated.
absl::StatusOr<BandwidthResult> MeasureReadBandwidth(const BandwidthOptions& options);

struct SgemmOptions {
  int n = 2048;  // C[n,n] = A[n,n] × B[n,n]: 2n³ FLOPs a call
  int repeats = 5;
  int threads = 0;  // 0: one per CPU of the affinity mask
};

struct SgemmResult {
  double flops_per_second = 0;  // the best call, after one untimed call
  std::string core;             // the kernels OpenBLAS chose (openblas_get_corename)
  int n = 0;
  int threads = 0;
  int repeats = 0;
};

SgemmResult MeasureSgemm(const SgemmOptions& options);

// Debian's OpenBLAS (DYNAMIC_ARCH 0.3.21) does not know recent CPUs: on recent Xeons it falls back
// to its SSE3 "Prescott" kernels (a fifth of the sgemm peak), on AVX-512 EPYCs (Zen 4, Zen 5) to
// its AVX2 "Zen"/"Haswell" kernels (about half). Either way the sgemm roofline would be the
// library's, not the machine's. Called first thing in main(): when OPENBLAS_CORETYPE is unset and
// OpenBLAS's kernels are narrower than the CPU's widest vectors, re-executes the program with
// OPENBLAS_CORETYPE=SkylakeX (AVX-512) or Haswell (AVX2), which OpenBLAS reads only at load time.
// Returns when nothing needs to change or the re-exec failed.
void ReexecIfOpenBlasMisdetects(char** argv);

// Both probes, as the benchmark reports them.
struct MachineProfile {
  BandwidthResult bandwidth;
  SgemmResult sgemm;
};

absl::StatusOr<MachineProfile> ProbeMachine(const BandwidthOptions& bandwidth,
                                            const SgemmOptions& sgemm);

}  // namespace tgi::benchmark::roofline
